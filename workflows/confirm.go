package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/signature"
)

// awaitHuman is the Confirmation Orchestrator's wait, for the semantic
// escalation (step 5) and the Pre-cost Estimator's (step 8): the question
// is recorded and shown in the Temporal UI, then an approve or reject
// signal races a named timer; the timeout blocks and notifies
// governance_team (fallback_on_timeout), a cancellation blocks as
// cancelled. An answer that does not let the intent go on stops the flow.
func (f *intentFlow) awaitHuman(mode confirmation.Mode, triggers []confirmation.Trigger, asked signature.Signature, reason string) (ConfirmationRecord, error) {
	timeout := DefaultEscalationTimeout
	if f.in.EscalationTimeoutSeconds > 0 {
		timeout = time.Duration(f.in.EscalationTimeoutSeconds) * time.Second
	}
	question := events.ConfirmationRequested{IntentID: f.id, Mode: mode, Triggers: triggers, Signature: asked, TimeoutSeconds: int(timeout / time.Second), Reason: reason}
	f.status.Stage = StageConfirmation
	var esc activities.Escalation
	if err := f.apply(f.local(StageConfirmation, a.OpenEscalation, &esc, activities.EscalationInput{
		Question: question, Approve: SignalApprove, Reject: SignalReject,
	})); err != nil {
		return ConfirmationRecord{}, err
	}
	f.status.Pending = &PendingEscalation{ConfirmationRequested: question, Deadline: esc.Deadline}
	workflow.SetCurrentDetails(f.ctx, esc.Details)

	// The deadline counts from when the question was recorded (a retried
	// workflow task does not move it).
	deadline := esc.Deadline
	answer := activities.Answer{Mode: mode, Triggers: triggers, Deadline: deadline, Timeout: timeout}
	timerCtx, cancelTimer := workflow.WithCancel(f.ctx)
	timer := workflow.NewTimerWithOptions(timerCtx, max(deadline.Sub(workflow.Now(f.ctx)), time.Millisecond), workflow.TimerOptions{Summary: EscalationTimerName})
	approveCh := workflow.GetSignalChannel(f.ctx, SignalApprove)
	rejectCh := workflow.GetSignalChannel(f.ctx, SignalReject)
	// A confirmation answers a question that was asked: signals sent before
	// this escalation opened are discarded, not applied to it.
	for _, ch := range []workflow.ReceiveChannel{approveCh, rejectCh} {
		var stale ConfirmationSignal
		for ch.ReceiveAsync(&stale) {
			workflow.GetLogger(f.ctx).Warn("discarded a confirmation signal sent before the escalation opened", "intent_id", f.id, "by", stale.By)
		}
	}
	var sig ConfirmationSignal
	sel := workflow.NewSelector(f.ctx)
	sel.AddReceive(approveCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(f.ctx, &sig)
		answer.Outcome = ConfirmationApproved
	})
	sel.AddReceive(rejectCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(f.ctx, &sig)
		answer.Outcome = ConfirmationRejected
	})
	sel.AddFuture(timer, func(workflow.Future) { answer.Outcome = ConfirmationTimeout })
	sel.Select(f.ctx)
	cancelTimer()
	if f.ctx.Err() != nil {
		// Cancelled while waiting (the timer was cancelled with the
		// workflow): no one timed out. The decision and the end event are
		// still recorded (I5), on a context the cancellation does not reach.
		f.ctx, _ = workflow.NewDisconnectedContext(f.ctx)
		answer.Outcome = ConfirmationCancelled
	}
	f.status.Pending = nil
	workflow.SetCurrentDetails(f.ctx, "")
	answer.By, answer.Reason = sig.By, sig.Reason
	if answer.Outcome == ConfirmationTimeout {
		n := activities.Notification{
			Notify: confirmation.TimeoutNotify, IntentID: f.id, CorrelationID: f.corr, Reason: confirmation.ReasonTimeout,
			AuditEvent: audit.EventHumanEscalationTimeout, Mode: string(mode), Triggers: triggers, Deadline: deadline,
		}
		if err := workflow.ExecuteActivity(f.ctx, a.NotifyGovernance, n).Get(f.ctx, nil); err != nil {
			// A lost notification must not keep the intent open: the audit
			// event is the durable record.
			workflow.GetLogger(f.ctx).Error("governance notification failed", "intent_id", f.id, "error", err)
		}
	}
	var ans activities.Answered
	if err := f.apply(f.local(StageConfirmation, a.CloseEscalation, &ans, answer)); err != nil {
		return ConfirmationRecord{}, err
	}
	return ans.Record, nil
}
