package workflows

import (
	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// Confirmation outcomes recorded in IntentResult.
const (
	ConfirmationNotRequired = confirmation.OutcomeNotRequired
	ConfirmationProceeded   = confirmation.OutcomeProceeded // soft: shown, no conflict
	ConfirmationApproved    = confirmation.OutcomeApproved
	ConfirmationRejected    = confirmation.OutcomeRejected
	ConfirmationTimeout     = confirmation.OutcomeTimeout
	// ConfirmationCancelled: the intent was cancelled while it waited.
	ConfirmationCancelled = confirmation.OutcomeCancelled
)

// ConfirmationRecord is how step 5 (or the Pre-cost Estimator's
// escalation) ended.
type ConfirmationRecord = confirmation.Record

// PolicyAttempt is one Policy Engine evaluation of one signature.
type PolicyAttempt = activities.PolicyAttempt

// IntentResult is the outcome of an IntentWorkflow.
type IntentResult struct {
	IntentID       string                         `json:"intent_id"`
	CorrelationID  string                         `json:"correlation_id"`
	DecisionState  decision.State                 `json:"decision_state"`
	DecidedBy      string                         `json:"decided_by"`
	Reason         string                         `json:"reason,omitempty"`
	Faults         []fault.Fault                  `json:"faults,omitempty"`
	Resolution     *resolution.SemanticResolution `json:"semantic_resolution,omitempty"`
	Confirmation   *ConfirmationRecord            `json:"confirmation,omitempty"`
	Signature      *signature.Signature           `json:"signature,omitempty"`
	SignatureHash  string                         `json:"intent_signature_hash,omitempty"`
	PolicyAttempts []PolicyAttempt                `json:"policy_attempts,omitempty"`
	Replans        int                            `json:"replans"`
	// Proposed is the replanned signature of a cycle that ended replanned
	// (replan_mode propose), for review: `cfa status ID --proposed`.
	Proposed     *signature.Signature `json:"proposed_signature,omitempty"`
	ProposedHash string               `json:"proposed_signature_hash,omitempty"`
	// NextCycle is the input of the next cycle: the proposed signature
	// with this cycle's options and correlation id (`cfa submit
	// --from-proposal ID`).
	NextCycle *IntentInput `json:"next_cycle,omitempty"`
	// CostConfirmation is the human escalation the Pre-cost Estimator asked
	// for, when it did.
	CostConfirmation *ConfirmationRecord `json:"cost_confirmation,omitempty"`
	// PreCost is the last estimate (after any cost replan).
	PreCost *activities.PreCost `json:"pre_cost,omitempty"`
	// PlanHash, CodeHash and Static are steps 9 and 10; `cfa plan` and `cfa
	// code` show the plan and the code in full.
	PlanHash        string                  `json:"plan_hash,omitempty"`
	ConsistencyUnit planner.ConsistencyUnit `json:"consistency_unit,omitempty"`
	// ServedBySkill is the persisted skill whose frozen plan the intent
	// reused (ADR 0129); absent when planned just in time.
	ServedBySkill *events.SkillServed `json:"served_by_skill,omitempty"`
	CodeHash      string              `json:"code_hash,omitempty"`
	Static        *StaticSummary      `json:"static_validation,omitempty"`
	DryRun        bool                `json:"dry_run,omitempty"`
	// Execution is steps 11–16, when the intent ran.
	Execution *ExecutionSummary `json:"execution,omitempty"`
	// Result is what a read returned (docs/adr/0132): its columns and
	// rows, personal data masked (masked_columns, docs/adr/0133).
	Result *activities.ReadResult `json:"result,omitempty"`
	// Promotion is step 18's evaluation of the skill, when the intent ran.
	Promotion   *lifecycle.Evaluation `json:"promotion,omitempty"`
	AuditEvents int64                 `json:"audit_events"`
	// Stages are the stages the intent went through, as its status query
	// reported them: a watcher that sees the result has them all without
	// querying a closed workflow.
	Stages []StageReport `json:"stages,omitempty"`
}

// ExecutionSummary is what the sandbox run did.
type ExecutionSummary struct {
	Scopes    []string `json:"scopes"`
	Queued    bool     `json:"queued,omitempty"`    // waited for another intent's scope
	Recovered []string `json:"recovered,omitempty"` // dead holders released
	// StaleReplans counts replans for stale_environment_state (TOCTOU).
	StaleReplans          int                                     `json:"stale_replans,omitempty"`
	Units                 []UnitState                             `json:"units"`
	PartialExecutionState *partialexecution.PartialExecutionState `json:"partial_execution_state,omitempty"`
	PublishStatus         string                                  `json:"publish_status,omitempty"`
	RegistryVersionID     string                                  `json:"registry_version_id,omitempty"`
	Panic                 *PanicSummary                           `json:"panic,omitempty"`
}

// PanicSummary is a Panic Rollback: why, and that nothing was projected.
type PanicSummary struct {
	Trigger string `json:"trigger"`
	Reason  string `json:"reason"`
}

// StaticSummary is the Static Validation outcome: passed, or the rules
// violated.
type StaticSummary = events.StaticSummary
