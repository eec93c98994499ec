package kernel

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

// RanUnit is how one consistency unit's activity ended: its last attempt's
// runtime validation report, or, with none, why it could not run.
type RanUnit struct {
	Key    string
	Report *runtimevalidation.UnitReport
	Error  string
}

// Panic is the first environmental fault of an execution.
type Panic struct {
	Trigger partialexecution.Trigger
	Reason  string
}

// PartialInput is step 15's input: the units of the execution, how the
// finished ones ran, and the panic that stopped it, if one did.
type PartialInput struct {
	Target          string
	Keys            []string
	ConsistencyUnit partialexecution.ConsistencyUnit
	// Mode is partial_failure_policy.mode; empty is selective_quarantine.
	Mode             string
	PublishRequested bool
	Limits           runtimevalidation.Limits
	// Ran are the finished units, in key order; with a Panic, every unit
	// not in Ran was in flight.
	Ran   []RanUnit
	Panic *Panic
	// Atomic: the units are the targets of a cross_dataset_atomic plan,
	// each keyed by its dataset, committed together or not at all: the
	// policy is full_rollback whatever Mode says (docs/adr/0138).
	Atomic bool
}

// Partial is what step 15 decides.
type Partial struct {
	// Finished are the results of Ran, in its order.
	Finished []partialexecution.UnitResult
	// Runtime aggregates the reports (nil after a panic, or with none).
	Runtime *runtimevalidation.Report
	// Outcome is the partial failure policy's, to project; Panic replaces
	// it after an environmental fault, with InFlight the units interrupted.
	Outcome  *partialexecution.Outcome
	Panic    *partialexecution.PanicOutcome
	InFlight []string
	Votes    []decision.Vote
}

// PartialFailurePolicy is the policy of mode (empty: selective_quarantine).
func PartialFailurePolicy(mode string) (partialexecution.Policy, error) {
	m := partialexecution.Mode(mode)
	if m == "" {
		m = partialexecution.SelectiveQuarantine
	}
	p, err := partialexecution.DefaultPolicy(m)
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return p, nil
}

// ApplyPartialFailurePolicy is step 15, retry_failed_units →
// apply_partial_failure_policy → project_state, granular by
// consistency_unit: the runtime validation of the finished units is
// aggregated (runtime_validation's vote) and the policy decides each
// unit's action (partial_failure_policy's vote). After an environmental
// fault the policy is not applied: Panic Rollback quarantines every unit
// instead, and no runtime vote is cast (their figures are no evidence).
// Every error is ErrInvalidInput.
func ApplyPartialFailurePolicy(in PartialInput) (Partial, error) {
	policy, err := PartialFailurePolicy(in.Mode)
	if err != nil {
		return Partial{}, err
	}
	if in.Atomic {
		policy, _ = PartialFailurePolicy(string(partialexecution.FullRollback))
	}
	dataset := func(key string) string {
		if in.Atomic {
			return key
		}
		return in.Target
	}
	units := make([]partialexecution.Unit, len(in.Keys))
	for i, k := range in.Keys {
		units[i] = partialexecution.Unit{Dataset: dataset(k), Key: k}
	}
	flow, err := partialexecution.NewFlow(partialexecution.Config{
		Policy: policy, Retry: partialexecution.DefaultRetryPolicy(), ConsistencyUnit: in.ConsistencyUnit,
		PublishRequested: in.PublishRequested, Units: units,
	})
	if err != nil {
		return Partial{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	var out Partial
	var reports []runtimevalidation.UnitReport
	for _, r := range in.Ran {
		u := partialexecution.Unit{Dataset: dataset(r.Key), Key: r.Key}
		var res partialexecution.UnitResult
		switch f, _ := primary(r.Report); {
		case r.Report != nil && r.Report.Passed:
			res = partialexecution.Succeeded(u, max(r.Report.Attempt, 1))
		case r.Report != nil:
			res = partialexecution.Failed(u, max(r.Report.Attempt, 1), f)
		default:
			res = partialexecution.CouldNotRun(u, int(partialexecution.DefaultRetryPolicy().MaxAttempts), r.Error)
		}
		if r.Report != nil {
			reports = append(reports, *r.Report)
		}
		out.Finished = append(out.Finished, res)
		// Every finished unit is recorded, before a panic or not: Panic
		// Rollback quarantines what each one staged.
		if err := flow.Record(res); err != nil {
			return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	if len(reports) > 0 && in.Panic == nil {
		if agg, err := runtimevalidation.Aggregate(in.Limits, reports); err == nil {
			out.Runtime = &agg
			out.Votes = append(out.Votes, agg.Vote())
		}
	}
	if in.Panic != nil {
		var inFlight []partialexecution.Unit
		for _, k := range in.Keys {
			if !slices.ContainsFunc(out.Finished, func(f partialexecution.UnitResult) bool { return f.Key == k }) {
				inFlight = append(inFlight, partialexecution.Unit{Dataset: dataset(k), Key: k})
				out.InFlight = append(out.InFlight, k)
			}
		}
		p, err := flow.PanicRollback(in.Panic.Trigger, in.Panic.Reason, inFlight)
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		out.Panic = &p
		return out, nil
	}
	if retries, err := flow.RetryFailedUnits(); err != nil {
		return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	} else if len(retries) > 0 {
		// The activity RetryPolicy already retried each unit.
		return out, fmt.Errorf("%w: %d units still retryable after the activity retries", ErrInvalidInput, len(retries))
	}
	outcome, err := flow.ApplyPartialFailurePolicy()
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if _, err := flow.ProjectState(); err != nil {
		return out, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	out.Outcome = &outcome
	out.Votes = append(out.Votes, outcome.Vote)
	return out, nil
}

func primary(rep *runtimevalidation.UnitReport) (f fault.Fault, failed bool) {
	if rep == nil {
		return f, false
	}
	return rep.Primary()
}

// ConsistencyUnitOf is the consistency unit an execution of p runs by: by
// partition when the plan loads a partitioned target over a window
// (partitioned: each unit key is a partition value of the sources and the
// target), by time window for a micro_batch plan (keyed by the event time,
// or the partition key for day windows), one dataset unit per target of a
// cross_dataset_atomic plan, else one unit, the target (a partition unit
// with no window runs as one dataset unit).
func ConsistencyUnitOf(p planner.ExecutionPlan) (cu partialexecution.ConsistencyUnit, partitioned bool) {
	if tw := p.TimeWindows; tw != nil {
		key := tw.EventTime
		if key == "" {
			key = tw.Column
		}
		return partialexecution.ConsistencyUnit{Type: partialexecution.UnitTimeWindow, Key: key}, false
	}
	if Atomic(p) {
		return atomicUnit(p), false
	}
	load, ok := p.LoadStep()
	if !ok || p.ConsistencyUnit != planner.UnitPartition || p.Window == nil || load.Params.Load.PartitionKey == "" {
		ut := p.ConsistencyUnit
		if ut == planner.UnitPartition {
			ut = planner.UnitDataset
		}
		return partialexecution.ConsistencyUnit{Type: partialexecution.UnitType(ut), Key: p.Target}, false
	}
	return partialexecution.ConsistencyUnit{Type: partialexecution.UnitPartition, Key: load.Params.Load.PartitionKey}, true
}
