package audit

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types recorded by the governed flow.
const (
	EventIntentReceived         = "INTENT_RECEIVED"
	EventEnvironmentConsulted   = "ENVIRONMENT_STATE_CONSULTED"
	EventSemanticResolution     = "SEMANTIC_RESOLUTION"
	EventConfirmationRequested  = "CONFIRMATION_REQUESTED"
	EventHumanApproved          = "HUMAN_CONFIRMATION_APPROVED"
	EventHumanRejected          = "HUMAN_CONFIRMATION_REJECTED"
	EventHumanEscalationTimeout = "HUMAN_ESCALATION_TIMEOUT"
	EventConfirmationCancelled  = "CONFIRMATION_CANCELLED"
	// EventConfirmationRefused: an answer to an escalation was not taken
	// (malformed, unknown signal, not an approver, self-approval); the
	// escalation stays open (ADR 0115).
	EventConfirmationRefused = "CONFIRMATION_REFUSED"
	EventSignatureGenerated  = "SIGNATURE_GENERATED"
	EventPolicyApprove       = "POLICY_APPROVE"
	EventPolicyReplan        = "POLICY_REPLAN"
	EventPolicyBlock         = "POLICY_BLOCK"
	EventMaxReplanExceeded   = "MAX_REPLAN_ATTEMPTS_EXCEEDED"
	EventPreCostEstimated    = "PRE_COST_ESTIMATED"
	EventPreCostReplan       = "PRE_COST_REPLAN"
	EventExecutionPlanned    = "EXECUTION_PLAN_GENERATED"
	EventPlanningFailed      = "EXECUTION_PLAN_REFUSED"
	EventCodeGenerated       = "CODE_GENERATED"
	// EventCodeAnalysis is the whitepaper 5.15 example's code_analysis event
	// of stage static_validation (outcome passed or blocked).
	EventCodeAnalysis        = "CODE_ANALYSIS"
	EventSubIntentStarted    = "SUB_INTENT_STARTED"
	EventSubIntentDecided    = "SUB_INTENT_DECIDED"
	EventSubIntentSkipped    = "SUB_INTENT_SKIPPED"
	EventIntentGraphAccepted = "INTENT_GRAPH_ACCEPTED"
	EventScopeCheck          = "SCOPE_LOCK_CHECK"
	EventScopeQueued         = "SCOPE_LOCK_QUEUED"
	EventScopeAcquired       = "SCOPE_LOCK_ACQUIRED"
	EventScopeRejected       = "SCOPE_LOCK_REJECTED"
	EventRevalidation        = "PRE_EXECUTION_REVALIDATION"
	EventUnitExecuted        = "CONSISTENCY_UNIT_EXECUTED"
	EventPartialExecution    = "PARTIAL_EXECUTION_STATE"
	EventEnvironmentUpdate   = "ENVIRONMENT_UPDATE"
	EventPanicRollback       = "PANIC_ROLLBACK_TRIGGERED"
	EventDecision            = "DECISION"
	// EventPromotionEvaluation is step 18's promotion_evaluation (5.15).
	EventPromotionEvaluation = "PROMOTION_EVALUATION"
	EventIntentCompleted     = "INTENT_COMPLETED"
	EventRegistrySnapshot    = "REGISTRY_SNAPSHOT_COMMITTED"
	// EventProjectionFailureResolved: an operator resolved the I4 marker
	// of a failed projection.
	EventProjectionFailureResolved = "PROJECTION_FAILURE_RESOLVED"
	// EventAPICallRefused: the API refused a call, unauthenticated or
	// not permitted (ADR 0117).
	EventAPICallRefused = "API_CALL_REFUSED"
	// EventCancelRequested: someone asked (through the API) that a running
	// intent be cancelled; the intent's own trail records how it ended.
	EventCancelRequested = "INTENT_CANCEL_REQUESTED"
	// EventSkillTransition: a skill moved from one lifecycle state to
	// another (whitepaper 5.12, docs/adr/0121), in a trail of its own.
	EventSkillTransition = "SKILL_TRANSITION"
	// EventStandingApprovalGranted: an approval of a scheduled run was
	// given as standing, for the schedule's later runs (docs/adr/0125). A
	// later run it answers records HUMAN_CONFIRMATION_APPROVED with its
	// reference.
	EventStandingApprovalGranted = "STANDING_APPROVAL_GRANTED"
	// EventScheduleChanged: a schedule was created, paused, unpaused,
	// triggered, backfilled or deleted (docs/adr/0124), in a trail of its
	// own.
	EventScheduleChanged = "SCHEDULE_CHANGED"
	// EventReadExecuted: a read's query ran in the sandbox (step 13,
	// action READ): the rows it returned and the columns it masked, never
	// the rows themselves (docs/adr/0132).
	EventReadExecuted = "READ_EXECUTED"

	// EventSoftConfirmation: a soft confirmation (step 5) showed the
	// signature and proceeded, or a conflict escalated it to hard_required
	// (docs/adr/0134).
	EventSoftConfirmation = "SOFT_CONFIRMATION"

	// EventAccessRecorded: a read or write of the context plane through
	// the CLI or the API outside any intent (MUST-005, docs/adr/0146): who,
	// the action, the targets and the outcome, denials too. It is a trail
	// of its own and its only event: its start and its end.
	EventAccessRecorded = "ACCESS_RECORDED"

	// The CFS write protocol and governance (docs/adr/0149, 0150), each
	// step in a trail of its own between INTENT_RECEIVED and
	// INTENT_COMPLETED. EventCFSProposed: a proposal was stored with its
	// diff (WRITE); EventCFSReviewed: it was approved or rejected
	// (APPROVE; outcome approved, rejected or refused); EventCFSApplied:
	// its mutations were committed to the plane (WRITE);
	// EventCFSPolicyPut / EventCFSViewPut: a CFS policy or view version was
	// stored (WRITE).
	EventCFSProposed  = "CFS_PROPOSED"
	EventCFSReviewed  = "CFS_PROPOSAL_REVIEWED"
	EventCFSApplied   = "CFS_PROPOSAL_APPLIED"
	EventCFSPolicyPut = "CFS_POLICY_PUT"
	EventCFSViewPut   = "CFS_VIEW_PUT"
)

