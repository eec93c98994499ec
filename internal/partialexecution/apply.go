package partialexecution

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// OverallState is partial_execution_state.overall_state.
type OverallState string

// Overall states of an execution.
const (
	OverallCommitted          OverallState = "committed"           // every unit committed
	OverallPartiallyCommitted OverallState = "partially_committed" // some committed, some not
	OverallQuarantined        OverallState = "quarantined"         // nothing committed, failures isolated
	OverallRolledBack         OverallState = "rolled_back"         // nothing committed, everything reverted
)

// Action is what happens to one unit's staged output.
type Action string

// Unit actions.
const (
	ActionCommit     Action = "commit"     // move staging into the target
	ActionQuarantine Action = "quarantine" // move staging into quarantine, keep for investigation
	ActionDiscard    Action = "discard"    // drop staging (roll back); the target is untouched
)

// PublishStatus is 5.8 publish_semantics.states: what readers downstream
// may see of a written dataset.
type PublishStatus string

// Publish states. "Never publish without write": none applies to a dataset
// this execution committed nothing to.
const (
	CommittedNotPublished PublishStatus = "committed_not_published" // written, not available downstream
	Published             PublishStatus = "published"               // available and trusted
	Degraded              PublishStatus = "degraded"                // available with declared restrictions
)

// UnitGroup is one entry of successful_units: a dataset and the keys of
// its units. The key is "partitions" as in the whitepaper whatever the unit
// type (docs/adr/0083).
type UnitGroup struct {
	Dataset    string   `json:"dataset" yaml:"dataset"`
	Partitions []string `json:"partitions" yaml:"partitions"`
}

// FailedUnitGroup is one entry of failed_units: the units of one dataset
// that failed with one error_code.
type FailedUnitGroup struct {
	Dataset     string       `json:"dataset" yaml:"dataset"`
	Partitions  []string     `json:"partitions" yaml:"partitions"`
	ErrorCode   string       `json:"error_code" yaml:"error_code"`
	FaultFamily fault.Family `json:"fault_family" yaml:"fault_family"`
}

// ConsistencyPolicy is partial_execution_state.consistency_policy.
type ConsistencyPolicy struct {
	Mode             Mode `json:"mode" yaml:"mode"`
	RollbackRequired bool `json:"rollback_required" yaml:"rollback_required"`
	// PublishAllowed: this execution's output may be published as trusted.
	// True only when every unit committed (I7).
	PublishAllowed bool `json:"publish_allowed" yaml:"publish_allowed"`
}

// PartialExecutionState is the whitepaper's partial_execution_state, key
// for key and in its order.
type PartialExecutionState struct {
	OverallState      OverallState      `json:"overall_state" yaml:"overall_state"`
	ConsistencyUnit   ConsistencyUnit   `json:"consistency_unit" yaml:"consistency_unit"`
	SuccessfulUnits   []UnitGroup       `json:"successful_units" yaml:"successful_units"`
	FailedUnits       []FailedUnitGroup `json:"failed_units" yaml:"failed_units"`
	ConsistencyPolicy ConsistencyPolicy `json:"consistency_policy" yaml:"consistency_policy"`
}

// UnitAction is one unit's latest result and what to do with its output.
type UnitAction struct {
	UnitResult
	Action Action `json:"action" yaml:"action"`
	Reason string `json:"reason" yaml:"reason"`
}

// Run is what Apply judges: the latest result of every unit of one
// execution.
type Run struct {
	ConsistencyUnit ConsistencyUnit `json:"consistency_unit"`
	// PublishRequested: the intent asked to publish what it writes.
	PublishRequested bool         `json:"publish_requested"`
	Results          []UnitResult `json:"results"`
}

