// Package fault implements the CFA v2 Fault Model (whitepaper 5.13): errors
// are governed events with a family, a detection stage and a mandatory action.
package fault

// Family is one of the four fault families of whitepaper 5.13.
type Family string

// The closed set of fault families.
const (
	SemanticFaults          Family = "semantic_faults"           // Policy Engine: governance, finops, contract
	StaticSafetyFaults      Family = "static_safety_faults"      // Static Validation
	RuntimeBehavioralFaults Family = "runtime_behavioral_faults" // Runtime Validation
	EnvironmentalFaults     Family = "environmental_faults"      // Sandbox Monitor → Panic Rollback
)

// Severity orders how serious a fault is.
type Severity string

// Severities, lowest to highest.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank gives severities a total order for comparisons (unknown = 0).
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Valid reports whether s is one of the declared severities.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// Stage names where a fault was detected (the component names of section 7).
type Stage string

// Stages of the governed flow that can raise faults.
const (
	StageIntentNormalizer      Stage = "intent_normalizer"
	StageConfirmation          Stage = "confirmation_orchestrator"
	StagePolicyEngine          Stage = "policy_engine"
	StagePreCostEstimator      Stage = "pre_cost_estimator"
	StageExecutionPlanner      Stage = "execution_planner"
	StageStaticValidation      Stage = "static_validation"
	StageRevalidation          Stage = "pre_execution_revalidation"
	StageExecution             Stage = "execution"
	StageRuntimeValidation     Stage = "runtime_validation"
	StagePartialExecutionState Stage = "partial_execution_state"
	StageStateProjection       Stage = "state_projection"
	StageDecisionEngine        Stage = "decision_engine"
)

// Fault is the error_signature of whitepaper 5.13.
type Fault struct {
	Code                    string   `json:"code" yaml:"code"`
	Family                  Family   `json:"family" yaml:"family"`
	Severity                Severity `json:"severity" yaml:"severity"`
	Stage                   Stage    `json:"stage" yaml:"stage"`
	DetectedBeforeExecution bool     `json:"detected_before_execution" yaml:"detected_before_execution"`
	MandatoryAction         string   `json:"mandatory_action" yaml:"mandatory_action"`
	Remediation             []string `json:"remediation,omitempty" yaml:"remediation,omitempty"`
	// Rule names the policy rule (or check) that raised the fault, when any.
	Rule string `json:"rule,omitempty" yaml:"rule,omitempty"`
	// Message is a human sentence saying what was found.
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
}

// Fault codes raised outside policy bundles (bundles declare their own codes).
const (
	CodeIntentUnresolved          = "INTENT_UNRESOLVED"
	CodeHumanEscalationTimeout    = "HUMAN_ESCALATION_TIMEOUT"
	CodeHumanConfirmationRejected = "HUMAN_CONFIRMATION_REJECTED"
	CodeIntentCancelled           = "INTENT_CANCELLED"
	CodeMaxReplanAttemptsExceeded = "MAX_REPLAN_ATTEMPTS_EXCEEDED"
	CodeContextStateStale         = "CONTEXT_STATE_STALE"
	CodeEnvironmentStateUncertain = "ENVIRONMENT_STATE_UNCERTAIN"
	CodePreCostCeilingExceeded    = "PRE_COST_CEILING_EXCEEDED"
	CodePanicRollbackTriggered    = "PANIC_ROLLBACK_TRIGGERED"
	// CodePlanConstraintViolated: no governed plan satisfies the approved
	// signature (an Execution Planner refusal, whitepaper 5.5).
	CodePlanConstraintViolated = "PLAN_CONSTRAINT_VIOLATED"
	// CodeIntentGraphInvalid: a composite intent's graph has a cycle, a
	// dangling dependency or another structural problem (whitepaper 5.4).
	CodeIntentGraphInvalid = "INTENT_GRAPH_INVALID"
	// CodeScopeLockConflict: conflict_resolution reject found the target
	// scope held or queued for (section 10).
	CodeScopeLockConflict = "SCOPE_LOCK_CONFLICT"
	// CodeExecutionUnitFailed: a unit could not run at all (its retries
	// exhausted on an infrastructure error).
	CodeExecutionUnitFailed = "EXECUTION_UNIT_FAILED"
	// CodeContractPublishPartiallyCommitted is the bundle's I7 code, used
	// when a publish meets a registry that changed after the policy check.
	CodeContractPublishPartiallyCommitted = "CONTRACT_PUBLISH_PARTIALLY_COMMITTED"
	// CodeCodeGenerationRefused: the generator refused the plan.
	CodeCodeGenerationRefused = "CODE_GENERATION_REFUSED"
	// CodeOutsideSignature: a plan, or the code generated from it, reads,
	// joins or writes outside what the approved signature signed (a wider
	// window, another target, join key, merge key or column): a Static
	// Safety Fault (docs/adr/0112).
	CodeOutsideSignature = "STATIC_OUTSIDE_SIGNATURE"
	// CodeStageInterrupted: a stage could not complete (its retries ran
	// out on an infrastructure error, or its audit record conflicts); the
	// intent is blocked with nothing projected (docs/adr/0110).
	CodeStageInterrupted = "STAGE_INTERRUPTED"
)
