package partialexecution

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Trigger is a panic_rollback trigger (5.8).
type Trigger string

// The whitepaper's four triggers, then the ones issue 4 adds (docs/adr/0084).
const (
	TriggerExternalPermissionRevoked  Trigger = "external_permission_revoked"
	TriggerComputeResourceUnavailable Trigger = "compute_resource_unavailable"
	TriggerStorageQuotaExceeded       Trigger = "storage_quota_exceeded"
	TriggerPolicyBundleChangedMidExec Trigger = "policy_bundle_changed_mid_exec"
	// TriggerConnectionLost: the storage or its connection went away.
	TriggerConnectionLost Trigger = "connection_lost"
	// TriggerExecutionCancelled: the intent was cancelled mid-execution.
	TriggerExecutionCancelled Trigger = "execution_cancelled"
	// TriggerForbiddenOperation: a forbidden operation seen at run time,
	// after Static Validation (I6, with precedence over I4).
	TriggerForbiddenOperation Trigger = "forbidden_operation_at_runtime"
)

// Triggers lists every trigger.
var Triggers = []Trigger{
	TriggerExternalPermissionRevoked, TriggerComputeResourceUnavailable, TriggerStorageQuotaExceeded,
	TriggerPolicyBundleChangedMidExec, TriggerConnectionLost, TriggerExecutionCancelled, TriggerForbiddenOperation,
}

// Panic rollback vocabulary (5.8 panic_rollback, 5.13).
const (
	PanicAction          = "immediate_interrupt_and_isolate"
	PanicScope           = "all_in_flight_consistency_units"
	PanicMandatoryAction = "panic_rollback" // 5.13: quarantine with no projection
)

var triggerRemediation = map[Trigger]string{
	TriggerExternalPermissionRevoked:  "Restore the execution role's grants or credentials, then rerun the intent: it is revalidated and replanned from the current registry.",
	TriggerComputeResourceUnavailable: "Restore the compute capacity, then rerun the intent.",
	TriggerStorageQuotaExceeded:       "Free or raise the storage quota, then rerun the intent.",
	TriggerPolicyBundleChangedMidExec: "Rerun the intent so it is evaluated under the new policy bundle; the quarantined output was produced under the old one.",
	TriggerConnectionLost:             "Restore the storage connection, then rerun the intent.",
	TriggerExecutionCancelled:         "Rerun the intent if the cancellation was not meant to abandon it.",
	TriggerForbiddenOperation:         "Investigate the quarantined output and the generator: a forbidden operation passed Static Validation (I6); fix the rule or the template before any rerun.",
}

// PanicInput is what the Sandbox Monitor knows when the environment
// invalidates an execution.
type PanicInput struct {
	Trigger Trigger `json:"trigger"`
	// Reason is required (reason_required: true): what happened, for people.
	Reason          string          `json:"reason"`
	ConsistencyUnit ConsistencyUnit `json:"consistency_unit"`
	// Mode is the configured partial failure policy, recorded in the state
	// for the audit; a panic does not apply it.
	Mode Mode `json:"mode"`
	// Finished are units whose latest attempt ended, successful or not; their
	// output is still in staging. InFlight are units running when the panic
	// struck (a retry in flight may be in both). Units not started yet are
	// in neither.
	Finished []UnitResult `json:"finished"`
	InFlight []Unit       `json:"in_flight"`
}

// PanicOutcome is post_panic: every unit quarantined, nothing projected.
type PanicOutcome struct {
	// State is recorded in the audit trail only; it is never projected.
	State   PartialExecutionState `json:"partial_execution_state"`
	Actions []UnitAction          `json:"unit_actions"`
	Fault   fault.Fault           `json:"fault"`
	Trigger Trigger               `json:"trigger"`
	Reason  string                `json:"reason"`
	// ProjectionAllowed is always false: the Context Registry is not updated.
	ProjectionAllowed bool   `json:"projection_allowed"`
	AuditEvent        string `json:"audit_event"`
	// Vote is quarantined, from the partial_failure_policy authority.
	Vote decision.Vote `json:"vote"`
	// Violation is set for TriggerForbiddenOperation: I6 vetoes with
	// quarantined before any authority is heard.
	Violation *decision.Violation `json:"violation,omitempty"`
}