// Outcome is apply_partial_failure_policy's result.
type Outcome struct {
	State PartialExecutionState `json:"partial_execution_state" yaml:"partial_execution_state"`
	// PublishStatus is the execution's: published or degraded when the
	// intent asked to publish and the mode allows it, "" when nothing was
	// committed. The registry's per-dataset status is in Datasets.
	PublishStatus     PublishStatus `json:"publish_status,omitempty" yaml:"publish_status,omitempty"`
	PromotionEligible bool          `json:"promotion_eligible" yaml:"promotion_eligible"`
	// Actions has one entry per unit, sorted by dataset and key.
	Actions []UnitAction `json:"unit_actions" yaml:"unit_actions"`
	// Datasets is each written dataset's result, sorted by name; its
	// Projection() is State Projection's input.
	Datasets []DatasetOutcome `json:"datasets" yaml:"datasets"`
	// Vote is the partial_failure_policy's vote for the Decision Engine.
	Vote decision.Vote `json:"vote" yaml:"vote"`
}

// Apply applies the partial failure policy to the latest result of every
// unit (5.8 apply_partial_failure_policy). Retries must be over: Flow
// enforces that; Apply alone trusts its caller. Results are sorted by
// dataset and key, so their order does not matter. A unit that failed with
// an environmental or static safety fault is refused with ErrPanicRequired.
func Apply(p Policy, run Run) (Outcome, error) {
	if err := p.Validate(); err != nil {
		return Outcome{}, fmt.Errorf("apply partial failure policy: %w", err)
	}
	if err := run.ConsistencyUnit.Validate(); err != nil {
		return Outcome{}, fmt.Errorf("apply partial failure policy: %w", err)
	}
	results, err := sortedResults(run.Results)
	if err != nil {
		return Outcome{}, fmt.Errorf("apply partial failure policy: %w", err)
	}

	var ok, failed int
	for _, r := range results {
		if r.Status == StatusSuccessful {
			ok++
		} else {
			failed++
		}
	}

	// What each mode does with a successful and a failed unit when at least
	// one unit failed (docs/adr/0083). Only selective_quarantine isolates
	// failed units; the other modes roll them back within rollback_scope.
	okAction, failAction, rollback := ActionCommit, ActionDiscard, true
	switch p.Mode {
	case FullRollback:
		okAction = ActionDiscard
	case SelectiveQuarantine:
		failAction, rollback = ActionQuarantine, false
	}

	var overall OverallState
	switch {
	case failed == 0:
		overall, okAction, rollback = OverallCommitted, ActionCommit, false
	case p.Mode == FullRollback:
		overall = OverallRolledBack
	case ok > 0:
		overall = OverallPartiallyCommitted
	case failAction == ActionDiscard:
		overall = OverallRolledBack
	default:
		overall = OverallQuarantined
	}

	out := Outcome{
		State: PartialExecutionState{
			OverallState:    overall,
			ConsistencyUnit: run.ConsistencyUnit,
			SuccessfulUnits: []UnitGroup{},
			FailedUnits:     []FailedUnitGroup{},
			ConsistencyPolicy: ConsistencyPolicy{
				Mode:             p.Mode,
				RollbackRequired: rollback,
				PublishAllowed:   overall == OverallCommitted,
			},
		},
		PublishStatus:     executionPublishStatus(p, overall, run.PublishRequested),
		PromotionEligible: overall == OverallCommitted || (overall == OverallPartiallyCommitted && p.PromotionEligible),
	}
	for _, r := range results {
		a := UnitAction{UnitResult: r}
		if r.Status == StatusSuccessful {
			a.Action = okAction
		} else {
			a.Action = failAction
		}
		a.Reason = actionReason(p.Mode, a)
		out.Actions = append(out.Actions, a)
	}
	out.State.SuccessfulUnits, out.State.FailedUnits = groups(results)
	out.Datasets = datasetOutcomes(p, run, out.Actions)
	out.Vote = vote(p, overall, ok, failed, out.State.FailedUnits)
	return out, nil
}

