package precost

import (
	"fmt"
	"math"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/fault"
)

// Threshold policy parameters (5.5 threshold_policy, 5.7 cost_ceiling_dbu).
const (
	// DefaultCostCeilingDBU is the whitepaper's cost_ceiling_dbu (5.7).
	DefaultCostCeilingDBU = 50
	// EscalationFraction: an estimate above this share of the ceiling
	// escalates to human_escalation (5.1b, 5.5).
	EscalationFraction = 0.8
	// MaxFilterDays is the widest last_days policy.Apply accepts for
	// add_temporal_filter; a hint never exceeds it.
	MaxFilterDays = 3660
)

// Action is the threshold_policy outcome.
type Action string

// Actions of threshold_policy, plus proceed and block.
const (
	ActionProceed               Action = "proceed"
	ActionEscalate              Action = "escalate_to_confirmation_orchestrator"
	ActionForceReplanWithFilter Action = "force_replan_with_filter"
	// ActionBlock: over the ceiling and no temporal filter can bring the
	// estimate under it (or the ceiling itself is invalid).
	ActionBlock Action = "block"
)

// Reasons a Verdict carries.
const (
	ReasonWithinBudget    = "within_budget"
	ReasonNearCeiling     = "estimated_dbu > cost_ceiling_dbu * 0.8"
	ReasonCeilingExceeded = "PRE_COST_CEILING_EXCEEDED"
)

// Mandatory actions written into the fault.
const (
	MandatoryReplan = "replan"
	MandatoryBlock  = "block"
)

// OpAddTemporalFilter names the intervention of a filter hint; it is
// policy.OpAddTemporalFilter, so the hint feeds policy.Apply unchanged.
const OpAddTemporalFilter = "add_temporal_filter"

// Intervention is the replan a force_replan_with_filter verdict asks for:
// policy.Intervention{Op: Op, LastDays: LastDays}, on Column.
type Intervention struct {
	Op       string `json:"op"`
	Column   string `json:"column"`
	LastDays int    `json:"last_days"`
}

// Verdict is the threshold_policy decision on one Estimate.
type Verdict struct {
	Action Action `json:"action"`
	// Reason is a sentence for the audit and the approver.
	Reason string `json:"reason"`
	// Escalate is true when the Confirmation Orchestrator must run in
	// human_escalation: feed EstimatedDBU and CostCeilingDBU into
	// confirmation.Input.EstimatedCost and CostCeilingDBU.
	Escalate       bool              `json:"escalate,omitempty"`
	Mode           confirmation.Mode `json:"mode,omitempty"` // human_escalation when Escalate
	EstimatedDBU   float64           `json:"estimated_dbu"`
	CostCeilingDBU float64           `json:"cost_ceiling_dbu"`
	// Fault is PRE_COST_CEILING_EXCEEDED on replan and block.
	Fault *fault.Fault `json:"fault,omitempty"`
	// Intervention is the filter hint on force_replan_with_filter.
	Intervention *Intervention `json:"intervention,omitempty"`
	// HintEstimatedDBU is the estimate with the hint applied.
	HintEstimatedDBU float64 `json:"hint_estimated_dbu,omitempty"`
}

// Evaluate applies threshold_policy to an estimate: above the ceiling,
// force a replan with a temporal filter narrow enough to fit (or block if
// even one day does not); above 80% of it, escalate to human_escalation;
// otherwise proceed. ceiling 0 means DefaultCostCeilingDBU; a negative or
// non-finite ceiling, or an estimate that is not a number, blocks.
func Evaluate(e Estimate, ceiling float64) Verdict {
	c, err := ceilingOrDefault(ceiling)
	if err != nil {
		return Verdict{Action: ActionBlock, Reason: err.Error(), EstimatedDBU: e.EstimatedDBU, CostCeilingDBU: ceiling}
	}
	v := Verdict{EstimatedDBU: e.EstimatedDBU, CostCeilingDBU: c}
	switch dbu := e.EstimatedDBU; {
	case math.IsNaN(dbu) || math.IsInf(dbu, 0) || dbu < 0:
		v.Action, v.Reason = ActionBlock, fmt.Sprintf("estimated_dbu is %v: the estimate is unusable, re-run the Pre-cost Estimator", dbu)
	case dbu > c:
		overCeiling(&v, e, c)
	case dbu > c*EscalationFraction:
		v.Action, v.Escalate, v.Mode = ActionEscalate, true, confirmation.ModeHumanEscalation
		v.Reason = fmt.Sprintf("%s: %.2f DBU is above %.2f (80%% of the %.2f DBU ceiling); a human confirms the spend", ReasonNearCeiling, dbu, c*EscalationFraction, c)
	default:
		v.Action = ActionProceed
		v.Reason = fmt.Sprintf("%s: %.2f DBU of a %.2f DBU ceiling", ReasonWithinBudget, dbu, c)
	}
	return v
}

