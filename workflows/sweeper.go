package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/confirmation"
)

// TTLSweeperWorkflow runs one sweep of the TTL and Obsolete State Policy
// (5.9) at workflow time, audits each transition and notifies the
// governance team of each escalation to manual review.
func TTLSweeperWorkflow(ctx workflow.Context) (activities.Swept, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	ctx = workflow.WithActivityOptions(ctx, remoteOptions())
	j := newJournal(ctx, "")
	var out activities.Swept
	if err := j.registerQueries(); err != nil {
		return out, err
	}
	var started activities.Started
	if _, err := j.local(StageTTL, a.StartSweep, &started, nil); err != nil {
		return out, err
	}
	if _, err := j.local(StageTTL, a.SweepTTL, &out, started.Now); err != nil {
		return out, err
	}
	if _, err := j.local(StageTTL, a.RecordSweep, &activities.Stage{}, out); err != nil {
		return out, err
	}
	for _, t := range out.Transitions {
		if !t.Notify {
			continue
		}
		n := activities.Notification{Notify: confirmation.TimeoutNotify, IntentID: j.id, CorrelationID: j.corr, Reason: string(t.Action) + ": " + t.Dataset, AuditEvent: t.AuditEvent}
		if err := workflow.ExecuteActivity(ctx, a.NotifyGovernance, n).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("governance notification failed", "sweep_id", j.id, "error", err)
		}
	}
	if _, err := j.local(StageCompleted, a.CompleteSweep, &activities.Stage{}, out); err != nil {
		return out, err
	}
	return out, nil
}
