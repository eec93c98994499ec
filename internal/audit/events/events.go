// Package events holds the typed payload of every audit event (the details
// of a receipt): one struct per event type, named after it, so a reader of
// the audit trail (whitepaper 5.15) finds each field here, and no stage
// builds an untyped map. Each payload says its event type.
package events

import (
	"encoding/json"
	"time"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/internal/staticcheck"
	"github.com/contextualflux/cfa/internal/ttl"
)

// Payload is the details of one audit event.
type Payload interface {
	// EventType is the audit event type the payload is recorded as.
	EventType() string
}

// IntentReceived is step 1: the intent as submitted (INTENT_RECEIVED).
type IntentReceived struct {
	intent.Request
}

// CompositeReceived is a composite intent as submitted (INTENT_RECEIVED).
type CompositeReceived struct {
	Graph                    composite.IntentGraph `json:"intent_graph"`
	CorrelationID            string                `json:"correlation_id,omitempty"`
	SubmittedBy              string                `json:"submitted_by,omitempty"`
	SubmitterType            string                `json:"submitter_type,omitempty"`
	SubmitterAuthContext     string                `json:"submitter_auth_context,omitempty"`
	EscalationTimeoutSeconds int                   `json:"escalation_timeout_seconds,omitempty"`
	DryRun                   bool                  `json:"dry_run,omitempty"`
	CostCeilingDBU           float64               `json:"cost_ceiling_dbu,omitempty"`
}

// SweepReceived starts one run of the TTL sweeper (INTENT_RECEIVED). The
// sweep's time is the event's timestamp: fixed when it is first recorded,
// it is the time the sweep applies the TTLs at.
type SweepReceived struct {
	Policy string `json:"policy"` // ttl_policy
}

// EnvironmentConsulted is step 2: the snapshot consulted and the versions
// in force (ENVIRONMENT_STATE_CONSULTED, I3).
type EnvironmentConsulted struct {
	Environment            registry.EnvironmentState `json:"environment"`
	CatalogSnapshotVersion string                    `json:"catalog_snapshot_version"`
	PolicyBundleVersion    string                    `json:"policy_bundle_version"`
	MaxReplanAttempts      int                       `json:"max_replan_attempts"`
}

// SemanticResolution is step 4 (SEMANTIC_RESOLUTION), the whitepaper 5.15
// example's intent_normalizer event.
type SemanticResolution struct {
	Confidence                     float64                `json:"confidence"`
	AmbiguityLevel                 string                 `json:"ambiguity_level"`
	CompetingInterpretations       []string               `json:"competing_interpretations"`
	ConfirmationMode               confirmation.Mode      `json:"confirmation_mode"`
	ConfirmationTriggers           []confirmation.Trigger `json:"confirmation_triggers"`
	EnvironmentConstraintsInjected []string               `json:"environment_constraints_injected"`
	EnvironmentStateConsulted      bool                   `json:"environment_state_consulted"`
	Reason                         string                 `json:"reason"`
	// EstimatedCostDBU is the model price of the signature as resolved,
	// against CostCeilingDBU: what the cost triggers read (docs/adr/0134).
	EstimatedCostDBU float64 `json:"estimated_cost_dbu,omitempty"`
	CostCeilingDBU   float64 `json:"cost_ceiling_dbu,omitempty"`
	// Resolver names the custom_domain_resolver that resolved the intent,
	// when one did; Raw is its output as returned, before signing, so the
	// resolution can be replayed without it (whitepaper 9).
	Resolver string               `json:"resolver,omitempty"`
	Raw      *signature.Signature `json:"raw_signature,omitempty"`
	// RawConfidence and RawCompeting complete the resolver's answer (its
	// confidence and competing readings, as returned).
	RawConfidence *float64 `json:"raw_confidence,omitempty"`
	RawCompeting  []string `json:"raw_competing_interpretations,omitempty"`
	// Enriched is the catalog_enrichment_hook's answer and Scored the
	// confidence_scorer_override's, as returned, when one is set: `cfa
	// replay` uses them instead of asking the plug-in again (ADR 0127).
	Enriched *signature.Signature `json:"enriched_signature,omitempty"`
	Scored   *float64             `json:"scored_confidence,omitempty"`
}

