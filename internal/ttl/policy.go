package ttl

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Action is an on_expiry.action.
type Action string

// The on_expiry actions.
const (
	TransitionToStale      Action = "transition_to_stale"
	EscalateToManualReview Action = "escalate_to_manual_review"
)

// Actions lists the closed set of on_expiry actions.
var Actions = []Action{TransitionToStale, EscalateToManualReview}

// HardConfirmationRequired is stale.behavior.new_intent_on_stale_dataset.
const HardConfirmationRequired = "hard_confirmation_required"

// OnExpiry is what happens when a state outlives its TTL.
type OnExpiry struct {
	Action Action `json:"action" yaml:"action"`
	// Notify: the transition generates an event in the Audit Trail.
	Notify bool `json:"notify,omitempty" yaml:"notify,omitempty"`
	// BlockDependentIntents: intents touching the dataset are blocked until
	// the escalation is reviewed.
	BlockDependentIntents bool `json:"block_dependent_intents,omitempty" yaml:"block_dependent_intents,omitempty"`
}

// Rule is the TTL of one registry state.
type Rule struct {
	TTLDays  int      `json:"ttl_days" yaml:"ttl_days"`
	OnExpiry OnExpiry `json:"on_expiry" yaml:"on_expiry"`
}

// TTL is the rule's ttl_days as a duration of whole 24-hour days.
func (r Rule) TTL() time.Duration { return time.Duration(r.TTLDays) * 24 * time.Hour }

// StaleBehavior is stale.behavior.
type StaleBehavior struct {
	NewIntentOnStaleDataset string `json:"new_intent_on_stale_dataset" yaml:"new_intent_on_stale_dataset"`
	PublishBlocked          bool   `json:"publish_blocked" yaml:"publish_blocked"`
}

// Stale is the stale: block, what a stale dataset means.
type Stale struct {
	Definition string        `json:"definition" yaml:"definition"`
	Behavior   StaleBehavior `json:"behavior" yaml:"behavior"`
	AuditEvent string        `json:"audit_event" yaml:"audit_event"`
}

// Policy is ttl_policy, key for key.
type Policy struct {
	PartiallyCommitted Rule  `json:"partially_committed" yaml:"partially_committed"`
	Quarantined        Rule  `json:"quarantined" yaml:"quarantined"`
	Stale              Stale `json:"stale" yaml:"stale"`
}

// Default is the whitepaper's ttl_policy.
func Default() Policy {
	return Policy{
		PartiallyCommitted: Rule{TTLDays: 7, OnExpiry: OnExpiry{Action: TransitionToStale, Notify: true}},
		Quarantined:        Rule{TTLDays: 30, OnExpiry: OnExpiry{Action: EscalateToManualReview, BlockDependentIntents: true}},
		Stale: Stale{
			Definition: "state not updated beyond the TTL without declared resolution",
			Behavior:   StaleBehavior{NewIntentOnStaleDataset: HardConfirmationRequired, PublishBlocked: true},
			AuditEvent: "CONTEXT_STATE_STALE",
		},
	}
}

// ErrInvalidPolicy: a ttl_policy that cannot be applied.
var ErrInvalidPolicy = errors.New("invalid ttl_policy")

// Validate reports every problem of p at once.
func (p Policy) Validate() error {
	var errs []error
	for _, r := range []struct {
		key  string
		rule Rule
	}{{"partially_committed", p.PartiallyCommitted}, {"quarantined", p.Quarantined}} {
		if r.rule.TTLDays <= 0 {
			errs = append(errs, fmt.Errorf("%w: %s.ttl_days is %d; give a positive number of days", ErrInvalidPolicy, r.key, r.rule.TTLDays))
		}
		if !slices.Contains(Actions, r.rule.OnExpiry.Action) {
			errs = append(errs, fmt.Errorf("%w: %s.on_expiry.action %q; use one of %v", ErrInvalidPolicy, r.key, r.rule.OnExpiry.Action, Actions))
		}
	}
	if p.Stale.Behavior.NewIntentOnStaleDataset == "" {
		errs = append(errs, fmt.Errorf("%w: stale.behavior.new_intent_on_stale_dataset is empty; the whitepaper's is %s", ErrInvalidPolicy, HardConfirmationRequired))
	}
	if p.Stale.AuditEvent == "" {
		errs = append(errs, fmt.Errorf("%w: stale.audit_event is empty; the whitepaper's is CONTEXT_STATE_STALE", ErrInvalidPolicy))
	}
	return errors.Join(errs...)
}

// ParsePolicy reads a document whose top level is ttl_policy:, strictly (an
// unknown key is an error, not a silent default), and validates it.
func ParsePolicy(data []byte) (Policy, error) {
	var doc struct {
		TTLPolicy *Policy `yaml:"ttl_policy"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Policy{}, fmt.Errorf("parse ttl_policy: %w: %w", ErrInvalidPolicy, err)
	}
	if doc.TTLPolicy == nil {
		return Policy{}, fmt.Errorf("parse ttl_policy: %w: no ttl_policy: mapping at the top level", ErrInvalidPolicy)
	}
	if err := doc.TTLPolicy.Validate(); err != nil {
		return Policy{}, fmt.Errorf("parse ttl_policy: %w", err)
	}
	return *doc.TTLPolicy, nil
}