func executionPublishStatus(p Policy, overall OverallState, requested bool) PublishStatus {
	switch {
	case overall == OverallCommitted && requested:
		return Published
	case overall == OverallPartiallyCommitted && requested && p.PublishOnPartialSuccess:
		return Degraded
	case overall == OverallCommitted || overall == OverallPartiallyCommitted:
		return CommittedNotPublished
	}
	return ""
}

func actionReason(m Mode, a UnitAction) string {
	switch {
	case a.Status == StatusSuccessful && a.Action == ActionCommit:
		return "succeeded: move staging into the target"
	case a.Status == StatusSuccessful:
		return "succeeded, but full_rollback invalidates every unit when one fails: discard staging"
	case a.Action == ActionQuarantine:
		return fmt.Sprintf("failed with %s after %d attempts: move staging into quarantine for investigation (%s)", a.ErrorCode, a.Attempts, m)
	default:
		return fmt.Sprintf("failed with %s after %d attempts: discard staging, the unit stays pending for a rerun (%s)", a.ErrorCode, a.Attempts, m)
	}
}

// groups builds successful_units per dataset and failed_units per
// (dataset, error_code, fault_family); results are sorted by unit.
func groups(results []UnitResult) ([]UnitGroup, []FailedUnitGroup) {
	okGroups, failGroups := []UnitGroup{}, []FailedUnitGroup{}
	for _, r := range results {
		if r.Status == StatusSuccessful {
			if n := len(okGroups); n > 0 && okGroups[n-1].Dataset == r.Dataset {
				okGroups[n-1].Partitions = append(okGroups[n-1].Partitions, r.Key)
			} else {
				okGroups = append(okGroups, UnitGroup{Dataset: r.Dataset, Partitions: []string{r.Key}})
			}
			continue
		}
		i := slices.IndexFunc(failGroups, func(g FailedUnitGroup) bool {
			return g.Dataset == r.Dataset && g.ErrorCode == r.ErrorCode && g.FaultFamily == r.FaultFamily
		})
		if i < 0 {
			failGroups = append(failGroups, FailedUnitGroup{Dataset: r.Dataset, ErrorCode: r.ErrorCode, FaultFamily: r.FaultFamily})
			i = len(failGroups) - 1
		}
		failGroups[i].Partitions = append(failGroups[i].Partitions, r.Key)
	}
	slices.SortFunc(failGroups, func(a, b FailedUnitGroup) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.ErrorCode, b.ErrorCode), cmp.Compare(a.FaultFamily, b.FaultFamily))
	})
	return okGroups, failGroups
}

// vote is the partial_failure_policy's outcome for the Decision Engine.
func vote(p Policy, overall OverallState, ok, failed int, fails []FailedUnitGroup) decision.Vote {
	v := decision.Vote{Authority: decision.AuthorityPartialFailurePolicy}
	var parts []string
	for _, g := range fails {
		parts = append(parts, fmt.Sprintf("%s %s: %s", g.Dataset, strings.Join(g.Partitions, ","), g.ErrorCode))
	}
	detail := strings.Join(parts, "; ")
	switch overall {
	case OverallCommitted:
		v.Outcome = decision.Approved
		v.Reason = fmt.Sprintf("%s: all %d units committed", p.Mode, ok)
	case OverallPartiallyCommitted:
		v.Outcome = decision.PartiallyCommitted
		v.Reason = fmt.Sprintf("%s: %d of %d units committed, %d failed (%s); publish as trusted not allowed (I7)", p.Mode, ok, ok+failed, failed, detail)
	case OverallQuarantined:
		v.Outcome = decision.Quarantined
		v.Reason = fmt.Sprintf("%s: every unit failed and is quarantined (%s)", p.Mode, detail)
	case OverallRolledBack:
		v.Outcome = decision.RolledBack
		v.Reason = fmt.Sprintf("%s: %d of %d units failed (%s); nothing committed", p.Mode, failed, ok+failed, detail)
	}
	return v
}