// ScopeCheck is step 3, the lock check (SCOPE_LOCK_CHECK).
type ScopeCheck struct {
	Datasets           []string `json:"datasets"`
	HeldOrQueuedBy     []string `json:"held_or_queued_by"`
	ConflictResolution string   `json:"conflict_resolution"`
}

// ConfirmationRequested opens a human escalation (CONFIRMATION_REQUESTED).
// Its deadline is the event's timestamp plus TimeoutSeconds: the time is
// fixed when the event is first recorded, so a retry records the same event.
type ConfirmationRequested struct {
	IntentID       string                 `json:"intent_id"`
	Mode           confirmation.Mode      `json:"confirmation_mode"`
	Triggers       []confirmation.Trigger `json:"triggers"`
	Signature      signature.Signature    `json:"signature"`
	TimeoutSeconds int                    `json:"timeout_seconds"`
	Reason         string                 `json:"reason,omitempty"`
	// Interpretations are the competing interpretations the approver may
	// choose one of, by name (docs/adr/0135); empty when there is no
	// choice.
	Interpretations []string `json:"competing_interpretations,omitempty"`
}

// SoftConfirmation is a soft confirmation at step 5 (SOFT_CONFIRMATION):
// the signature shown and whether it proceeded (no conflict) or was
// escalated to hard_required by a conflict (docs/adr/0134).
type SoftConfirmation struct {
	Mode     confirmation.Mode      `json:"confirmation_mode"` // soft, or hard_required when escalated
	Triggers []confirmation.Trigger `json:"triggers"`
	// Outcome is proceeded or escalated.
	Outcome string `json:"outcome"`
	// Shown is the signature as displayed (confirmation.Show).
	Shown     string              `json:"shown_signature"`
	Signature signature.Signature `json:"signature"`
	// Conflicts name what escalated it; RunningIntents are the intents
	// found on the scopes the intent touches (the lock table's answer).
	Conflicts      []string `json:"conflicts,omitempty"`
	RunningIntents []string `json:"running_intents,omitempty"`
}

// HumanConfirmation is how an escalation was answered.
type HumanConfirmation struct {
	Mode     confirmation.Mode      `json:"confirmation_mode"`
	Triggers []confirmation.Trigger `json:"triggers,omitempty"`
	Outcome  string                 `json:"outcome"`
	By       string                 `json:"by,omitempty"`
	Reason   string                 `json:"reason,omitempty"`
	// StandingFor is set when the approval was given as standing (the
	// STANDING_APPROVAL_GRANTED event after it records the grant).
	StandingFor string `json:"standing_for,omitempty"`
	// Interpretation is the competing interpretation the approver chose,
	// and Chosen its signature, with which the intent goes on
	// (docs/adr/0135).
	Interpretation string               `json:"interpretation,omitempty"`
	Chosen         *signature.Signature `json:"chosen_signature,omitempty"`
}

// HumanApproved is an approval (HUMAN_CONFIRMATION_APPROVED).
type HumanApproved HumanConfirmation

// StandingApprovalApplied is a scheduled run's question answered by a
// standing approval, without a human wait (HUMAN_CONFIRMATION_APPROVED,
// outcome approved): the approval is By's, given earlier on intent
// GrantedByIntent, referenced by StandingApproval (docs/adr/0125).
type StandingApprovalApplied struct {
	HumanConfirmation
	StandingApproval       string    `json:"standing_approval"`
	Schedule               string    `json:"schedule"`
	SkillID                string    `json:"skill_id"`
	PolicyBundleVersion    string    `json:"policy_bundle_version"`
	CatalogSnapshotVersion string    `json:"catalog_snapshot_version"`
	GrantedByIntent        string    `json:"granted_by_intent"`
	GrantedAt              time.Time `json:"granted_at"`
	ExpiresAt              time.Time `json:"expires_at"`
}

