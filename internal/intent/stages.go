package intent

// Stage names, in flow order (whitepaper section 7): what `cfa status`
// reports, and the stage of every audit event.
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
	// StageComposite reports a composite intent's sub-intent schedule.
	StageComposite = "composite_intent"
	// StageTTL reports the TTL sweeper.
	StageTTL = "ttl_policy"
)