// overCeiling fills a replan with the widest filter that fits, or a block.
func overCeiling(v *Verdict, e Estimate, c float64) {
	s := e.Shape
	over := fmt.Sprintf("%s: estimated_dbu %.2f > cost_ceiling_dbu %.2f", ReasonCeilingExceeded, e.EstimatedDBU, c)
	maxSpan, ok := s.filterable()
	if !ok {
		why := "no source is partitioned, so a temporal filter cannot reduce the scan"
		if s.FilterColumn != "" && s.FilterDays > 0 {
			why = fmt.Sprintf("the temporal filter is on %q, which partitions no source", s.FilterColumn)
		}
		block(v, over+": "+why, "Split the intent, pre-aggregate the sources, or raise cost_ceiling_dbu through the FinOps owner")
		return
	}
	// History that ran above the model says the model underestimates this
	// intent; the filtered replan has no history of its own, so carry the
	// ratio over. History below the model never widens the hint.
	ratio := 1.0
	if e.Model.DBU > 0 && e.EstimatedDBU > e.Model.DBU {
		ratio = e.EstimatedDBU / e.Model.DBU
	}
	cost := func(days int) float64 { return s.Price(days).DBU * ratio }
	hi := maxSpan // at the span a filter reads everything: the unfiltered cost
	if s.FilterDays > 0 && s.FilterDays < hi {
		hi = s.FilterDays
	}
	hi = min(hi, MaxFilterDays+1)
	if cost(1) > c {
		block(v, fmt.Sprintf("%s, and even a 1-day temporal filter on %s is estimated at %.2f DBU", over, s.FilterColumn, cost(1)),
			"Split the intent into smaller ones, or raise cost_ceiling_dbu through the FinOps owner")
		return
	}
	// Largest days in [1, hi) that fit: Price is non-decreasing in days.
	lo, top := 1, hi-1
	for lo < top {
		mid := lo + (top-lo+1)/2
		if cost(mid) <= c {
			lo = mid
		} else {
			top = mid - 1
		}
	}
	v.Action = ActionForceReplanWithFilter
	v.Intervention = &Intervention{Op: OpAddTemporalFilter, Column: s.FilterColumn, LastDays: lo}
	v.HintEstimatedDBU = cost(lo)
	v.Reason = fmt.Sprintf("%s: replan with a temporal filter of the last %d days on %s (estimated %.2f DBU)", over, lo, s.FilterColumn, v.HintEstimatedDBU)
	v.Fault = ceilingFault(MandatoryReplan, fault.SeverityHigh, v.Reason,
		fmt.Sprintf("Apply a temporal filter of at most the last %d days on %s", lo, s.FilterColumn))
}

func block(v *Verdict, reason, remediation string) {
	v.Action, v.Reason = ActionBlock, reason
	v.Fault = ceilingFault(MandatoryBlock, fault.SeverityCritical, reason, remediation)
}

func ceilingFault(action string, sev fault.Severity, msg, remediation string) *fault.Fault {
	return &fault.Fault{
		Code:                    fault.CodePreCostCeilingExceeded,
		Family:                  fault.SemanticFaults,
		Severity:                sev,
		Stage:                   fault.StagePreCostEstimator,
		DetectedBeforeExecution: true,
		MandatoryAction:         action,
		Remediation:             []string{remediation},
		Rule:                    "threshold_policy: estimated_dbu > cost_ceiling_dbu",
		Message:                 msg,
	}
}