// StandingApprovalGranted is an approval given as standing
// (STANDING_APPROVAL_GRANTED): what it is bound to and until when.
type StandingApprovalGranted struct {
	StandingApproval       string                  `json:"standing_approval"`
	Schedule               string                  `json:"schedule"`
	SkillID                string                  `json:"skill_id"`
	PolicyBundleVersion    string                  `json:"policy_bundle_version"`
	CatalogSnapshotVersion string                  `json:"catalog_snapshot_version"`
	Mode                   confirmation.Mode       `json:"confirmation_mode"`
	Categories             []confirmation.Category `json:"categories"`
	By                     string                  `json:"by"`
	Reason                 string                  `json:"reason"`
	ExpiresAt              time.Time               `json:"expires_at"`
}

// ScheduleActionReceived starts a schedule change's own trail
// (INTENT_RECEIVED): which schedule, what was asked, by whom and why.
type ScheduleActionReceived struct {
	Schedule string `json:"schedule"`
	Action   string `json:"action"`
	By       string `json:"by"`
	Reason   string `json:"reason,omitempty"`
}

// ScheduleChanged is one change of a schedule (SCHEDULE_CHANGED): created
// (with what it runs and when), paused, unpaused, triggered, backfilled
// or deleted; RevokedStanding lists the standing approvals a deletion
// revoked.
type ScheduleChanged struct {
	Schedule        string          `json:"schedule"`
	ScheduleID      string          `json:"schedule_id"`
	Action          string          `json:"action"`
	Reason          string          `json:"reason,omitempty"`
	SkillID         string          `json:"skill_id,omitempty"`
	Spec            json.RawMessage `json:"spec,omitempty"`
	RevokedStanding []string        `json:"revoked_standing_approvals,omitempty"`
}

// HumanRejected is a rejection (HUMAN_CONFIRMATION_REJECTED).
type HumanRejected HumanConfirmation

// ConfirmationCancelled: the intent was cancelled while it waited
// (CONFIRMATION_CANCELLED).
type ConfirmationCancelled struct {
	Reason   string    `json:"reason"`
	Deadline time.Time `json:"deadline"`
}

// ConfirmationRefused is an answer that was not taken
// (CONFIRMATION_REFUSED): what arrived, how, from whom it claimed to be,
// and why it was refused. The escalation stays open.
type ConfirmationRefused struct {
	// Answer is the signal or Update name that arrived.
	Answer string `json:"answer"`
	// Via is signal or update.
	Via string `json:"via"`
	// ClaimedBy is the payload's by, when it had one.
	ClaimedBy string `json:"claimed_by,omitempty"`
	// Payload is an excerpt of what arrived.
	Payload  string    `json:"payload"`
	Code     string    `json:"code"`
	Reason   string    `json:"reason"`
	Deadline time.Time `json:"deadline"`
}

// HumanEscalationTimeout is fallback_on_timeout (HUMAN_ESCALATION_TIMEOUT).
type HumanEscalationTimeout struct {
	Reason         string    `json:"reason"`
	Notify         string    `json:"notify"`
	Deadline       time.Time `json:"deadline"`
	TimeoutSeconds int       `json:"timeout_seconds"`
}

// SignatureGenerated is step 6 (SIGNATURE_GENERATED); Reason says why a
// signature was made again (stale_environment_state).
type SignatureGenerated struct {
	IntentSignatureHash string              `json:"intent_signature_hash"`
	Signature           signature.Signature `json:"signature"`
	Reason              string              `json:"reason,omitempty"`
}

// PolicyEvaluation is one Policy Engine evaluation of one signature.
type PolicyEvaluation struct {
	Replan              int      `json:"replan"`
	Rules               []string `json:"rules"`
	Faults              []string `json:"faults"`
	Interventions       []string `json:"interventions"`
	Warnings            []string `json:"warnings"`
	IntentSignatureHash string   `json:"intent_signature_hash"`
	// External are the faults the external_compliance_validators returned
	// for this signature, in full: `cfa replay` takes them as their answer
	// (ADR 0127).
	External []fault.Fault `json:"external_faults,omitempty"`
}