// EncodeDetails encodes an event's payload as the JSON object Seal
// canonicalises (encoding/json: struct fields in declaration order).
func EncodeDetails(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit details %T: %w", v, err)
	}
	return b, nil
}

// PrincipalType is the CFS Principal type.
type PrincipalType string

// CFS principal types.
const (
	PrincipalHuman   PrincipalType = "HUMAN"
	PrincipalAgent   PrincipalType = "AGENT"
	PrincipalService PrincipalType = "SERVICE"
	PrincipalSystem  PrincipalType = "SYSTEM"
)

// Principal is who performed an action (CFS Principal).
type Principal struct {
	ID          string        `json:"id"`
	Type        PrincipalType `json:"type"`
	AuthContext string        `json:"auth_context,omitempty"`
}

// Action is the CFS Action enum.
type Action string

// CFS actions.
const (
	ActionRead    Action = "READ"
	ActionWrite   Action = "WRITE"
	ActionInvoke  Action = "INVOKE"
	ActionApprove Action = "APPROVE"
	ActionSync    Action = "SYNC"
)

// Event is one typed audit event before it is sealed into the chain.
// IntentID+Seq is its idempotency key: the workflow assigns Seq, so a retried
// activity can never duplicate or reorder an event.
type Event struct {
	IntentID            string          `json:"intent_id"`
	Seq                 int64           `json:"seq"` // causal order within the intent, from 1
	CorrelationID       string          `json:"correlation_id"`
	PolicyBundleVersion string          `json:"policy_bundle_version"`
	Stage               string          `json:"stage"`
	EventType           string          `json:"event_type"`
	Outcome             string          `json:"outcome"`
	Actor               Principal       `json:"actor"`
	Action              Action          `json:"action"`
	Targets             []string        `json:"targets"`
	Timestamp           time.Time       `json:"timestamp"`         // workflow time, UTC
	Details             json.RawMessage `json:"details,omitempty"` // canonical JSON object of stage data
	// TraceID is the intent's OpenTelemetry trace (32 hex digits), when
	// it was submitted with tracing on; sealed as context trace_id only
	// when set, so receipts without one are as before.
	TraceID string `json:"trace_id,omitempty"`
}

// Receipt is an Event sealed into the chain: a CFS Receipt whose context
// carries the CFA correlation fields. Integrity = SHA-256 of the canonical
// protobuf encoding of the receipt without its integrity field.
type Receipt struct {
	ReceiptID string            `json:"receipt_id"` // "<intent_id>/<seq>"
	Position  int64             `json:"position"`   // place in the global chain, from 1
	Actor     Principal         `json:"actor"`
	Action    Action            `json:"action"`
	Targets   []string          `json:"targets"`
	Timestamp time.Time         `json:"timestamp"`
	Context   map[string]string `json:"context"` // intent_id, seq, correlation_id, policy_bundle_version, stage, event_type, outcome, details, position; trace_id when traced
	PrevHash  []byte            `json:"prev_hash"`
	Integrity []byte            `json:"integrity"`
}
