// Package kernel is the decision logic of the governed flow's stages, from
// step 1 to step 10 and the partial failure policy of step 15: what each
// stage activity decides from its inputs, with no audit, no store and no
// clock. The stage activities (activities/) call it and keep their side
// effects around it; the replay (internal/replay) calls the same functions
// with the recorded inputs, so there is one implementation to reproduce,
// not two that could drift apart.
//
// Whitepaper section 6, I8:
//
//	"Every execution must be reproducible with exactly the same results
//	from the same inputs: user_intent + context_registry.version_id +
//	policy_bundle_version + catalog_snapshot_version."
//
// and section 11, Phase 1: "Kernel without execution: Intent Normalizer +
// State Signature + Policy Engine. Decision system. Evaluates intents; does
// not execute."
//
// Whatever the flow asks outside itself (the extension points of whitepaper
// section 9, a human, the cost history) comes in through a small interface
// (Normalizer, Compliance, CostEstimator): the activities answer it live,
// the replay with the answers the audit trail recorded.
package kernel