// PolicyApprove is an approving evaluation (POLICY_APPROVE).
type PolicyApprove PolicyEvaluation

// PolicyReplan is an evaluation that replans (POLICY_REPLAN).
type PolicyReplan PolicyEvaluation

// PolicyBlock is a blocking evaluation (POLICY_BLOCK).
type PolicyBlock PolicyEvaluation

// MaxReplanAttemptsExceeded is replan_policy.on_max_exceeded
// (MAX_REPLAN_ATTEMPTS_EXCEEDED): after the Policy Engine's attempts, or
// when a stale environment would need one replan too many.
type MaxReplanAttemptsExceeded struct {
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Replans  int    `json:"replans,omitempty"`
}

// PreCostEstimated is step 8 (PRE_COST_ESTIMATED).
type PreCostEstimated struct {
	EstimatedDBU       float64               `json:"estimated_dbu"`
	EstimatedShuffleGB float64               `json:"estimated_shuffle_gb"`
	CostRiskScore      float64               `json:"cost_risk_score"`
	Confidence         float64               `json:"confidence"`
	Basis              precost.Basis         `json:"basis"`
	HistoryRuns        int                   `json:"history_runs"`
	CostCeilingDBU     float64               `json:"cost_ceiling_dbu"`
	Action             precost.Action        `json:"action"`
	Reason             string                `json:"reason"`
	Intervention       *precost.Intervention `json:"intervention"`
	Fault              *fault.Fault          `json:"fault"`
	// Backend names the pre_cost_estimator_backend that estimated, when
	// it is not the shipped one; BackendEstimate is then its answer in full
	// (what a filter would save rests on its shape): `cfa replay` takes it
	// instead of asking the backend again (ADR 0127).
	Backend         string            `json:"backend,omitempty"`
	BackendEstimate *precost.Estimate `json:"backend_estimate,omitempty"`
}

// PreCostReplan is a force_replan_with_filter applied and governed again
// (PRE_COST_REPLAN): the faults of that governance.
type PreCostReplan struct {
	Fault            *fault.Fault          `json:"fault"`
	Intervention     *precost.Intervention `json:"intervention"`
	HintEstimatedDBU float64               `json:"hint_estimated_dbu"`
	Reason           string                `json:"reason"`
	Faults           []string              `json:"faults"`
}

// PreCostReplanProposed is a force_replan_with_filter proposed for the next
// cycle (PRE_COST_REPLAN, replan_mode propose).
type PreCostReplanProposed struct {
	Fault                 *fault.Fault          `json:"fault"`
	Intervention          *precost.Intervention `json:"intervention"`
	HintEstimatedDBU      float64               `json:"hint_estimated_dbu"`
	Reason                string                `json:"reason"`
	ProposedSignatureHash string                `json:"proposed_signature_hash"`
}

// ExecutionPlanGenerated is step 9's plan (EXECUTION_PLAN_GENERATED).
type ExecutionPlanGenerated struct {
	PlanHash            string                  `json:"plan_hash"`
	IntentSignatureHash string                  `json:"intent_signature_hash"`
	Steps               []string                `json:"steps"`
	Strategy            planner.Idempotence     `json:"strategy"`
	ConsistencyUnit     planner.ConsistencyUnit `json:"consistency_unit"`
	ConsistencyRule     string                  `json:"consistency_rule"`
	Window              *planner.Window         `json:"window"`
	Target              string                  `json:"target"`
	Supplied            bool                    `json:"supplied"`
	// ServedBy is the persisted skill whose frozen plan this run reuses
	// (ADR 0129); absent for a plan made just in time.
	ServedBy *SkillServed `json:"served_by_skill,omitempty"`
}

// SkillServed names the skill an intent reuses and what it froze.
type SkillServed struct {
	SkillID          string `json:"skill_id"`
	State            string `json:"state"`
	SourceIntentID   string `json:"source_intent_id"`
	FrozenPlanHash   string `json:"frozen_plan_hash"`
	PlanTemplateHash string `json:"plan_template_hash"`
}

