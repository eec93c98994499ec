package lifecycle

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Gate is promotion_policy.gate as the whitepaper writes it. It is code
// (Evaluate), not configuration: a document may repeat it, not change it.
const Gate = "IFo >= T1 AND IFs >= T2 AND IFg = 1 AND executions >= min_executions"

// UnitType is promotion_unit.type: skills are keyed by the State
// Signature's hash, so lookalike intents are different skills.
const UnitType = "intent_signature_hash"

// document is the YAML of whitepaper 5.11/5.12: a promotion_policy: block
// and an evaluation_window: block side by side. Pointers tell a missing key
// from a zero, so nothing defaults silently.
type document struct {
	PromotionPolicy *struct {
		MinExecutions    *int   `yaml:"min_executions"`
		EvaluationWindow string `yaml:"evaluation_window"`
		Thresholds       *struct {
			IFo *float64 `yaml:"IFo"`
			IFs *float64 `yaml:"IFs"`
			IFg *float64 `yaml:"IFg"`
		} `yaml:"thresholds"`
		Gate          string `yaml:"gate"`
		PromotionUnit *struct {
			Type string `yaml:"type"`
		} `yaml:"promotion_unit"`
	} `yaml:"promotion_policy"`
	EvaluationWindow *struct {
		Default  string            `yaml:"default"`
		ByDomain map[string]string `yaml:"by_domain"`
	} `yaml:"evaluation_window"`
	// IntentDriftIndex sets the IDI limits 5.11 gives in prose (0.75 and
	// 0.50); optional.
	IntentDriftIndex *struct {
		Watchlist *float64 `yaml:"watchlist"`
		Demotion  *float64 `yaml:"demotion"`
	} `yaml:"intent_drift_index"`
	// Promotion says who promotes a candidate (ADR 0129); optional,
	// automatic by default.
	Promotion *struct {
		Mode string `yaml:"mode"`
	} `yaml:"promotion"`
}

// ParsePolicy reads the whitepaper's promotion_policy: and (optional)
// evaluation_window: blocks, strictly: an unknown key is an error, not a
// silent default. The IDI limits have no YAML in the whitepaper (5.11 gives
// them in prose), so they are DefaultPolicy's.
func ParsePolicy(data []byte) (Policy, error) {
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Policy{}, fmt.Errorf("parse promotion_policy: %w: %w", ErrInvalidPolicy, err)
	}
	pp := doc.PromotionPolicy
	if pp == nil {
		return Policy{}, fmt.Errorf("parse promotion_policy: %w: no promotion_policy: mapping at the top level", ErrInvalidPolicy)
	}
	missing := func(key string) error {
		return fmt.Errorf("parse promotion_policy: %w: %s is missing; the whitepaper's promotion_policy has it", ErrInvalidPolicy, key)
	}
	if pp.MinExecutions == nil {
		return Policy{}, missing("min_executions")
	}
	if pp.Thresholds == nil || pp.Thresholds.IFo == nil || pp.Thresholds.IFs == nil || pp.Thresholds.IFg == nil {
		return Policy{}, missing("thresholds.IFo, thresholds.IFs or thresholds.IFg")
	}
	if pp.Gate != "" && strings.Join(strings.Fields(pp.Gate), " ") != Gate {
		return Policy{}, fmt.Errorf("parse promotion_policy: %w: gate %q is not the implemented one; write %q or leave it out", ErrInvalidPolicy, pp.Gate, Gate)
	}
	if pp.PromotionUnit != nil && pp.PromotionUnit.Type != UnitType {
		return Policy{}, fmt.Errorf("parse promotion_policy: %w: promotion_unit.type %q; only %s is implemented", ErrInvalidPolicy, pp.PromotionUnit.Type, UnitType)
	}
	def := DefaultPolicy()
	p := Policy{
		MinExecutions:    *pp.MinExecutions,
		EvaluationWindow: pp.EvaluationWindow,
		Thresholds:       Thresholds{IFo: *pp.Thresholds.IFo, IFs: *pp.Thresholds.IFs, IFg: *pp.Thresholds.IFg},
		IDIWatchlist:     def.IDIWatchlist,
		IDIDemotion:      def.IDIDemotion,
		Promotion:        def.Promotion,
	}
	if doc.Promotion != nil {
		p.Promotion = doc.Promotion.Mode
	}
	// The default window is written twice in the whitepaper; two different
	// values would leave the reader guessing which one applies.
	if w := doc.EvaluationWindow; w != nil {
		switch {
		case p.EvaluationWindow == "":
			p.EvaluationWindow = w.Default
		case w.Default != "" && w.Default != p.EvaluationWindow:
			return Policy{}, fmt.Errorf("parse promotion_policy: %w: promotion_policy.evaluation_window %q and evaluation_window.default %q disagree; make them equal or drop one",
				ErrInvalidPolicy, p.EvaluationWindow, w.Default)
		}
		p.ByDomain = w.ByDomain
	}
	if p.EvaluationWindow == "" {
		return Policy{}, missing("evaluation_window (or evaluation_window.default)")
	}
	if idi := doc.IntentDriftIndex; idi != nil {
		if idi.Watchlist == nil || idi.Demotion == nil {
			return Policy{}, missing("intent_drift_index.watchlist or intent_drift_index.demotion")
		}
		p.IDIWatchlist, p.IDIDemotion = *idi.Watchlist, *idi.Demotion
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("parse promotion_policy: %w", err)
	}
	return p, nil
}
