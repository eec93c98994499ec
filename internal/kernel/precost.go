package kernel

import (
	"context"

	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/precost"
)

// PreCost is the Pre-cost Estimator's estimate and threshold verdict.
type PreCost struct {
	Estimate precost.Estimate `json:"estimate"`
	Verdict  precost.Verdict  `json:"verdict"`
}

// CostEstimator is execution_planner.pre_cost_estimator_backend: the
// shipped model, a plug-in, or, in a replay, the estimate recorded.
type CostEstimator interface {
	Name() string
	Estimate(ctx context.Context, in precost.Input) (precost.Estimate, error)
}

// EstimatePreCost asks the backend for the estimate and applies the
// whitepaper's threshold_policy to it (step 8). The backend's error is
// returned as it is (precost.ErrInvalidInput when the input cannot be
// priced).
func EstimatePreCost(ctx context.Context, est CostEstimator, in precost.Input) (PreCost, error) {
	e, err := est.Estimate(ctx, in)
	if err != nil {
		return PreCost{}, err
	}
	return PreCost{Estimate: e, Verdict: precost.Evaluate(e, in.CostCeilingDBU)}, nil
}

// PreCostVote is what a verdict casts: the estimator approves a spend the
// flow proceeds with or escalates (a human who does not approve it adds
// the Confirmation Orchestrator's block); a forced replan casts nothing
// (the replan's governance votes); any other verdict blocks and stops the
// flow.
func PreCostVote(v precost.Verdict) (vote decision.Vote, stop bool) {
	switch v.Action {
	case precost.ActionProceed, precost.ActionEscalate:
		return decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Approved, Reason: v.Reason}, false
	case precost.ActionForceReplanWithFilter:
		return decision.Vote{}, false
	}
	return precost.BlockVote(v), true
}

// PreCostRecord is the PRE_COST_ESTIMATED event of an estimate; backend
// names a pre_cost_estimator_backend that is not the shipped one ("" for
// the shipped model).
func PreCostRecord(pc PreCost, backend string) events.PreCostEstimated {
	e, v := pc.Estimate, pc.Verdict
	rec := events.PreCostEstimated{
		EstimatedDBU: e.EstimatedDBU, EstimatedShuffleGB: e.EstimatedShuffleGB, CostRiskScore: e.CostRiskScore,
		Confidence: e.Confidence, Basis: e.Basis, HistoryRuns: e.HistoryRuns, CostCeilingDBU: v.CostCeilingDBU,
		Action: v.Action, Reason: v.Reason, Intervention: v.Intervention, Fault: v.Fault, Backend: backend,
	}
	if backend != "" {
		rec.BackendEstimate = &e
	}
	return rec
}
