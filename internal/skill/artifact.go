package skill

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// Artifact is what promotion freezes (5.12, docs/adr/0129): the governed
// signature, the plan and the generated code of the execution that earned
// the promotion, each by hash, and the plan's template hash, which later
// runs of the skill are matched on.
type Artifact struct {
	SkillID string `json:"skill_id"`
	// SourceIntentID is the intent whose execution was promoted.
	SourceIntentID string `json:"source_intent_id"`
	// Signature is the keyed signature (Keyed: what the skill does);
	// SignatureHash is the intent_signature_hash the promoted execution
	// ran under, whose execution_context the metadata repeats.
	Signature     signature.Signature `json:"signature"`
	SignatureHash string              `json:"intent_signature_hash"`
	Plan          json.RawMessage     `json:"plan"`
	PlanHash      string              `json:"plan_hash"`
	// PlanTemplateHash is PlanTemplate of the plan: what every run of the
	// skill plans, whatever its run bindings.
	PlanTemplateHash string `json:"plan_template_hash"`
	// Code is the generated artifacts (codegen.Artifact, Postgres first),
	// CodeHash the Postgres artifact's hash.
	Code     json.RawMessage `json:"code"`
	CodeHash string          `json:"code_hash"`
}

// Scores are promotion_scores.
type Scores struct {
	IFo float64 `json:"IFo"`
	IFs float64 `json:"IFs"`
	IFg float64 `json:"IFg"`
	IDI float64 `json:"IDI"`
}

// GenerationMetadata is 5.12 skill_generation_metadata, field for field.
type GenerationMetadata struct {
	PromotedAt                 time.Time `json:"promoted_at"`
	PromotedBySystemVersion    string    `json:"promoted_by_system_version"`
	PolicyBundleAtPromotion    string    `json:"policy_bundle_at_promotion"`
	CatalogSnapshotAtPromotion string    `json:"catalog_snapshot_at_promotion"`
	PromotionScores            Scores    `json:"promotion_scores"`
	ExecutionCountAtPromotion  int       `json:"execution_count_at_promotion"`
	EvaluationWindow           string    `json:"evaluation_window"`
}

// Promotion is what the promoted transition records and persists.
type Promotion struct {
	Artifact Artifact           `json:"artifact"`
	Metadata GenerationMetadata `json:"skill_generation_metadata"`
}

// ErrInvalidArtifact: an artifact that cannot be frozen or served.
var ErrInvalidArtifact = errors.New("invalid skill artifact")

// NewArtifact freezes a governed signature, its plan and its code for the
// skill. It refuses a signature that is not the skill's, a plan that is
// not the signature's or whose hash does not verify, and code that is
// missing.
func NewArtifact(intentID string, sig signature.Signature, sigHash string, plan planner.ExecutionPlan, code json.RawMessage, codeHash string) (Artifact, error) {
	id, err := Key(sig)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
	}
	if plan.SignatureHash != sigHash {
		return Artifact{}, fmt.Errorf("%w: the plan is of signature %s, not %s", ErrInvalidArtifact, plan.SignatureHash, sigHash)
	}
	if h, err := planner.HashPlan(plan); err != nil || h != plan.Hash {
		return Artifact{}, fmt.Errorf("%w: plan hash %s does not verify (%v)", ErrInvalidArtifact, plan.Hash, err)
	}
	if len(code) == 0 || codeHash == "" {
		return Artifact{}, fmt.Errorf("%w: no generated code to freeze", ErrInvalidArtifact)
	}
	tmpl, err := PlanTemplate(plan)
	if err != nil {
		return Artifact{}, err
	}
	raw, err := json.Marshal(plan)
	if err != nil {
		return Artifact{}, fmt.Errorf("%w: encode plan: %w", ErrInvalidArtifact, err)
	}
	return Artifact{SkillID: id, SourceIntentID: intentID, Signature: Keyed(sig), SignatureHash: sigHash,
		Plan: raw, PlanHash: plan.Hash, PlanTemplateHash: tmpl, Code: code, CodeHash: codeHash}, nil
}

