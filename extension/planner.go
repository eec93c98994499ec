package extension

import "context"

// CostEstimator is execution_planner.pre_cost_estimator_backend: a
// cost-estimation backend (AQE, a warehouse's own estimate, history).
//
// CFA gives it the signature, the catalog, the registry snapshot, the runs
// of the same intent shape in the last 30 days and the ceiling in force; it
// returns estimated_dbu, estimated_shuffle_gb, cost_risk_score and
// confidence.
//
// The core applies the whitepaper's threshold_policy to the estimate
// (above the ceiling: replan with a filter; above 80 %: human escalation),
// records the estimate with the backend's name, and feeds the real cost of
// every execution back into the history the backend is given next time.
type CostEstimator interface {
	Name() string
	Estimate(ctx context.Context, in CostInput) (CostEstimate, error)
}

// Templates is execution_planner.custom_template_library: code generation
// backends (Spark, SQL dialects, dbt) beside the shipped ones.
//
// CFA gives each backend the approved plan and the catalog; a backend
// returns its files, deterministic for the same plan (I8).
//
// The core always generates the Postgres artifact: it is the code the
// sandbox runs and Static Validation analyses. Every other backend's
// artifact is generated from the same plan and recorded with its hash in
// the CODE_GENERATED event and `cfa code`; a backend that refuses the plan
// blocks the intent (CODE_GENERATION_REFUSED).
type Templates interface {
	Backends() []Backend
}