// ExecutionPlanRefused is a planner refusal, or a supplied plan that does
// not conform (EXECUTION_PLAN_REFUSED).
type ExecutionPlanRefused struct {
	fault.Fault
}

// Artifact is one backend's generated code.
type Artifact struct {
	Hash  string   `json:"hash"`
	Files []string `json:"files"`
}

// CodeGenerated is step 9's code (CODE_GENERATED), by backend.
type CodeGenerated struct {
	PlanHash  string              `json:"plan_hash"`
	Artifacts map[string]Artifact `json:"artifacts"`
}

// CodeGenerationRefused is a backend that refused the plan (CODE_GENERATED,
// outcome refused).
type CodeGenerationRefused struct {
	fault.Fault
}

// CodeAnalysis is step 10 (CODE_ANALYSIS), the whitepaper 5.15 example's
// static_validation event.
type CodeAnalysis struct {
	CodeHash   string                  `json:"code_hash"`
	Passed     bool                    `json:"passed"`
	Violations []staticcheck.Violation `json:"violations"`
}

// ScopeQueued: the intent waits for another's scope (SCOPE_LOCK_QUEUED).
type ScopeQueued struct {
	Scopes []string `json:"scopes"`
	Ahead  []string `json:"ahead"`
}

// ScopeRejected: conflict_resolution reject found the scope held
// (SCOPE_LOCK_REJECTED).
type ScopeRejected struct {
	Scopes []string `json:"scopes"`
	Ahead  []string `json:"ahead"`
}

// ScopeAcquired is step 11 (SCOPE_LOCK_ACQUIRED).
type ScopeAcquired struct {
	Scopes    []string `json:"scopes"`
	Queued    bool     `json:"queued"`
	Recovered []string `json:"recovered"`
	LockPoint string   `json:"lock_point"`
}

// Revalidation is step 12 (PRE_EXECUTION_REVALIDATION).
type Revalidation struct {
	revalidation.Result
}

// UnitExecuted is one consistency unit's last attempt, validated at run
// time (CONSISTENCY_UNIT_EXECUTED).
type UnitExecuted struct {
	Unit      string                        `json:"unit"`
	Attempts  int                           `json:"attempts"`
	ErrorCode string                        `json:"error_code"`
	Report    *runtimevalidation.UnitReport `json:"report"`
}

// ReadExecuted is a read's query run in the sandbox (READ_EXECUTED,
// action READ): outcome returned, truncated or failed. It records what was
// returned, never a row (docs/adr/0132).
type ReadExecuted struct {
	PlanHash  string   `json:"plan_hash"`
	CodeHash  string   `json:"code_hash"`
	Sources   []string `json:"sources"`
	Columns   []string `json:"columns"`
	RowsRead  int      `json:"rows_returned"`
	Truncated bool     `json:"truncated"`
	RowLimit  int      `json:"row_limit"`
	// MaskedColumns are the raw PII columns returned masked, and how.
	MaskedColumns []planner.MaskedColumn `json:"masked_columns"`
	Window        *planner.Window        `json:"window,omitempty"`
	// Error is why the query failed (outcome failed).
	Error string `json:"error,omitempty"`
}

// PartialExecution is step 15, the partial failure policy applied
// (PARTIAL_EXECUTION_STATE), the whitepaper 5.15 example's execution event.
type PartialExecution struct {
	State         partialexecution.PartialExecutionState `json:"partial_execution_state"`
	UnitActions   []partialexecution.UnitAction          `json:"unit_actions"`
	PublishStatus partialexecution.PublishStatus         `json:"publish_status"`
}

// PanicRollback is Panic Rollback (PANIC_ROLLBACK_TRIGGERED).
type PanicRollback struct {
	Trigger           partialexecution.Trigger      `json:"trigger"`
	Reason            string                        `json:"reason"`
	UnitActions       []partialexecution.UnitAction `json:"unit_actions"`
	ProjectionAllowed bool                          `json:"projection_allowed"`
}

