// Package activities adapts the CFA domain packages and the Postgres store to
// Temporal activities. Each method is one stage of the governed flow: it
// calls a domain package (internal/*), reads or writes the store, appends
// the stage's audit events and returns what the workflow needs to go on,
// including the stage's vote for the Decision Engine and whether the flow
// stops there. Workflow code never decides; it only orders these calls.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/policy"
)

// ErrInvalidInput marks errors that no retry can fix; workflows list it in
// RetryPolicy.NonRetryableErrorTypes.
const ErrInvalidInput = "InvalidInput"

// Activities holds the dependencies every stage needs. Its fields are the
// interfaces the stages use; internal/app wires the shipped implementations
// and the extension points of whitepaper section 9 (Extensions).
type Activities struct {
	// Store is the intents index, plans, scope locks, data plane and
	// lifecycle evidence (db.Store).
	Store Storage
	// Catalog and Bundle are the data catalog and policy bundle in force.
	Catalog *catalog.Catalog
	Bundle  *policy.Bundle
	// Extensions are the extension points of whitepaper section 9, the
	// registry's snapshot provider and storage and the audit trail's
	// storage among them; New fills the unset ones with the shipped ones.
	Extensions extension.Points
	Logger     *zap.Logger
	Notifier   *Notifier
	// Temporal lets lock acquisition check whether a holder's workflow is
	// still running; nil disables recovery (workflow unit tests).
	Temporal client.Client
	// Execution tunes the sandbox (statement timeout, runtime limits).
	Execution ExecutionConfig
	// Metrics records what the stages time inside themselves (audit
	// appends, policy evaluations); nil records nothing. The worker
	// interceptor (internal/telemetry) times the stages and counts their
	// outcomes.
	Metrics *metrics.Metrics

	cache snapshots
}

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, err)
}

func (a *Activities) log(intentID, stage string) *zap.Logger {
	return a.Logger.With(zap.String("intent_id", intentID), zap.String("stage", stage))
}

// Step is what the workflow gives every stage activity besides its input:
// whose stage it is and where its audit events go. The workflow assigns Seq
// (the seq of the stage's first event), so a retried activity appends the
// same events, idempotent on intent_id and seq, and none can be reordered.
type Step struct {
	IntentID            string    `json:"intent_id"`
	CorrelationID       string    `json:"correlation_id"`
	PolicyBundleVersion string    `json:"policy_bundle_version,omitempty"`
	Seq                 int64     `json:"seq"`
	At                  time.Time `json:"at"` // workflow time
	// TraceID is the intent's trace (the submit's), sealed into its
	// receipts' context; empty when it was submitted without tracing.
	TraceID string `json:"trace_id,omitempty"`
}

// Stage is what every stage activity returns besides its output.
type Stage struct {
	// Summary is the stage's line in `cfa status`.
	Summary string `json:"summary,omitempty"`
	// Events is the number of audit events the stage appended.
	Events int64 `json:"events,omitempty"`
	// Votes are the stage's votes for the Decision Engine (step 17).
	Votes []decision.Vote `json:"votes,omitempty"`
	// Violations are the invariant vetoes the stage found.
	Violations []decision.Violation `json:"violations,omitempty"`
	// Stop ends the flow after this stage: the Decision Engine decides
	// from the votes cast so far.
	Stop bool `json:"stop,omitempty"`
}

// StageOf returns the common part of a stage activity's output.
func (s Stage) StageOf() Stage { return s }

func (s *Stage) vote(v decision.Vote) { s.Votes = append(s.Votes, v) }

// stop ends the flow with v.
func (s *Stage) stop(v decision.Vote) { s.vote(v); s.Stop = true }

// veto ends the flow with an invariant's veto.
func (s *Stage) veto(v decision.Violation) {
	s.Violations = append(s.Violations, v)
	s.Stop = true
}

// System is the principal of the stages the worker runs.
var System = audit.Principal{ID: "cfa-worker", Type: audit.PrincipalSystem, AuthContext: "temporal"}

// trail collects a stage's audit events; flush appends them in one call.
type trail struct {
	step   Step
	events []audit.Event
	err    error
	// receipts are the sealed events, once flushed: a retried stage gets
	// the receipts of its first attempt, with their time.
	receipts []audit.Receipt
}

func newTrail(st Step) *trail { return &trail{step: st} }

// add records one event of the stage as the system; targets nil means the
// intent itself.
func (t *trail) add(stage, outcome string, action audit.Action, targets []string, p events.Payload) {
	t.addBy(System, stage, outcome, action, targets, p)
}

func (t *trail) addBy(actor audit.Principal, stage, outcome string, action audit.Action, targets []string, p events.Payload) {
	if t.err != nil {
		return
	}
	if targets == nil {
		targets = []string{"intent:" + t.step.IntentID}
	}
	e := audit.Event{
		IntentID: t.step.IntentID, Seq: t.step.Seq + int64(len(t.events)), CorrelationID: t.step.CorrelationID,
		PolicyBundleVersion: t.step.PolicyBundleVersion, Stage: stage, EventType: p.EventType(), Outcome: outcome,
		Actor: actor, Action: action, Targets: targets, Timestamp: t.step.At.UTC(), TraceID: t.step.TraceID,
	}
	if _, empty := p.(events.IntentCompleted); !empty {
		b, err := audit.EncodeDetails(p)
		if err != nil {
			t.err = err
			return
		}
		e.Details = b
	}
	t.events = append(t.events, e)
}

// flush appends the collected events in order and returns how many.
func (a *Activities) flush(ctx context.Context, t *trail) (int64, error) {
	if t.err != nil {
		return 0, invalid(t.err)
	}
	if len(t.events) == 0 {
		return 0, nil
	}
	start := time.Now()
	rs, err := a.Extensions.Audit.Append(ctx, t.events...)
	a.Metrics.AuditAppended(err, time.Since(start), len(rs), lastPosition(rs))
	if err != nil {
		first := t.events[0]
		err = fmt.Errorf("record audit events %s from #%d for intent %s: %w", first.EventType, first.Seq, first.IntentID, err)
		// No retry can seal an invalid event or make a conflicting one
		// the same.
		if errors.Is(err, audit.ErrInvalidEvent) || errors.Is(err, db.ErrAuditConflict) || errors.Is(err, db.ErrAuditOutOfOrder) {
			return 0, invalid(err)
		}
		return 0, err
	}
	if len(rs) != len(t.events) {
		return 0, fmt.Errorf("record audit events for intent %s: the audit storage returned %d receipts for %d events: it must return one receipt per event", t.step.IntentID, len(rs), len(t.events))
	}
	t.receipts = rs
	return int64(len(t.events)), nil
}

// finish flushes the trail into the stage's event count.
func (a *Activities) finish(ctx context.Context, t *trail, s *Stage) error {
	n, err := a.flush(ctx, t)
	s.Events = n
	return err
}

func lastPosition(rs []audit.Receipt) int64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].Position
}

func datasetTargets(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "dataset:" + n
	}
	return out
}
