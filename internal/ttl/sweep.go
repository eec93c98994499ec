package ttl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/registry"
)

// AuditEventEscalated is the audit event of an escalation to manual review
// (the whitepaper names none; CONTEXT_STATE_STALE is stale's).
const AuditEventEscalated = "QUARANTINE_ESCALATED_TO_MANUAL_REVIEW"

// ErrInvalidState: the snapshot cannot be swept as given.
var ErrInvalidState = errors.New("cannot apply ttl_policy")

// Escalation names one episode of a state escalated to manual review: the
// dataset and the updated_at of the entry that expired. A new projection
// of the dataset starts a new episode.
type Escalation struct {
	Dataset string    `json:"dataset"`
	Since   time.Time `json:"since"`
}

// Key is the escalation's idempotency key.
func (e Escalation) Key() string {
	return "ttl:" + string(EscalateToManualReview) + ":" + e.Dataset + "@" + e.Since.UTC().Format(time.RFC3339Nano)
}

// Transition is one expiry the sweep found.
type Transition struct {
	Dataset string `json:"dataset"`
	Action  Action `json:"action"`
	From    string `json:"from"` // the expired state
	To      string `json:"to"`   // stale, or the same state for an escalation
	// Since is the entry's updated_at; ExpiredAt = Since + ttl_days.
	Since     time.Time `json:"since"`
	ExpiredAt time.Time `json:"expired_at"`
	// Notify and AuditEvent: what the Audit Trail records.
	Notify     bool   `json:"notify"`
	AuditEvent string `json:"audit_event"`
	// PublishBlocked and NewIntent: stale.behavior, for a stale transition.
	PublishBlocked bool   `json:"publish_blocked"`
	NewIntent      string `json:"new_intent_on_dataset,omitempty"`
	// BlockDependentIntents: intents on the dataset are blocked until the
	// review is recorded (CheckIntent).
	BlockDependentIntents bool `json:"block_dependent_intents"`
	// Key is the idempotency key of the transition's writes.
	Key string `json:"key"`
}

// Escalation returns the episode an escalate_to_manual_review transition
// opens.
func (t Transition) Escalation() Escalation { return Escalation{Dataset: t.Dataset, Since: t.Since} }

// Input is what a sweep reads.
type Input struct {
	// State is the latest committed snapshot.
	State registry.EnvironmentState `json:"state"`
	Now   time.Time                 `json:"now"`
	// Escalated lists the escalations already recorded; they are not
	// returned again.
	Escalated []Escalation `json:"escalated,omitempty"`
}

// Result is what a sweep found.
type Result struct {
	// ParentVersionID is the swept snapshot: commit Changed on top of it.
	ParentVersionID string `json:"parent_version_id"`
	// Transitions in dataset-name order.
	Transitions []Transition `json:"transitions"`
	// Changed holds the registry entries to commit (the stale ones), in
	// dataset-name order; empty when only escalations are due.
	Changed []registry.DatasetState `json:"changed,omitempty"`
}

// Escalations lists the episodes the result escalates, to record with it.
func (r Result) Escalations() []Escalation {
	var out []Escalation
	for _, t := range r.Transitions {
		if t.Action == EscalateToManualReview {
			out = append(out, t.Escalation())
		}
	}
	return out
}

// Sweep applies ttl_policy p to the snapshot at now.
func Sweep(in Input, p Policy) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, fmt.Errorf("sweep registry %s: %w", in.State.VersionID, err)
	}
	if in.Now.IsZero() {
		return Result{}, fmt.Errorf("sweep registry %s: %w: now is zero; pass the schedule's time", in.State.VersionID, ErrInvalidState)
	}
	done := map[string]bool{}
	for _, e := range in.Escalated {
		done[e.Key()] = true
	}
	datasets := slices.Clone(in.State.Datasets)
	slices.SortFunc(datasets, func(a, b registry.DatasetState) int { return strings.Compare(a.Name, b.Name) })
	res := Result{ParentVersionID: in.State.VersionID}
	for _, d := range datasets {
		rule, ok := p.rule(d.State)
		if !ok {
			continue
		}
		if d.UpdatedAt.IsZero() {
			return Result{}, fmt.Errorf("sweep registry %s: %w: dataset %q (%s) has no updated_at; every projection stamps one, so re-project the dataset",
				in.State.VersionID, ErrInvalidState, d.Name, d.State)
		}
		if !expired(d, rule, in.Now) {
			continue
		}
		t := Transition{
			Dataset:   d.Name,
			Action:    rule.OnExpiry.Action,
			From:      d.State,
			To:        d.State,
			Since:     d.UpdatedAt,
			ExpiredAt: d.UpdatedAt.Add(rule.TTL()),
			Notify:    rule.OnExpiry.Notify,
		}
		switch t.Action {
		case TransitionToStale:
			t.To = registry.StateStale
			t.AuditEvent = p.Stale.AuditEvent
			t.PublishBlocked = p.Stale.Behavior.PublishBlocked
			t.NewIntent = p.Stale.Behavior.NewIntentOnStaleDataset
			t.Key = "ttl:" + string(TransitionToStale) + ":" + d.Name + "@" + d.UpdatedAt.UTC().Format(time.RFC3339Nano)
			stale := d
			stale.State = registry.StateStale
			stale.PublishAllowed = false // I7: stale is never trusted
			stale.PendingPartitions = slices.Clone(d.PendingPartitions)
			stale.QuarantinedUnits = slices.Clone(d.QuarantinedUnits)
			stale.UpdatedAt = in.Now
			res.Changed = append(res.Changed, stale)
		case EscalateToManualReview:
			t.AuditEvent = AuditEventEscalated
			t.BlockDependentIntents = rule.OnExpiry.BlockDependentIntents
			t.Key = t.Escalation().Key()
			if done[t.Key] {
				continue
			}
		}
		res.Transitions = append(res.Transitions, t)
	}
	return res, nil
}

// rule returns the TTL rule of a registry state, if it has one.
func (p Policy) rule(state string) (Rule, bool) {
	switch state {
	case registry.StatePartiallyCommitted:
		return p.PartiallyCommitted, true
	case registry.StateQuarantined:
		return p.Quarantined, true
	}
	return Rule{}, false
}

// expired: the entry has outlived the rule's TTL, strictly ("beyond").
func expired(d registry.DatasetState, r Rule, now time.Time) bool {
	return now.Sub(d.UpdatedAt) > r.TTL()
}