// EnvironmentProjected is step 16 committed (ENVIRONMENT_UPDATE, outcome
// projected), the whitepaper 5.15 example's state_projection event.
type EnvironmentProjected struct {
	VersionID      string           `json:"version_id"`
	Moved          map[string]int64 `json:"moved"`
	Withheld       []string         `json:"withheld"`
	ReleasedScopes []string         `json:"released_scopes"`
	Replayed       bool             `json:"replayed"`
}

// EnvironmentPublished is a publish-only plan's publication
// (ENVIRONMENT_UPDATE, outcome published).
type EnvironmentPublished struct {
	Partitions []string `json:"partitions"`
	Refused    string   `json:"refused,omitempty"`
}

// ProjectionFailed is step 16 not committed (ENVIRONMENT_UPDATE, outcome
// failed): the environment is uncertain (I4).
type ProjectionFailed struct {
	Error            string   `json:"error"`
	EnvironmentState string   `json:"environment_state"`
	Scopes           []string `json:"scopes"`
}

// PromotionEvaluation is step 18 (PROMOTION_EVALUATION).
type PromotionEvaluation struct {
	lifecycle.Evaluation
}

// Decision is step 17 (DECISION).
type Decision struct {
	DecisionState       decision.State `json:"decision_state"`
	DecidedBy           string         `json:"decided_by"`
	Reason              string         `json:"reason"`
	Faults              []string       `json:"faults"`
	IntentSignatureHash string         `json:"intent_signature_hash"`
	Replans             int            `json:"replans"`
	PlanHash            string         `json:"plan_hash"`
	CodeHash            string         `json:"code_hash"`
	StaticValidation    *StaticSummary `json:"static_validation"`
	DryRun              bool           `json:"dry_run"`
	// Warnings are the decision's non-blocking alerts in words: a replan
	// that narrowed what was asked (docs/adr/0136), an advisory rule.
	Warnings []string `json:"warnings,omitempty"`
}

// StaticSummary is the Static Validation outcome: passed, or the rules
// violated.
type StaticSummary struct {
	Passed   bool     `json:"passed"`
	Violated []string `json:"violated_rules,omitempty"`
}

// IntentCompleted is the end of an intent's trail (INTENT_COMPLETED,
// complete_per_intent); it carries nothing but its outcome.
type IntentCompleted struct{}

// SweepCompleted ends a TTL sweep (INTENT_COMPLETED).
type SweepCompleted struct {
	Transitions []ttl.Transition `json:"transitions"`
	VersionID   string           `json:"version_id,omitempty"`
}

// TTLTransition is one transition of the TTL policy, recorded as the event
// the policy names (CONTEXT_STATE_STALE or
// QUARANTINE_ESCALATED_TO_MANUAL_REVIEW).
type TTLTransition struct {
	ttl.Transition
}

// IntentGraphAccepted: a composite intent's graph is valid
// (INTENT_GRAPH_ACCEPTED).
type IntentGraphAccepted struct {
	RootIntent    string                  `json:"root_intent"`
	Levels        [][]string              `json:"levels"`
	Dependencies  []composite.Dependency  `json:"dependencies"`
	SharedContext composite.SharedContext `json:"shared_context"`
}

// SubIntentStarted (SUB_INTENT_STARTED).
type SubIntentStarted struct {
	SubIntent string   `json:"sub_intent"`
	IntentID  string   `json:"intent_id"`
	DependsOn []string `json:"depends_on"`
}

// SubIntentSkipped: a dependency was not approved (SUB_INTENT_SKIPPED).
type SubIntentSkipped struct {
	SubIntent string `json:"sub_intent"`
	Reason    string `json:"reason"`
}

// SubIntentDecided: a sub-intent ended (SUB_INTENT_DECIDED).
type SubIntentDecided struct {
	SubIntent     string         `json:"sub_intent"`
	IntentID      string         `json:"intent_id"`
	State         string         `json:"state"`
	Reason        string         `json:"reason"`
	Order         int            `json:"order"`
	DecisionState decision.State `json:"decision_state,omitempty"`
	DecidedBy     string         `json:"decided_by,omitempty"`
	PlanHash      string         `json:"plan_hash,omitempty"`
	CodeHash      string         `json:"code_hash,omitempty"`
}

