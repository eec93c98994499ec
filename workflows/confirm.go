package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
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
	if f.in.Schedule != "" {
		// A scheduled run: a standing approval that covers the question
		// answers it without a wait; otherwise the approvers are told why
		// none applies (docs/adr/0125).
		var sc activities.StandingChecked
		if err := f.apply(f.local(StageConfirmation, a.StandingApproval, &sc, f.standingInput(question))); err != nil {
			return ConfirmationRecord{}, err
		}
		if sc.Found {
			return sc.Record, nil
		}
		question.Reason = strings.TrimSpace(question.Reason + " (no standing approval applies: " + sc.Why + ")")
	}
	var esc activities.Escalation
	if err := f.apply(f.local(StageConfirmation, a.OpenEscalation, &esc, activities.EscalationInput{
		Question: question, Approve: SignalApprove, Reject: SignalReject, Submitter: f.in.SubmittedBy,
	})); err != nil {
		return ConfirmationRecord{}, err
	}
	f.status.Pending = &PendingEscalation{ConfirmationRequested: question, Deadline: esc.Deadline, Allowed: esc.Allowed}
	workflow.SetCurrentDetails(f.ctx, esc.Details)
	f.showIndex(string(mode), esc.Allowed.Approvers, &asked)
	f.notifyOpened(mode, triggers, esc)

	// The deadline counts from when the question was recorded (a retried
	// workflow task does not move it), and nothing that arrives moves it:
	// one timer, whatever is refused meanwhile (5.1b: timeout → block).
	deadline := esc.Deadline
	answer := activities.Answer{Mode: mode, Triggers: triggers, Deadline: deadline, Timeout: timeout}
	timerCtx, cancelTimer := workflow.WithCancel(f.ctx)
	timer := workflow.NewTimerWithOptions(timerCtx, max(deadline.Sub(workflow.Now(f.ctx)), time.Millisecond), workflow.TimerOptions{Summary: EscalationTimerName})
	approveCh := workflow.GetSignalChannel(f.ctx, SignalApprove)
	rejectCh := workflow.GetSignalChannel(f.ctx, SignalReject)
	// A confirmation answers a question that was asked: signals sent before
	// this escalation opened are discarded, not applied to it.
	for _, ch := range []workflow.ReceiveChannel{approveCh, rejectCh} {
		var stale converter.RawValue
		for ch.ReceiveAsync(&stale) {
			workflow.GetLogger(f.ctx).Warn("discarded a confirmation signal sent before the escalation opened", "intent_id", f.id)
		}
	}
	var got arrival
	var standing time.Duration
	timedOut := false
	sel := workflow.NewSelector(f.ctx)
	for _, name := range []string{SignalApprove, SignalReject} {
		sel.AddReceive(workflow.GetSignalChannel(f.ctx, name), func(c workflow.ReceiveChannel, _ bool) {
			// Raw: a payload the SDK cannot decode is still received (and
			// refused), never left to block the wait.
			var raw converter.RawValue
			c.Receive(f.ctx, &raw)
			got = arrival{name: name, via: "signal", payload: raw.Payload().GetData()}
		})
	}
	sel.AddReceive(f.answers, func(c workflow.ReceiveChannel, _ bool) { c.Receive(f.ctx, &got) })
	waiting, stopWatching := workflow.WithCancel(f.ctx)
	sel.AddReceive(f.watchUnknownSignals(waiting), func(c workflow.ReceiveChannel, _ bool) { c.Receive(f.ctx, &got) })
	sel.AddFuture(timer, func(workflow.Future) { timedOut = true })
	for {
		got = arrival{}
		sel.Select(f.ctx)
		if timedOut || f.ctx.Err() != nil {
			answer.Outcome = ConfirmationTimeout
			break
		}
		if got.via == "update" {
			// Make the accepted Update durable before anything it causes
			// (an audit event) happens: were this workflow task to fail,
			// the Update would be gone from the history while its event
			// stayed in Postgres. The timer ends the task first.
			_ = workflow.NewTimer(f.ctx, time.Millisecond).Get(f.ctx, nil)
		}
		ans, err := got.judge(esc.Allowed, f.in.Schedule != "")
		if err == nil {
			answer.Outcome, answer.By, answer.Reason = ConfirmationApproved, ans.By, ans.Reason
			answer.PrincipalType, answer.AuthContext = ans.PrincipalType, ans.AuthContext
			if ans.Standing {
				standing, _ = ans.StandingDuration() // judged valid
				answer.StandingFor = standing.String()
			}
			if got.name == SignalReject {
				answer.Outcome = ConfirmationRejected
			}
			got.reply("accepted", nil)
			break
		}
		var r *confirmation.Refusal
		if !errors.As(err, &r) {
			r = &confirmation.Refusal{Code: confirmation.RefusedMalformed, Reason: err.Error()}
		}
		// Recorded before the sender hears it: a refusal it was told of is
		// in the audit trail.
		err = f.apply(f.local(StageConfirmation, a.RefuseConfirmation, &activities.Refused{}, activities.RefusalInput{
			Answer: got.name, Via: got.via, ClaimedBy: claimedBy(got), Payload: confirmation.Excerpt(got.payload),
			Code: r.Code, Reason: r.Reason, Deadline: deadline,
		}))
		got.reply("", r)
		if err != nil {
			stopWatching()
			cancelTimer()
			return ConfirmationRecord{}, err
		}
	}
	stopWatching()
	cancelTimer()
	f.closeAnswers()
	if f.ctx.Err() != nil {
		// Cancelled while waiting (the timer was cancelled with the
		// workflow): no one timed out. The decision and the end event are
		// still recorded (I5), on a context the cancellation does not reach.
		f.ctx, _ = workflow.NewDisconnectedContext(f.ctx)
		answer.Outcome = ConfirmationCancelled
	}
	f.status.Pending = nil
	workflow.SetCurrentDetails(f.ctx, "")
	f.showIndex("", nil, nil)
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
	rec := ans.Record
	if standing > 0 && answer.Outcome == ConfirmationApproved {
		// Recorded right after the approval it extends.
		in := activities.StandingGrantInput{
			Schedule: f.in.Schedule, Question: question, By: answer.By, PrincipalType: answer.PrincipalType,
			AuthContext: answer.AuthContext, Reason: answer.Reason, For: standing,
		}
		sin := f.standingInput(question)
		in.PolicyBundleVersion, in.CatalogSnapshotVersion = sin.PolicyBundleVersion, sin.CatalogSnapshotVersion
		var g activities.StandingGranted
		if err := f.apply(f.local(StageConfirmation, a.RecordStandingApproval, &g, in)); err != nil {
			return rec, err
		}
		rec.StandingGranted = g.StandingApproval
	}
	return rec, nil
}

