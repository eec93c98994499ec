package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

// executed is what step 18 needs of an execution, gathered on its way.
type executed struct {
	signed    activities.Signed
	plan      planner.ExecutionPlan
	codeHash  string
	shape     string // the promotion unit; computed here when empty
	units     int
	attempts  int      // over every unit
	committed []string // the units committed into the target
	critical  bool
	runtime   *runtimevalidation.Report
}

// decideExecuted is decide for an intent whose units ran: the Decision
// Engine (17), then the Promotion Engine's evaluation of the skill (18),
// which labels an approved execution promotion_candidate when the gate
// holds, then the audit (19). A failed evaluation leaves the decision as
// it is: the label is evidence, not a gate on the data already projected.
func (r *intentRun) decideExecuted(in decision.Input, ex executed) (IntentResult, error) {
	if workflow.GetVersion(r.ctx, ChangeLifecycleEvaluation, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return r.decide(in)
	}
	if err := r.releaseHeldScope(); err != nil {
		return r.result, err
	}
	var d decision.Decision
	if err := r.local(a.Decide, &d, in); err != nil {
		return r.result, err
	}
	if ex.shape == "" {
		if err := r.local(a.ShapeHash, &ex.shape, ex.signed.Signature); err != nil {
			return r.result, err
		}
	}
	var stale int
	if r.result.Execution != nil {
		stale = r.result.Execution.StaleReplans
	}
	var ev lifecycle.Evaluation
	if err := r.local(a.EvaluatePromotion, &ev, activities.PromotionInput{
		IntentID: r.id, Signature: ex.signed.Signature, ShapeHash: ex.shape, Plan: ex.plan, CodeHash: ex.codeHash,
		DecidedAt: workflow.Now(r.ctx).UTC(), Decision: d, DriftReplans: stale + r.costReplans,
		Units: ex.units, Attempts: ex.attempts, Committed: ex.committed, CommittedUnits: len(ex.committed),
		CriticalFailure: ex.critical, Runtime: ex.runtime,
	}); err != nil {
		workflow.GetLogger(r.ctx).Error("promotion evaluation failed; the decision stands without it", "intent_id", r.id, "error", err)
		r.done(StagePromotion, "evaluation failed: "+err.Error())
		return r.record(d)
	}
	r.result.Promotion = &ev
	if err := r.audit(audit.EventPromotionEvaluation, StagePromotion, ev.Outcome, system(), audit.ActionInvoke, []string{"skill:" + ev.PromotionUnit}, ev); err != nil {
		return r.result, err
	}
	r.done(StagePromotion, fmt.Sprintf("%s (%s): IFo %.2f, IFs %.2f, IFg %.0f, IDI %.2f over %d executions (%d successful) in %s",
		ev.Outcome, ev.Reason, ev.IFo, ev.IFs, ev.IFg, ev.IDI, ev.Executions, ev.SuccessfulExecutions, ev.Window))
	if s := ev.State(d.State); s != d.State {
		d.State, d.DecidedBy = s, StagePromotion
		th := lifecycle.DefaultPolicy().Thresholds // the policy EvaluatePromotion applies
		d.Reason = fmt.Sprintf("%s: IFo %.2f >= %.2f, IFs %.2f >= %.2f, IFg %.0f over %d successful executions in %s",
			ev.Reason, ev.IFo, th.IFo, ev.IFs, th.IFs, ev.IFg, ev.SuccessfulExecutions, ev.Window)
	}
	return r.record(d)
}
