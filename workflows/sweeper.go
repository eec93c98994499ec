package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit"
)

// TTLSweeperWorkflowName is the registered name of the TTL sweeper.
const TTLSweeperWorkflowName = "TTLSweeperWorkflow"

// TTLScheduleID is the Temporal Schedule that runs the sweeper.
const TTLScheduleID = "cfa-ttl-sweeper"

// StageTTL reports the sweeper in QueryStatus and the audit.
const StageTTL = "ttl_policy"

// TTLSweeperWorkflow runs one sweep of the TTL and Obsolete State Policy
// (5.9) at workflow time, audits each transition and notifies the
// governance team of each escalation to manual review.
func TTLSweeperWorkflow(ctx workflow.Context) (activities.Swept, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	ctx = workflow.WithActivityOptions(ctx, remoteOptions())
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	r := &intentRun{ctx: ctx, id: id, in: IntentInput{SubmittedBy: "ttl-sweeper"}}
	r.result = IntentResult{IntentID: id, CorrelationID: id}
	r.status = Status{IntentID: id, Stage: StageReceived}
	var out activities.Swept
	if err := r.registerQueries(); err != nil {
		return out, err
	}
	now := workflow.Now(ctx).UTC()
	if err := r.audit(audit.EventIntentReceived, StageTTL, "received", system(), audit.ActionInvoke, []string{"ttl_policy"}, map[string]any{"now": now}); err != nil {
		return out, err
	}
	if err := r.local(a.SweepTTL, &out, activities.SweepInput{SweepID: id, Now: now}); err != nil {
		return out, err
	}
	for _, t := range out.Transitions {
		if err := r.audit(t.AuditEvent, StageTTL, string(t.Action), system(), audit.ActionWrite, []string{"dataset:" + t.Dataset}, t); err != nil {
			return out, err
		}
		r.done(StageTTL, fmt.Sprintf("%s: %s (%s since %s)", t.Dataset, t.Action, t.From, t.Since.Format("2006-01-02")))
		if t.Notify {
			n := activities.Notification{Notify: "governance_team", IntentID: id, CorrelationID: id, Reason: string(t.Action) + ": " + t.Dataset, AuditEvent: t.AuditEvent}
			if err := workflow.ExecuteActivity(ctx, a.NotifyGovernance, n).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Error("governance notification failed", "sweep_id", id, "error", err)
			}
		}
	}
	outcome := "no_expiry"
	if len(out.Transitions) > 0 {
		outcome = fmt.Sprintf("%d_transitions", len(out.Transitions))
	}
	if err := r.audit(audit.EventIntentCompleted, StageTTL, outcome, system(), audit.ActionWrite, []string{"ttl_policy"}, out); err != nil {
		return out, err
	}
	r.done(StageCompleted, outcome)
	return out, nil
}
