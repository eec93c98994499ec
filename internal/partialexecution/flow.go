package partialexecution

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/projection"
)

// ErrOutOfOrder is returned by Flow when a step is called out of the fixed
// sequence retry_failed_units → apply_partial_failure_policy → project_state.
var ErrOutOfOrder = errors.New("partial execution flow: step out of order")

// Phase is where a Flow stands in partial_execution_flow.sequence.
type Phase string

// Phases, in order; PhasePanicked ends a flow from any phase before the
// policy is applied.
const (
	PhaseExecuting     Phase = "executing"      // first attempts being recorded
	PhaseRetrying      Phase = "retrying"       // retry_failed_units in progress
	PhaseRetried       Phase = "retried"        // no retry left: the policy may be applied
	PhasePolicyApplied Phase = "policy_applied" // apply_partial_failure_policy done
	PhaseProjected     Phase = "projected"      // project_state done; the flow is over
	PhasePanicked      Phase = "panicked"       // panic rollback; nothing may follow
)

// Config is what a Flow needs before the first unit runs.
type Config struct {
	Policy           Policy          `json:"partial_failure_policy"`
	Retry            RetryPolicy     `json:"retry_policy"`
	ConsistencyUnit  ConsistencyUnit `json:"consistency_unit"`
	PublishRequested bool            `json:"publish_requested"`
	// Units are every unit the plan runs; each must be recorded before
	// retry_failed_units, so none is forgotten.
	Units []Unit `json:"units"`
}

// Retry asks the workflow to run a failed unit again.
type Retry struct {
	Unit
	// Attempt is the number of the run to perform (2 for the first retry);
	// record its result with that Attempts.
	Attempt int `json:"attempt"`
	// Delay is how long to wait before it (the backoff).
	Delay time.Duration `json:"delay"`
	// ErrorCode is the failure being retried.
	ErrorCode string `json:"error_code"`
}

// Flow enforces partial_execution_flow.sequence, which "is deterministic
// and cannot be reordered": record every unit's first result, call
// RetryFailedUnits until it returns no retry (recording each retry's
// result), then ApplyPartialFailurePolicy, then ProjectState. Any other
// order returns ErrOutOfOrder and changes nothing. PanicRollback may end
// the flow at any point before the policy is applied.
//
// A Flow holds no clock, no I/O and iterates no map, so it can live in
// Temporal workflow code; it is not safe for concurrent use.
type Flow struct {
	cfg       Config
	phase     Phase
	results   map[Unit]UnitResult
	scheduled map[Unit]int // unit → attempt awaited
	outcome   Outcome
}

// NewFlow validates cfg and starts a flow in PhaseExecuting.
func NewFlow(cfg Config) (*Flow, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("new partial execution flow: %w", err)
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("new partial execution flow: %w", err)
	}
	if err := cfg.ConsistencyUnit.Validate(); err != nil {
		return nil, fmt.Errorf("new partial execution flow: %w", err)
	}
	if len(cfg.Units) == 0 {
		return nil, fmt.Errorf("new partial execution flow: %w: no units; declare every unit the plan runs", ErrInvalidResults)
	}
	cfg.Units = slices.Clone(cfg.Units)
	slices.SortFunc(cfg.Units, compareUnits)
	for i, u := range cfg.Units {
		if err := u.validate(); err != nil {
			return nil, fmt.Errorf("new partial execution flow: %w", err)
		}
		if i > 0 && cfg.Units[i-1] == u {
			return nil, fmt.Errorf("new partial execution flow: %w: unit %s is declared twice", ErrInvalidResults, u)
		}
	}
	return &Flow{cfg: cfg, phase: PhaseExecuting, results: map[Unit]UnitResult{}, scheduled: map[Unit]int{}}, nil
}

// Phase returns the current phase.
func (f *Flow) Phase() Phase { return f.phase }

// Results returns the latest recorded result of each unit, sorted.
func (f *Flow) Results() []UnitResult {
	out := make([]UnitResult, 0, len(f.results))
	for _, u := range f.cfg.Units {
		if r, ok := f.results[u]; ok {
			out = append(out, r)
		}
	}
	return out
}

func (f *Flow) outOfOrder(step string, want ...Phase) error {
	hint := ""
	switch f.phase {
	case PhasePanicked:
		hint = "; the flow ended in panic rollback and nothing may follow"
	case PhaseProjected:
		hint = "; the flow is over"
	}
	return fmt.Errorf("%w: %s is allowed in phase %v, the flow is in %s%s", ErrOutOfOrder, step, want, f.phase, hint)
}