// PlanTemplate is the hex SHA-256 of plan with its run bindings cleared:
// the signature hash (whose execution_context names the registry version
// of each run), the catalog snapshot, the window's dates (resolved against
// each run's as_of) and the hash itself. Two runs of one skill on an
// unchanged catalog and planner plan the same template.
func PlanTemplate(plan planner.ExecutionPlan) (string, error) {
	raw, err := json.Marshal(unbind(plan))
	if err != nil {
		return "", fmt.Errorf("%w: encode plan template: %w", ErrInvalidArtifact, err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// unbind returns a deep enough copy of p with the run bindings cleared.
func unbind(p planner.ExecutionPlan) planner.ExecutionPlan {
	p.Hash, p.SignatureHash, p.CatalogSnapshotVersion = "", "", ""
	p.Window = dateless(p.Window)
	steps := make([]planner.Step, len(p.Steps))
	for i, s := range p.Steps {
		s.Params.Filter = dateless(s.Params.Filter)
		if s.Params.Load != nil {
			l := *s.Params.Load
			l.Window = dateless(l.Window)
			s.Params.Load = &l
		}
		steps[i] = s
	}
	p.Steps = steps
	// A micro_batch plan's windows cut the run's window; a
	// cross_dataset_atomic plan's parts are bound like it (docs/adr/0137,
	// 0138).
	if tw := p.TimeWindows; tw != nil {
		c := *tw
		c.Units = nil
		p.TimeWindows = &c
	}
	if len(p.Parts) > 0 {
		parts := make([]planner.ExecutionPlan, len(p.Parts))
		for i, q := range p.Parts {
			parts[i] = unbind(q)
		}
		p.Parts = parts
	}
	return p
}

func dateless(w *planner.Window) *planner.Window {
	if w == nil {
		return nil
	}
	return &planner.Window{Column: w.Column}
}

// ErrArtifactDoesNotFit: the skill's frozen plan is not what this run
// plans (the catalog or the planner changed since the promotion).
var ErrArtifactDoesNotFit = errors.New("the skill's artifact does not fit this run")

// Rebind serves the artifact's plan for a run: the frozen plan with the
// run's bindings (signature hash, catalog snapshot, window dates) taken
// from fresh, the plan this run's planner made, and hashed again. It
// refuses when the templates differ, so a served plan is always the one
// the planner would make (I8) and never a stale one.
func (a Artifact) Rebind(fresh planner.ExecutionPlan) (planner.ExecutionPlan, error) {
	var frozen planner.ExecutionPlan
	if err := json.Unmarshal(a.Plan, &frozen); err != nil {
		return planner.ExecutionPlan{}, fmt.Errorf("%w: decode the frozen plan: %w", ErrInvalidArtifact, err)
	}
	tmpl, err := PlanTemplate(fresh)
	if err != nil {
		return planner.ExecutionPlan{}, err
	}
	if frozenTmpl, err := PlanTemplate(frozen); err != nil || frozenTmpl != a.PlanTemplateHash {
		return planner.ExecutionPlan{}, fmt.Errorf("%w: the frozen plan's template does not verify against %s", ErrInvalidArtifact, a.PlanTemplateHash)
	}
	if tmpl != a.PlanTemplateHash {
		return planner.ExecutionPlan{}, fmt.Errorf("%w: this run plans template %s, the skill froze %s", ErrArtifactDoesNotFit, short(tmpl), short(a.PlanTemplateHash))
	}
	if frozen, err = rebind(frozen, fresh); err != nil {
		return planner.ExecutionPlan{}, err
	}
	if frozen.Hash, err = planner.HashPlan(frozen); err != nil {
		return planner.ExecutionPlan{}, fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
	}
	// Equal templates and the same bindings make the same plan; anything
	// else is a template that missed a binding, and is not served.
	if frozen.Hash != fresh.Hash {
		return planner.ExecutionPlan{}, fmt.Errorf("%w: the rebound plan %s is not this run's %s", ErrArtifactDoesNotFit, short(frozen.Hash), short(fresh.Hash))
	}
	return frozen, nil
}

// rebind takes fresh's run bindings into frozen, whose template is
// fresh's: the signature hash, the catalog snapshot, the windows' dates,
// the time windows, and each part's, rehashed.
func rebind(frozen, fresh planner.ExecutionPlan) (planner.ExecutionPlan, error) {
	frozen.SignatureHash, frozen.CatalogSnapshotVersion = fresh.SignatureHash, fresh.CatalogSnapshotVersion
	frozen.Window = rebindWindow(frozen.Window, fresh.Window)
	for i := range frozen.Steps {
		s, f := &frozen.Steps[i], fresh.Steps[i]
		s.Params.Filter = rebindWindow(s.Params.Filter, f.Params.Filter)
		if s.Params.Load != nil && f.Params.Load != nil {
			l := *s.Params.Load
			l.Window = rebindWindow(l.Window, f.Params.Load.Window)
			s.Params.Load = &l
		}
	}
	if frozen.TimeWindows != nil {
		frozen.TimeWindows = fresh.TimeWindows
	}
	for i := range frozen.Parts {
		part, err := rebind(frozen.Parts[i], fresh.Parts[i])
		if err != nil {
			return planner.ExecutionPlan{}, err
		}
		if part.Hash, err = planner.HashPlan(part); err != nil {
			return planner.ExecutionPlan{}, fmt.Errorf("%w: %w", ErrInvalidArtifact, err)
		}
		frozen.Parts[i] = part
	}
	return frozen, nil
}

func rebindWindow(frozen, fresh *planner.Window) *planner.Window {
	if frozen == nil || fresh == nil {
		return frozen
	}
	w := *frozen
	w.From, w.To = fresh.From, fresh.To
	return &w
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Served reports whether a skill in state s is served: its artifact is
// reused by later intents (persisted_active, and watchlist: still served,
// under observation).
func Served(s State) bool { return s == PersistedActive || s == Watchlist }
