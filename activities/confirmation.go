package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/intent"
)

// EscalationInput opens a human escalation of the Confirmation
// Orchestrator (step 5, or the Pre-cost Estimator's at step 8): the
// question, and the signal names an approver answers with.
type EscalationInput struct {
	Question        events.ConfirmationRequested `json:"question"`
	Approve, Reject string
	// Submitter is who submitted the intent (separation of duties).
	Submitter string `json:"submitter,omitempty"`
}

// Escalation is an open escalation: what the Temporal UI shows an approver.
type Escalation struct {
	Stage
	Details string `json:"details"`
	// Deadline is when the escalation times out: the question's recorded
	// time plus its timeout.
	Deadline time.Time `json:"deadline"`
	// Allowed is who may answer, from the policy bundle (ADR 0115).
	Allowed confirmation.Allowed `json:"allowed"`
}

// OpenEscalation records the question (CONFIRMATION_REQUESTED) and says
// how to answer it.
func (a *Activities) OpenEscalation(ctx context.Context, st Step, in EscalationInput) (Escalation, error) {
	q := in.Question
	t := newTrail(st)
	t.add(intent.StageConfirmation, "pending", audit.ActionInvoke, datasetTargets(q.Signature.DatasetNames()), q)
	out := Escalation{}
	if err := a.finish(ctx, t, &out.Stage); err != nil {
		return out, err
	}
	// The deadline counts from the time the question was first recorded,
	// which a retry of this stage at a later workflow time keeps.
	asked := t.receipts[0].Timestamp
	if st.At.Truncate(time.Microsecond).Equal(asked) {
		asked = st.At // recorded now: the workflow's own time, to the nanosecond
	}
	out.Deadline = asked.Add(time.Duration(q.TimeoutSeconds) * time.Second).UTC()
	out.Allowed = a.Bundle.Approvers.For(q.Triggers, in.Submitter)
	who := strings.Join(out.Allowed.Approvers, ", ")
	if who == "" {
		who = "nobody is declared for these triggers (policy bundle confirmation.approvers)"
	}
	out.Details = fmt.Sprintf(
		"**%s confirmation required** for intent `%s`\n\nTriggers: %s\n\n%s\n\nDeadline: %s\n\nMay answer: %s\n\nSend signal `%s` or `%s` with `{\"by\": \"<name>\", \"reason\": \"<why>\"}`.",
		q.Mode, q.IntentID, joinTriggers(q.Triggers), q.Reason, out.Deadline.Format(time.RFC3339), who, in.Approve, in.Reject)
	a.log(st.IntentID, intent.StageConfirmation).Info("escalation opened",
		zap.String("mode", string(q.Mode)), zap.Strings("triggers", triggerStrings(q.Triggers)),
		zap.Time("deadline", out.Deadline), zap.Strings("approvers", out.Allowed.Approvers))
	return out, nil
}

// RefusalInput is an answer the workflow did not take.
type RefusalInput = events.ConfirmationRefused

// Refused is the record of a refusal.
type Refused struct{ Stage }

// RefuseConfirmation records an answer that was not taken
// (CONFIRMATION_REFUSED) as the system's observation: who it claimed to be
// from is a claim, not an actor. The escalation stays open.
func (a *Activities) RefuseConfirmation(ctx context.Context, st Step, in RefusalInput) (Refused, error) {
	t := newTrail(st)
	t.add(intent.StageConfirmation, "refused", audit.ActionInvoke, nil, in)
	out := Refused{}
	out.Summary = fmt.Sprintf("%s refused (%s): %s", in.Answer, in.Code, in.Reason)
	a.log(st.IntentID, intent.StageConfirmation).Warn("escalation answer refused",
		zap.String("answer", in.Answer), zap.String("via", in.Via), zap.String("claimed_by", in.ClaimedBy),
		zap.String("code", in.Code), zap.String("reason", in.Reason))
	return out, a.finish(ctx, t, &out.Stage)
}

