package precost

import (
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// BlockVote is the Pre-cost Estimator's vote for a verdict that lets the
// intent neither proceed, escalate nor replan: blocked with the verdict's
// fault, PRE_COST_CEILING_EXCEEDED when it carries none.
func BlockVote(v Verdict) decision.Vote {
	f := fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
		Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "block", Message: v.Reason}
	if v.Fault != nil {
		f = *v.Fault
	}
	return decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Blocked, Reason: v.Reason, Faults: []fault.Fault{f}}
}