// OperatorAction starts an operator's change to the context plane
// (INTENT_RECEIVED of the action's own trail).
type OperatorAction struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
	Action string `json:"action"`
}

// RegistryOverride is an operator's snapshot (REGISTRY_SNAPSHOT_COMMITTED).
type RegistryOverride struct {
	By              string                  `json:"by"`
	Reason          string                  `json:"reason"`
	VersionID       string                  `json:"version_id"`
	ParentVersionID string                  `json:"parent_version_id"`
	Datasets        []registry.DatasetState `json:"datasets"`
}

// ProjectionFailureResolved: an operator resolved a failed projection's I4
// marker (PROJECTION_FAILURE_RESOLVED).
type ProjectionFailureResolved struct {
	By       string `json:"by"`
	Reason   string `json:"reason"`
	IntentID string `json:"intent_id"`
}

// APICallRefused: the API refused a call (API_CALL_REFUSED, ADR 0117).
// Target is what the call named (intent:<id>), as the caller named it: it
// may not exist, and the caller was not told whether it does.
type APICallRefused struct {
	Procedure string `json:"procedure"`
	Code      string `json:"code"` // unauthenticated or permission_denied
	Target    string `json:"target,omitempty"`
}

// CancelRequested: a caller asked that IntentID be cancelled
// (INTENT_CANCEL_REQUESTED), with why.
type CancelRequested struct {
	IntentID string `json:"intent_id"`
	By       string `json:"by"`
	Reason   string `json:"reason"`
}

// SkillTransitionReceived starts a skill transition's own trail
// (INTENT_RECEIVED): which skill, the trigger asked for, by whom.
type SkillTransitionReceived struct {
	SkillID string        `json:"skill_id"`
	Trigger skill.Trigger `json:"trigger"`
	By      string        `json:"by"`
	Cause   string        `json:"cause,omitempty"`
}