// Answer is how an escalation ended, as the workflow saw it.
type Answer struct {
	Mode     confirmation.Mode      `json:"confirmation_mode"`
	Triggers []confirmation.Trigger `json:"triggers"`
	Outcome  confirmation.Outcome   `json:"outcome"` // approved, rejected, timeout or cancelled
	By       string                 `json:"by,omitempty"`
	Reason   string                 `json:"reason,omitempty"`
	Deadline time.Time              `json:"deadline"`
	Timeout  time.Duration          `json:"timeout"`
	// PrincipalType and AuthContext are the answer's, when the API sent
	// it (confirmation.Answer).
	PrincipalType string `json:"principal_type,omitempty"`
	AuthContext   string `json:"auth_context,omitempty"`
	// StandingFor is set when the approval was given as standing (a Go
	// duration); the workflow records the grant next (ADR 0125).
	StandingFor string `json:"standing_for,omitempty"`
}

// Answered is the confirmation's record and, when it does not let the
// intent go on, the Confirmation Orchestrator's vote.
type Answered struct {
	Stage
	Record confirmation.Record `json:"record"`
}

// CloseEscalation records the answer: approved or rejected by a human, or
// the fallback_on_timeout (block, notify governance_team), or a
// cancellation while waiting (blocked as cancelled, not as a timeout).
func (a *Activities) CloseEscalation(ctx context.Context, st Step, in Answer) (Answered, error) {
	rec := confirmation.Record{Mode: in.Mode, Triggers: in.Triggers, Outcome: in.Outcome, By: in.By, Reason: in.Reason}
	out := Answered{}
	t := newTrail(st)
	human := human(in.By, in.PrincipalType, in.AuthContext)
	hc := events.HumanConfirmation{Mode: rec.Mode, Triggers: rec.Triggers, Outcome: rec.Outcome, By: rec.By, Reason: rec.Reason, StandingFor: in.StandingFor}
	switch in.Outcome {
	case confirmation.OutcomeApproved:
		out.Summary = fmt.Sprintf("%s: approved by %s (%s)", in.Mode, in.By, in.Reason)
		t.addBy(human, intent.StageConfirmation, "approved", audit.ActionApprove, nil, events.HumanApproved(hc))
	case confirmation.OutcomeRejected:
		out.Summary = fmt.Sprintf("%s: rejected by %s (%s)", in.Mode, in.By, in.Reason)
		t.addBy(human, intent.StageConfirmation, "rejected", audit.ActionApprove, nil, events.HumanRejected(hc))
		out.stop(confirmation.BlockVote(in.Outcome, in.Reason))
	case confirmation.OutcomeCancelled:
		rec.By, rec.Reason = "", confirmation.ReasonCancelled
		out.Summary = fmt.Sprintf("%s: the intent was cancelled while waiting, blocked", in.Mode)
		t.add(intent.StageConfirmation, "cancelled", audit.ActionInvoke, nil, events.ConfirmationCancelled{Reason: rec.Reason, Deadline: in.Deadline})
		out.stop(confirmation.BlockVote(in.Outcome, ""))
	case confirmation.OutcomeTimeout:
		rec.By, rec.Reason = "", confirmation.ReasonTimeout
		out.Summary = fmt.Sprintf("%s: no answer within %s, blocked", in.Mode, in.Timeout)
		t.add(intent.StageConfirmation, "timeout", audit.ActionInvoke, nil, events.HumanEscalationTimeout{
			Reason: rec.Reason, Notify: confirmation.TimeoutNotify, Deadline: in.Deadline, TimeoutSeconds: int(in.Timeout.Seconds()),
		})
		out.stop(confirmation.BlockVote(in.Outcome, ""))
	default:
		return out, invalid(fmt.Errorf("close escalation of intent %s: outcome %q; use approved, rejected, timeout or cancelled", st.IntentID, in.Outcome))
	}
	log := a.log(st.IntentID, intent.StageConfirmation)
	fields := []zap.Field{zap.String("mode", string(in.Mode)), zap.String("outcome", in.Outcome), zap.String("by", rec.By), zap.String("reason", rec.Reason), zap.Time("deadline", in.Deadline)}
	if in.Outcome == confirmation.OutcomeTimeout {
		log.Warn("escalation timed out", fields...)
	} else {
		log.Info("escalation answered", fields...)
	}
	out.Record = rec
	return out, a.finish(ctx, t, &out.Stage)
}

func human(by, typ, authContext string) audit.Principal {
	return principal(by, "unknown", typ, authContext, "temporal_signal")
}

func triggerStrings(ts []confirmation.Trigger) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, string(t))
	}
	return out
}

func joinTriggers(ts []confirmation.Trigger) string { return strings.Join(triggerStrings(ts), "; ") }
