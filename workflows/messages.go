package workflows

import (
	"time"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// TaskQueue is where intent workflows and their activities run.
const TaskQueue = "cfa-intents"

// Signal and query names. The CLI, the API and the Temporal Web UI use these
// exact strings (README shows the JSON to paste for each signal).
const (
	// SignalApprove confirms a pending escalation; payload ConfirmationSignal.
	SignalApprove = "approve"
	// SignalReject refuses a pending escalation; payload ConfirmationSignal.
	SignalReject = "reject"
	// QueryPendingEscalation returns *PendingEscalation (nil when none).
	QueryPendingEscalation = "pending_escalation"
	// QueryStatus returns Status.
	QueryStatus = "status"
	// SignalScopeReleased wakes an intent queued for a target scope; the
	// releasing intent sends it (no payload). The intent then re-checks.
	SignalScopeReleased = "scope_released"
)

// DefaultEscalationTimeout is human_timeout_seconds of whitepaper 5.1b.
const DefaultEscalationTimeout = 300 * time.Second

// EscalationTimerName names the timer so the Temporal UI shows what it is.
const EscalationTimerName = "human_timeout_seconds"

// ConfirmationSignal is the payload of SignalApprove and SignalReject.
// In the Temporal UI: {"by": "maria", "reason": "reviewed PII handling"}.
type ConfirmationSignal struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// IntentInput starts an IntentWorkflow. Exactly one of Text or Signature.
type IntentInput struct {
	Text          string               `json:"text,omitempty"`
	Signature     *signature.Signature `json:"signature,omitempty"`
	CorrelationID string               `json:"correlation_id,omitempty"`
	SubmittedBy   string               `json:"submitted_by,omitempty"`
	// EscalationTimeoutSeconds overrides the 300 s human timeout for this run.
	EscalationTimeoutSeconds int `json:"escalation_timeout_seconds,omitempty"`
	// DryRun stops the flow after static validation (step 10), whatever
	// comes after it.
	DryRun bool `json:"dry_run,omitempty"`
	// CostCeilingDBU overrides cost_ceiling_dbu (whitepaper 5.7: 50).
	CostCeilingDBU float64 `json:"cost_ceiling_dbu,omitempty"`
	// Plan is an execution plan from an external planner (the
	// execution_planner extension point); its code must pass static
	// validation against the governed plan's rules (docs/adr/0075).
	Plan *planner.ExecutionPlan `json:"plan,omitempty"`
	// Composite marks a sub-intent of a composite intent: its plan's
	// consistency unit is dag_branch (whitepaper 5.5 selection rules).
	Composite bool `json:"composite,omitempty"`
	// AsOf (YYYY-MM-DD) resolves relative windows ("last 30 days") against
	// that date instead of today: reprocessing as of a past date.
	AsOf string `json:"as_of,omitempty"`
	// PartialFailureMode is partial_failure_policy.mode (5.8); empty is
	// selective_quarantine.
	PartialFailureMode string `json:"partial_failure_mode,omitempty"`
	// OnConflict is conflict_resolution.on_conflict: queue (default) or
	// reject.
	OnConflict string `json:"on_conflict,omitempty"`
	// UnitRetryBaseSeconds is the retry backoff base of a failed unit
	// (whitepaper 5.8: 30 s).
	UnitRetryBaseSeconds int `json:"unit_retry_base_seconds,omitempty"`
	// ReplanMode is auto (default: the Policy Engine and the Pre-cost
	// Estimator replan and govern again, at most 3 times) or propose (the
	// first replan ends the cycle with decision replanned and the
	// replanned signature, for review and resubmission).
	ReplanMode string `json:"replan_mode,omitempty"`
}

// Stage names reported by QueryStatus, in flow order (whitepaper section 7).
const (
	StageReceived     = "intent_received"
	StageRegistry     = "context_registry"
	StageNormalizer   = "intent_normalizer"
	StageConfirmation = "confirmation_orchestrator"
	StageSignature    = "state_signature"
	StagePolicyEngine = "policy_engine"
	StagePreCost      = "pre_cost_estimator"
	StagePlanner      = "execution_planner"
	StageCodeGen      = "code_generation"
	StageStatic       = "static_validation"
	StageLock         = "concurrency_control"
	StageRevalidation = "pre_execution_revalidation"
	StageExecution    = "execution"
	StagePartial      = "partial_execution_state"
	StageProjection   = "state_projection"
	StageDecision     = "decision_engine"
	StagePromotion    = "promotion_engine"
	StageAudit        = "audit_trail"
	StageCompleted    = "completed"
)

// PendingEscalation is what an approver is asked to confirm.
type PendingEscalation struct {
	IntentID  string                 `json:"intent_id"`
	Mode      confirmation.Mode      `json:"confirmation_mode"`
	Triggers  []confirmation.Trigger `json:"triggers"`
	Signature signature.Signature    `json:"signature"`
	Deadline  time.Time              `json:"deadline"`
	// Reason says why a human is asked, beyond the triggers (the cost).
	Reason string `json:"reason,omitempty"`
}

// StageReport is one completed stage with a one-line summary.
type StageReport struct {
	Stage   string    `json:"stage"`
	Summary string    `json:"summary"`
	At      time.Time `json:"at"`
}

// Status is the live view of an intent returned by QueryStatus.
type Status struct {
	IntentID string             `json:"intent_id"`
	Stage    string             `json:"stage"`
	Stages   []StageReport      `json:"stages"`
	Pending  *PendingEscalation `json:"pending_escalation,omitempty"`
	// Units is the execution state per consistency unit.
	Units  []UnitState   `json:"units,omitempty"`
	Result *IntentResult `json:"result,omitempty"`
}

// UnitState is one consistency unit as `cfa status` shows it.
type UnitState struct {
	Key       string `json:"key"`
	State     string `json:"state"` // running, successful, failed, committed, quarantined, discarded
	Attempts  int    `json:"attempts,omitempty"`
	RowsOut   int64  `json:"rows_out,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// ChangeStaleReplanLimitEvent is the workflow.GetVersion change id that
// audits MAX_REPLAN_ATTEMPTS_EXCEEDED when a stale_environment_state replan
// would pass the limit.
const ChangeStaleReplanLimitEvent = "stale-replan-limit-event"

// ChangeCancelDuringWait is the workflow.GetVersion change id that records
// a cancellation during a human wait as cancelled, not as a timeout.
const ChangeCancelDuringWait = "cancel-during-human-wait"

// ChangeLifecycleEvaluation is the workflow.GetVersion change id that added
// the Promotion Engine's evaluation (step 18) after an execution's decision.
const ChangeLifecycleEvaluation = "lifecycle-evaluation-step-18"

// ChangeTTLIntentCheck is the workflow.GetVersion change id that added the
// TTL policy's check of a new intent (block_dependent_intents).
const ChangeTTLIntentCheck = "ttl-intent-check"

// ChangeExecutionGates is the workflow.GetVersion change id that added the
// I4 gate after the lock and the cost feedback of step 16.
const ChangeExecutionGates = "execution-i4-gate-cost-feedback"

// ChangeScopeCheck is the workflow.GetVersion change id that added the
// lock check of step 3.
const ChangeScopeCheck = "scope-check-step-3"

// ChangeExecutionSteps is the workflow.GetVersion change id that added
// steps 11–16 (lock, revalidation, sandbox execution, projection).
const ChangeExecutionSteps = "execution-steps-11-16"

// ChangePlanningSteps is the workflow.GetVersion change id that added steps
// 8–10 (pre-cost, planning, code generation, static validation).
const ChangePlanningSteps = "planning-steps-8-10"

// IntentWorkflowName is the registered workflow type name.
const IntentWorkflowName = "IntentWorkflow"

// Intent statuses kept in the intents index.
const (
	IntentStatusRunning   = "running"
	IntentStatusCompleted = "completed"
)