// standingInput is what a standing approval of question is matched on:
// the schedule, the asked signature (its skill key) and the bundle and
// catalog of the consultation the question is asked under. At step 5 the
// signature is not signed yet, so its execution_context is empty: the
// consultation of step 2 is what it will be signed under (ADR 0125).
func (f *intentFlow) standingInput(question events.ConfirmationRequested) activities.StandingInput {
	return activities.StandingInput{Schedule: f.in.Schedule, Question: question,
		PolicyBundleVersion: f.cons.PolicyBundleVersion, CatalogSnapshotVersion: f.cons.CatalogSnapshotVersion}
}

// arrival is an answer that came in while an escalation was open: a signal
// (its raw payload), an Update (decoded by the SDK, shape already checked
// by its validator) or a signal of a name the workflow does not know.
type arrival struct {
	name    string
	via     string // signal or update
	payload []byte
	update  *ConfirmationSignal
	verdict workflow.Settable // the Update's caller waits on it
}

// judge decodes and checks an arrival: its name, its shape, then whether
// its sender may give it (the bundle's approvers, separation of duties).
func (g arrival) judge(allowed confirmation.Allowed, scheduled bool) (confirmation.Answer, error) {
	if g.name != SignalApprove && g.name != SignalReject {
		return confirmation.Answer{}, &confirmation.Refusal{Code: confirmation.RefusedUnknownSignal,
			Reason: "signal " + strconv.Quote(g.name) + " is not an answer: send " + SignalApprove + " or " + SignalReject}
	}
	var ans confirmation.Answer
	if g.update != nil {
		ans = confirmation.Answer(*g.update)
		if err := ans.Validate(); err != nil {
			return ans, err
		}
	} else {
		var err error
		if ans, err = confirmation.DecodeAnswer(g.payload); err != nil {
			return ans, err
		}
		// A signal says how it was sent: its claims of a principal type
		// and an authentication are not kept (anyone who can signal could
		// write "api:token:…").
		ans.PrincipalType, ans.AuthContext = "", ""
	}
	if err := allowed.Check(g.name, ans.By); err != nil {
		return ans, err
	}
	// Standing only for an approval of a scheduled run (ADR 0125).
	return ans, ans.CheckStanding(g.name, scheduled)
}

