package workflows

import (
	"time"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/policy"
)

// TaskQueue is where intent workflows and their activities run.
const TaskQueue = "cfa-intents"

// Workflow type names, as registered and as the CLI, the API and schedules
// start them.
const (
	IntentWorkflowName          = "IntentWorkflow"
	CompositeIntentWorkflowName = "CompositeIntentWorkflow"
	TTLSweeperWorkflowName      = "TTLSweeperWorkflow"
)

// TTLScheduleID is the Temporal Schedule that runs the sweeper.
const TTLScheduleID = "cfa-ttl-sweeper"

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
const DefaultEscalationTimeout = confirmation.HumanTimeout

// EscalationTimerName names the timer so the Temporal UI shows what it is.
const EscalationTimerName = "human_timeout_seconds"

// ConfirmationSignal is the payload of SignalApprove and SignalReject.
// In the Temporal UI: {"by": "maria", "reason": "reviewed PII handling"}.
// Both are required; anything else is refused and audited (ADR 0115).
// An approval may choose one of the escalation's competing interpretations
// (the pending escalation's competing_interpretations) by name:
// {"by": "maria", "reason": "produtos was meant", "interpretation": "anonymize_produtos_silver"};
// the intent then goes on with that interpretation's signature. A name
// that is not offered is refused and audited, and the escalation stays
// open (ADR 0135). The same names are Updates taking the same payload.
type ConfirmationSignal = confirmation.Answer

// IntentInput starts an IntentWorkflow: the intent as submitted.
type IntentInput = intent.Request

// Stage names reported by QueryStatus, in flow order (whitepaper section 7).
const (
	StageReceived     = intent.StageReceived
	StageRegistry     = intent.StageRegistry
	StageNormalizer   = intent.StageNormalizer
	StageConfirmation = intent.StageConfirmation
	StageSignature    = intent.StageSignature
	StagePolicyEngine = intent.StagePolicyEngine
	StagePreCost      = intent.StagePreCost
	StagePlanner      = intent.StagePlanner
	StageCodeGen      = intent.StageCodeGen
	StageStatic       = intent.StageStatic
	StageLock         = intent.StageLock
	StageRevalidation = intent.StageRevalidation
	StageExecution    = intent.StageExecution
	StagePartial      = intent.StagePartial
	StageProjection   = intent.StageProjection
	StageDecision     = intent.StageDecision
	StagePromotion    = intent.StagePromotion
	StageAudit        = intent.StageAudit
	StageCompleted    = intent.StageCompleted
	StageComposite    = intent.StageComposite
	StageTTL          = intent.StageTTL
)

// PendingEscalation is what an approver is asked to confirm: the question
// the CONFIRMATION_REQUESTED event records (with the competing
// interpretations an approval may choose, competing_interpretations), and
// until when.
type PendingEscalation struct {
	events.ConfirmationRequested
	Deadline time.Time `json:"deadline"`
	// Allowed is who may answer (policy bundle confirmation; ADR 0115).
	Allowed confirmation.Allowed `json:"allowed"`
	// Narrowed is what the replans so far changed of what the user asked,
	// before and after, so the approver approves knowingly (ADR 0136).
	Narrowed []policy.Narrowing `json:"narrowed,omitempty"`
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
type UnitState = activities.UnitState

// Intent statuses kept in the intents index.
const (
	IntentStatusRunning   = "running"
	IntentStatusCompleted = "completed"
)