// PanicRollback applies 5.8 panic_rollback: every finished or in-flight
// unit is quarantined (in-flight transactions are interrupted and roll
// back; staged output moves to quarantine), overall_state is quarantined,
// projection_allowed is false and the audit event is
// PANIC_ROLLBACK_TRIGGERED. Nothing is committed, whatever the mode.
func PanicRollback(in PanicInput) (PanicOutcome, error) {
	if !slices.Contains(Triggers, in.Trigger) {
		return PanicOutcome{}, fmt.Errorf("panic rollback: %w: trigger %q is not one of %v", ErrInvalidResults, in.Trigger, Triggers)
	}
	if strings.TrimSpace(in.Reason) == "" {
		return PanicOutcome{}, fmt.Errorf("panic rollback: %w: the reason is empty; say what happened (reason_required: true)", ErrInvalidResults)
	}
	if !in.Mode.Valid() {
		return PanicOutcome{}, fmt.Errorf("panic rollback: %w: mode %q is not one of %v", ErrInvalidPolicy, in.Mode, Modes)
	}
	if err := in.ConsistencyUnit.Validate(); err != nil {
		return PanicOutcome{}, fmt.Errorf("panic rollback: %w", err)
	}

	family := fault.EnvironmentalFaults
	if in.Trigger == TriggerForbiddenOperation {
		family = fault.StaticSafetyFaults
	}
	f := fault.Fault{
		Code:                    fault.CodePanicRollbackTriggered,
		Family:                  family,
		Severity:                fault.SeverityCritical,
		Stage:                   fault.StageExecution,
		DetectedBeforeExecution: false,
		MandatoryAction:         PanicMandatoryAction,
		Remediation:             []string{triggerRemediation[in.Trigger]},
		Rule:                    "panic_rollback.triggers." + string(in.Trigger),
		Message:                 in.Reason,
	}

	// Every unit is quarantined; its result in the state says how it ended:
	// finished units keep theirs, in-flight ones failed with the panic. A
	// unit in both lists is a retry in flight: it keeps its finished count.
	results := make([]UnitResult, 0, len(in.Finished)+len(in.InFlight))
	for _, r := range in.Finished {
		if err := r.validate(); err != nil {
			return PanicOutcome{}, fmt.Errorf("panic rollback: %w", err)
		}
		if slices.ContainsFunc(results, func(o UnitResult) bool { return o.Unit == r.Unit }) {
			return PanicOutcome{}, fmt.Errorf("panic rollback: %w: unit %s is listed twice among finished units; pass its latest result only", ErrInvalidResults, r.Unit)
		}
		results = append(results, r)
	}
	for _, u := range in.InFlight {
		if err := u.validate(); err != nil {
			return PanicOutcome{}, fmt.Errorf("panic rollback: %w", err)
		}
		// Attempts counts finished runs; the interrupted one is not counted.
		r := UnitResult{Unit: u, Status: StatusFailed, ErrorCode: f.Code, FaultFamily: f.Family}
		if i := slices.IndexFunc(results, func(o UnitResult) bool { return o.Unit == u }); i >= 0 {
			r.Attempts = results[i].Attempts
			results[i] = r
			continue
		}
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b UnitResult) int { return compareUnits(a.Unit, b.Unit) })

	out := PanicOutcome{
		State: PartialExecutionState{
			OverallState:    OverallQuarantined,
			ConsistencyUnit: in.ConsistencyUnit,
			ConsistencyPolicy: ConsistencyPolicy{
				Mode:             in.Mode,
				RollbackRequired: true,
				PublishAllowed:   false,
			},
		},
		Actions:           []UnitAction{},
		Fault:             f,
		Trigger:           in.Trigger,
		Reason:            in.Reason,
		ProjectionAllowed: false,
		AuditEvent:        fault.CodePanicRollbackTriggered,
		Vote: decision.Vote{
			Authority: decision.AuthorityPartialFailurePolicy,
			Outcome:   decision.Quarantined,
			Reason:    fmt.Sprintf("panic rollback (%s): %s; %d units quarantined, nothing projected", in.Trigger, in.Reason, len(results)),
			Faults:    []fault.Fault{f},
		},
	}
	out.State.SuccessfulUnits, out.State.FailedUnits = groups(results)
	for _, r := range results {
		out.Actions = append(out.Actions, UnitAction{
			UnitResult: r,
			Action:     ActionQuarantine,
			Reason:     fmt.Sprintf("panic rollback (%s): isolate everything, commit nothing", in.Trigger),
		})
	}
	if in.Trigger == TriggerForbiddenOperation {
		out.Violation = &decision.Violation{Invariant: "I6", Forces: decision.Quarantined, Fault: f}
	}
	return out, nil
}