// reply answers the Update that brought the arrival, if one did.
func (g arrival) reply(verdict string, r *confirmation.Refusal) {
	if g.verdict == nil {
		return
	}
	if r != nil {
		g.verdict.SetError(temporal.NewApplicationError(r.Reason, r.Code))
		return
	}
	g.verdict.SetValue(verdict)
}

func claimedBy(g arrival) string {
	if g.update != nil {
		return g.update.By
	}
	var probe struct {
		By any `json:"by"`
	}
	if json.Unmarshal(g.payload, &probe) == nil {
		if s, ok := probe.By.(string); ok {
			return confirmation.Excerpt([]byte(s))
		}
	}
	return ""
}

// knownSignals are the names the workflow handles itself.
var knownSignals = []string{SignalApprove, SignalReject, SignalScopeReleased}

// watchUnknownSignals turns signals of any other name (a typo such as
// "Approve") into arrivals while ctx lives, so they are refused and audited
// instead of only logged by the SDK as unhandled.
func (f *intentFlow) watchUnknownSignals(ctx workflow.Context) workflow.ReceiveChannel {
	out := workflow.NewChannel(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var names []string
			if err := workflow.Await(ctx, func() bool {
				names = slices.DeleteFunc(workflow.GetUnhandledSignalNames(ctx), func(n string) bool { return slices.Contains(knownSignals, n) })
				return len(names) > 0
			}); err != nil {
				return // the escalation closed
			}
			slices.Sort(names) // the SDK lists them from a map
			for _, n := range names {
				var raw converter.RawValue
				for workflow.GetSignalChannel(ctx, n).ReceiveAsync(&raw) {
					out.Send(ctx, arrival{name: n, via: "signal", payload: raw.Payload().GetData()})
				}
			}
		}
	})
	return out
}

// notifyOpened tells the approvers an escalation is open (webhook and log)
// without holding the wait: a lost notification is logged, the audit event
// is the durable record.
func (f *intentFlow) notifyOpened(mode confirmation.Mode, triggers []confirmation.Trigger, esc activities.Escalation) {
	n := activities.Notification{
		Notify: "approvers", IntentID: f.id, CorrelationID: f.corr, Reason: "escalation_opened",
		AuditEvent: audit.EventConfirmationRequested, Mode: string(mode), Triggers: triggers, Deadline: esc.Deadline,
		Approvers: esc.Allowed.Approvers, Text: f.in.Text,
		Answer: "cfa approve " + f.id + ` --by NAME --reason TEXT, or signal approve/reject with {"by": "NAME", "reason": "TEXT"}`,
	}
	fut := workflow.ExecuteActivity(f.ctx, a.NotifyGovernance, n)
	workflow.Go(f.ctx, func(ctx workflow.Context) {
		if err := fut.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("escalation notification failed", "intent_id", f.id, "error", err)
		}
	})
}

// registerAnswers offers approve and reject as Updates too: a caller that
// can use them (the CLI, the API) hears at once whether its answer was
// taken, or why not. The validator refuses a malformed answer, or one with
// no escalation open, before it reaches the history; an answer from
// someone the bundle does not allow is refused by the workflow and
// audited, like a signal's.
func (f *intentFlow) registerAnswers() error {
	f.answers = workflow.NewChannel(f.ctx)
	for _, name := range []string{SignalApprove, SignalReject} {
		err := workflow.SetUpdateHandlerWithOptions(f.ctx, name,
			func(ctx workflow.Context, in ConfirmationSignal) (string, error) {
				fut, verdict := workflow.NewFuture(ctx)
				f.answers.Send(ctx, arrival{name: name, via: "update", update: &in, payload: []byte(`{"by": ` + strconv.Quote(in.By) + `, "reason": ` + strconv.Quote(in.Reason) + `}`), verdict: verdict})
				var out string
				err := fut.Get(ctx, &out)
				return out, err
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in ConfirmationSignal) error {
				if f.status.Pending == nil {
					return &confirmation.Refusal{Code: confirmation.RefusedNoEscalation, Reason: "intent " + f.id + " has no open escalation"}
				}
				return confirmation.Answer(in).Validate()
			}})
		if err != nil {
			return fmt.Errorf("register update %s: %w", name, err)
		}
	}
	return nil
}

// closeAnswers refuses the Updates still queued when an escalation closes.
func (f *intentFlow) closeAnswers() {
	var g arrival
	for f.answers.ReceiveAsync(&g) {
		g.reply("", &confirmation.Refusal{Code: confirmation.RefusedNoEscalation, Reason: "the escalation closed before this answer was read"})
	}
}
