// Package precost implements the Pre-cost Estimator of whitepaper 5.5:
//
//	"The FinOps Guard blocks excessive cost after the Policy Engine
//	evaluates the Signature. The Pre-cost Estimator anticipates that
//	evaluation — it estimates cost before the Signature is approved, using
//	execution history for the same intent_signature_hash. This closes the
//	gap between "estimated cost" and "real cost" with an automatic
//	feedback loop."
//
//	pre_cost_estimator:
//	  inputs:
//	    - signature
//	    - context_registry.environment_state
//	    - execution_history_by_signature_hash # last 30 days
//	  outputs:
//	    estimated_dbu: float
//	    estimated_shuffle_gb: float
//	    cost_risk_score: float # [0.0 - 1.0]
//	    confidence: float # based on N historical executions
//	  threshold_policy:
//	    - if estimated_dbu > cost_ceiling_dbu:
//	        action: force_replan_with_filter
//	        reason: PRE_COST_CEILING_EXCEEDED
//	    - if estimated_dbu > cost_ceiling_dbu * 0.8:
//	        action: escalate_to_confirmation_orchestrator
//	        mode: human_escalation
//	  feedback_loop:
//	    update_on: post_execution
//	    key: intent_signature_hash
//	    window: last_30_days
//	    model: rolling_weighted_average
//
// and 5.7 runtime_metrics: "cost_ceiling_dbu: 50".
//
// The cost unit, for the Postgres backend: 1 DBU is the work of reading
// 64 GiB sequentially on the reference worker. Each GiB is weighted by what
// is done to it — scan 1, sha256 anonymisation 0.5, shuffle (a hash or sort
// node: non-broadcast join, aggregate, dedupe) 4, partition-overwrite write
// 2, MERGE write 3 — and a temporal filter on a dataset's partition key
// reads days/span of it (span: 365 days unless declared). Sides of a join
// scanned below 1 GiB are broadcast and shuffle nothing. docs/adr/0050
// gives the derivation and the whitepaper example's figures.
//
// EstimateCost prices a signature (Model, Shape.Price) and blends it with the
// runs of the same hash in the last 30 days, weighted by recency
// (docs/adr/0051). Evaluate applies threshold_policy and, over the ceiling,
// computes the add_temporal_filter hint that fits (docs/adr/0052).
//
// Everything is pure: no clock (Input.Now), no SQL, no Temporal; the same
// Input gives the same Estimate bit for bit.
package precost