// SkillTransition is one transition of a skill (SKILL_TRANSITION): seq in
// its history, from and to, the trigger, why, and the evidence it rests on.
type SkillTransition struct {
	SkillID  string          `json:"skill_id"`
	Seq      int64           `json:"seq"`
	From     skill.State     `json:"from_state"`
	To       skill.State     `json:"to_state"`
	Trigger  skill.Trigger   `json:"trigger"`
	Reason   string          `json:"reason"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
	Cause    string          `json:"cause,omitempty"`
}

// AccessRecorded is the receipt of one read or write of the context plane
// through the CLI or the API, outside any intent (ACCESS_RECORDED,
// MUST-005, docs/adr/0146): the trail's only event.
type AccessRecorded struct {
	// Via is how the context plane was reached: cli or api.
	Via string `json:"via"`
	// Operation is the CLI command ("registry show") or the API procedure.
	Operation string `json:"operation"`
	// Code is why a call failed or was refused (the CLI's error code, the
	// API's Connect code); empty when it succeeded.
	Code string `json:"code,omitempty"`
}

// EventType implementations: the event each payload is recorded as.
func (IntentReceived) EventType() string            { return audit.EventIntentReceived }
func (CompositeReceived) EventType() string         { return audit.EventIntentReceived }
func (SweepReceived) EventType() string             { return audit.EventIntentReceived }
func (EnvironmentConsulted) EventType() string      { return audit.EventEnvironmentConsulted }
func (SemanticResolution) EventType() string        { return audit.EventSemanticResolution }
func (ScopeCheck) EventType() string                { return audit.EventScopeCheck }
func (ConfirmationRequested) EventType() string     { return audit.EventConfirmationRequested }
func (HumanApproved) EventType() string             { return audit.EventHumanApproved }
func (HumanRejected) EventType() string             { return audit.EventHumanRejected }
func (ConfirmationCancelled) EventType() string     { return audit.EventConfirmationCancelled }
func (ConfirmationRefused) EventType() string       { return audit.EventConfirmationRefused }
func (SoftConfirmation) EventType() string          { return audit.EventSoftConfirmation }
func (HumanEscalationTimeout) EventType() string    { return audit.EventHumanEscalationTimeout }
func (SignatureGenerated) EventType() string        { return audit.EventSignatureGenerated }
func (PolicyApprove) EventType() string             { return audit.EventPolicyApprove }
func (PolicyReplan) EventType() string              { return audit.EventPolicyReplan }
func (PolicyBlock) EventType() string               { return audit.EventPolicyBlock }
func (MaxReplanAttemptsExceeded) EventType() string { return audit.EventMaxReplanExceeded }
func (PreCostEstimated) EventType() string          { return audit.EventPreCostEstimated }
func (PreCostReplan) EventType() string             { return audit.EventPreCostReplan }
func (PreCostReplanProposed) EventType() string     { return audit.EventPreCostReplan }
func (ExecutionPlanGenerated) EventType() string    { return audit.EventExecutionPlanned }
func (ExecutionPlanRefused) EventType() string      { return audit.EventPlanningFailed }
func (CodeGenerated) EventType() string             { return audit.EventCodeGenerated }
func (CodeGenerationRefused) EventType() string     { return audit.EventCodeGenerated }
func (CodeAnalysis) EventType() string              { return audit.EventCodeAnalysis }
func (ScopeQueued) EventType() string               { return audit.EventScopeQueued }
func (ScopeRejected) EventType() string             { return audit.EventScopeRejected }
func (ScopeAcquired) EventType() string             { return audit.EventScopeAcquired }
func (Revalidation) EventType() string              { return audit.EventRevalidation }
func (UnitExecuted) EventType() string              { return audit.EventUnitExecuted }
func (PartialExecution) EventType() string          { return audit.EventPartialExecution }
func (ReadExecuted) EventType() string              { return audit.EventReadExecuted }
func (PanicRollback) EventType() string             { return audit.EventPanicRollback }
func (EnvironmentProjected) EventType() string      { return audit.EventEnvironmentUpdate }
func (EnvironmentPublished) EventType() string      { return audit.EventEnvironmentUpdate }
func (ProjectionFailed) EventType() string          { return audit.EventEnvironmentUpdate }
func (PromotionEvaluation) EventType() string       { return audit.EventPromotionEvaluation }
func (Decision) EventType() string                  { return audit.EventDecision }
func (IntentCompleted) EventType() string           { return audit.EventIntentCompleted }
func (SweepCompleted) EventType() string            { return audit.EventIntentCompleted }
func (t TTLTransition) EventType() string           { return t.AuditEvent }
func (IntentGraphAccepted) EventType() string       { return audit.EventIntentGraphAccepted }
func (SubIntentStarted) EventType() string          { return audit.EventSubIntentStarted }
func (SubIntentSkipped) EventType() string          { return audit.EventSubIntentSkipped }
func (SubIntentDecided) EventType() string          { return audit.EventSubIntentDecided }
func (OperatorAction) EventType() string            { return audit.EventIntentReceived }
func (RegistryOverride) EventType() string          { return audit.EventRegistrySnapshot }
func (ProjectionFailureResolved) EventType() string { return audit.EventProjectionFailureResolved }
func (APICallRefused) EventType() string            { return audit.EventAPICallRefused }
func (CancelRequested) EventType() string           { return audit.EventCancelRequested }
func (SkillTransitionReceived) EventType() string   { return audit.EventIntentReceived }
func (SkillTransition) EventType() string           { return audit.EventSkillTransition }
func (StandingApprovalApplied) EventType() string   { return audit.EventHumanApproved }
func (StandingApprovalGranted) EventType() string   { return audit.EventStandingApprovalGranted }
func (ScheduleActionReceived) EventType() string    { return audit.EventIntentReceived }
func (ScheduleChanged) EventType() string           { return audit.EventScheduleChanged }
func (AccessRecorded) EventType() string            { return audit.EventAccessRecorded }