// Record records the result of a unit's run: its first result while
// executing (Attempts may exceed 1 when the activity retried on its own),
// or the result of a retry RetryFailedUnits asked for, with the same
// Attempt. A failure with an environmental or static safety fault is not
// recorded: it returns ErrPanicRequired, call PanicRollback.
func (f *Flow) Record(r UnitResult) error {
	if f.phase != PhaseExecuting && f.phase != PhaseRetrying {
		return f.outOfOrder("record", PhaseExecuting, PhaseRetrying)
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if _, declared := slices.BinarySearchFunc(f.cfg.Units, r.Unit, compareUnits); !declared {
		return fmt.Errorf("record: %w: unit %s is not one of the flow's units", ErrInvalidResults, r.Unit)
	}
	if r.Status == StatusFailed && panics(r.FaultFamily) {
		return fmt.Errorf("record unit %s: failed with %s (%s): %w", r.Unit, r.ErrorCode, r.FaultFamily, ErrPanicRequired)
	}
	switch f.phase {
	case PhaseExecuting:
		if prev, ok := f.results[r.Unit]; ok {
			return fmt.Errorf("record: %w: unit %s already has a result (%s after %d attempts); retries go through RetryFailedUnits",
				ErrOutOfOrder, r.Unit, prev.Status, prev.Attempts)
		}
		if limit := f.maxAttempts(); r.Attempts > limit {
			return fmt.Errorf("record: %w: unit %s reports %d attempts, above retry_policy.max_attempts %d", ErrInvalidResults, r.Unit, r.Attempts, limit)
		}
	case PhaseRetrying:
		want, ok := f.scheduled[r.Unit]
		if !ok {
			return fmt.Errorf("record: %w: unit %s has no retry scheduled (retry_scope: %s)", ErrOutOfOrder, r.Unit, RetryScopeFailedUnitsOnly)
		}
		if r.Attempts != want {
			return fmt.Errorf("record: %w: unit %s was scheduled for attempt %d, the result says %d", ErrInvalidResults, r.Unit, want, r.Attempts)
		}
		delete(f.scheduled, r.Unit)
	}
	f.results[r.Unit] = r
	return nil
}

func (f *Flow) maxAttempts() int {
	if !f.cfg.Retry.Enabled {
		return 1
	}
	return f.cfg.Retry.MaxAttempts
}

// RetryFailedUnits is retry_failed_units. It returns the failed units that
// get another attempt under the retry policy, sorted, with their attempt
// number and backoff; the workflow runs them and records each result, then
// calls it again. When it returns none, retries are over and the policy may
// be applied. It refuses while a unit has no result or a scheduled retry
// is not recorded.
func (f *Flow) RetryFailedUnits() ([]Retry, error) {
	if f.phase != PhaseExecuting && f.phase != PhaseRetrying {
		return nil, f.outOfOrder("retry_failed_units", PhaseExecuting, PhaseRetrying)
	}
	var missing []string
	for _, u := range f.cfg.Units {
		if _, ok := f.results[u]; !ok {
			missing = append(missing, u.String())
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("retry_failed_units: %w: no result recorded for %s; record every unit's run first", ErrOutOfOrder, strings.Join(missing, ", "))
	}
	var outstanding []string
	for _, u := range f.cfg.Units {
		if a, ok := f.scheduled[u]; ok {
			outstanding = append(outstanding, fmt.Sprintf("%s attempt %d", u, a))
		}
	}
	if len(outstanding) > 0 {
		return nil, fmt.Errorf("retry_failed_units: %w: retries not recorded yet: %s", ErrOutOfOrder, strings.Join(outstanding, ", "))
	}
	var retries []Retry
	for _, u := range f.cfg.Units {
		r := f.results[u]
		if !f.cfg.Retry.ShouldRetry(r) {
			continue
		}
		next := r.Attempts + 1
		retries = append(retries, Retry{Unit: u, Attempt: next, Delay: f.cfg.Retry.Delay(next), ErrorCode: r.ErrorCode})
		f.scheduled[u] = next
	}
	if len(retries) == 0 {
		f.phase = PhaseRetried
		return nil, nil
	}
	f.phase = PhaseRetrying
	return retries, nil
}

// ApplyPartialFailurePolicy is apply_partial_failure_policy, allowed once,
// after RetryFailedUnits returned no retry.
func (f *Flow) ApplyPartialFailurePolicy() (Outcome, error) {
	if f.phase != PhaseRetried {
		return Outcome{}, f.outOfOrder("apply_partial_failure_policy", PhaseRetried)
	}
	o, err := Apply(f.cfg.Policy, Run{ConsistencyUnit: f.cfg.ConsistencyUnit, PublishRequested: f.cfg.PublishRequested, Results: f.Results()})
	if err != nil {
		return Outcome{}, err
	}
	f.outcome = o
	f.phase = PhasePolicyApplied
	return o, nil
}

// ProjectState is project_state, allowed once, after the policy: it returns
// State Projection's input for every dataset written, to pass to
// projection.Project with the latest committed snapshot inside the
// projection transaction. After it the flow is over.
func (f *Flow) ProjectState() ([]projection.Outcome, error) {
	if f.phase != PhasePolicyApplied {
		return nil, f.outOfOrder("project_state", PhasePolicyApplied)
	}
	f.phase = PhaseProjected
	return f.outcome.Projections(), nil
}

// PanicRollback ends the flow in panic rollback: every recorded unit and
// every unit in inFlight is quarantined and nothing may be projected. It is
// refused once the policy is applied: commits may have happened, and a
// failure from there on is a projection failure (I4: block the next intent
// with ENVIRONMENT_STATE_UNCERTAIN).
func (f *Flow) PanicRollback(trigger Trigger, reason string, inFlight []Unit) (PanicOutcome, error) {
	switch f.phase {
	case PhaseExecuting, PhaseRetrying, PhaseRetried:
	default:
		return PanicOutcome{}, f.outOfOrder("panic_rollback", PhaseExecuting, PhaseRetrying, PhaseRetried)
	}
	for _, u := range inFlight {
		if _, declared := slices.BinarySearchFunc(f.cfg.Units, u, compareUnits); !declared {
			return PanicOutcome{}, fmt.Errorf("panic rollback: %w: in-flight unit %s is not one of the flow's units", ErrInvalidResults, u)
		}
	}
	o, err := PanicRollback(PanicInput{
		Trigger: trigger, Reason: reason, ConsistencyUnit: f.cfg.ConsistencyUnit, Mode: f.cfg.Policy.Mode,
		Finished: f.Results(), InFlight: inFlight,
	})
	if err != nil {
		return PanicOutcome{}, err
	}
	f.phase = PhasePanicked
	return o, nil
}
