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

// confirm is step 5, the Confirmation Orchestrator (5.1b). auto goes on.
// soft shows the signature and goes on when nothing conflicts; a conflict
// (a running intent on a scope it touches; the registry's constraints
// were weighed at normalization) escalates it to hard_required
// (ConfirmSoft, docs/adr/0134). hard_required and human_escalation wait
// for a person (awaitChoice), who may choose one of the competing
// interpretations: the intent then goes on with that interpretation's
// signature, signed next (docs/adr/0135).
func (f *intentFlow) confirm() error {
	res := f.result.Resolution
	rec := ConfirmationRecord{Mode: res.ConfirmationMode, Triggers: res.ConfirmationTriggers}
	mode, triggers, reason := res.ConfirmationMode, res.ConfirmationTriggers, ""
	var conflicts []string
	switch mode {
	case confirmation.ModeAuto:
		rec.Outcome = ConfirmationNotRequired
		f.done(StageConfirmation, "auto: proceeds without interruption")
		f.result.Confirmation = &rec
		return nil
	case confirmation.ModeSoft:
		var sc activities.SoftChecked
		if err := f.apply(f.local(StageConfirmation, a.ConfirmSoft, &sc, activities.SoftInput{
			Resolution: *res, RegistryVersionID: f.cons.RegistryVersionID, DryRun: f.in.DryRun,
		})); err != nil {
			return err
		}
		if !sc.Result.Mode.NeedsHuman() {
			rec.Outcome, rec.Shown = ConfirmationProceeded, sc.Shown
			f.notifySoft(sc)
			f.result.Confirmation = &rec
			return nil
		}
		mode, triggers, conflicts = sc.Result.Mode, sc.Result.Triggers, sc.Result.Conflicts
		reason = "a soft confirmation escalated by a conflict: " + strings.Join(conflicts, "; ")
	}
	rec, chosen, err := f.awaitChoice(mode, triggers, res.Signature, reason, res.CompetingInterpretations)
	if err != nil {
		return err
	}
	rec.Conflicts = conflicts
	if chosen != nil {
		// The approver's interpretation is the contract from here on:
		// step 6 signs it, the Policy Engine governs it.
		f.pending = chosen.Resolution.Signature
	}
	f.result.Confirmation = &rec
	return nil
}

// SoftNotifyTimeout bounds the soft confirmation's notification: the flow
// waits for it (a soft intent often completes at once, which would drop
// a notification left running) but never longer than this.
const SoftNotifyTimeout = time.Minute

// notifySoft tells the submitter the signature a soft confirmation
// proceeds with (webhook and log). A lost notification does not stop the
// intent: SOFT_CONFIRMATION is the durable record.
func (f *intentFlow) notifySoft(sc activities.SoftChecked) {
	n := activities.Notification{
		Notify: "submitter", IntentID: f.id, CorrelationID: f.corr, Reason: "soft_confirmation",
		AuditEvent: audit.EventSoftConfirmation, Mode: string(confirmation.ModeSoft), Triggers: sc.Result.Triggers,
		Text: f.in.Text, Signature: sc.Shown,
	}
	opts := workflow.GetActivityOptions(f.ctx)
	opts.ScheduleToCloseTimeout = SoftNotifyTimeout
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(f.ctx, opts), a.NotifyGovernance, n).Get(f.ctx, nil); err != nil {
		workflow.GetLogger(f.ctx).Error("soft confirmation notification failed", "intent_id", f.id, "error", err)
	}
}

// awaitHuman is awaitChoice with no interpretation to choose from: the
// Pre-cost Estimator's escalation (step 8).
func (f *intentFlow) awaitHuman(mode confirmation.Mode, triggers []confirmation.Trigger, asked signature.Signature, reason string) (ConfirmationRecord, error) {
	rec, _, err := f.awaitChoice(mode, triggers, asked, reason, nil)
	return rec, err
}

// awaitChoice is the Confirmation Orchestrator's wait, for the semantic
// escalation (step 5) and the Pre-cost Estimator's (step 8): the question
// is recorded and shown in the Temporal UI, then an approve or reject
// signal races a named timer; the timeout blocks and notifies
// governance_team (fallback_on_timeout), a cancellation blocks as
// cancelled. An answer that does not let the intent go on stops the flow.
// An approval may choose one of offered (the competing interpretations):
// it is resolved in an activity (ChooseInterpretation, so the history
// keeps it), and chosen is its resolution; a choice that is not offered,
// does not resolve, or that the approver may not approve is refused and
// audited, and the escalation stays open.
func (f *intentFlow) awaitChoice(mode confirmation.Mode, triggers []confirmation.Trigger, asked signature.Signature, reason string, offered []string) (ConfirmationRecord, *activities.Chosen, error) {
	timeout := DefaultEscalationTimeout
	if f.in.EscalationTimeoutSeconds > 0 {
		timeout = time.Duration(f.in.EscalationTimeoutSeconds) * time.Second
	}
	question := events.ConfirmationRequested{IntentID: f.id, Mode: mode, Triggers: triggers, Signature: asked, TimeoutSeconds: int(timeout / time.Second), Reason: reason,
		Interpretations: slices.Clone(offered)}
	f.status.Stage = StageConfirmation
	if f.in.Schedule != "" {
		// A scheduled run: a standing approval that covers the question
		// answers it without a wait; otherwise the approvers are told why
		// none applies (docs/adr/0125).
		var sc activities.StandingChecked
		if err := f.apply(f.local(StageConfirmation, a.StandingApproval, &sc, f.standingInput(question))); err != nil {
			return ConfirmationRecord{}, nil, err
		}
		if sc.Found {
			return sc.Record, nil, nil
		}
		question.Reason = strings.TrimSpace(question.Reason + " (no standing approval applies: " + sc.Why + ")")
	}
	var esc activities.Escalation
	if err := f.apply(f.local(StageConfirmation, a.OpenEscalation, &esc, activities.EscalationInput{
		Question: question, Approve: SignalApprove, Reject: SignalReject, Submitter: f.in.SubmittedBy,
	})); err != nil {
		return ConfirmationRecord{}, nil, err
	}
	f.status.Pending = &PendingEscalation{ConfirmationRequested: question, Deadline: esc.Deadline, Allowed: esc.Allowed, Narrowed: f.narrowing()}
	workflow.SetCurrentDetails(f.ctx, esc.Details)
	f.showIndex(string(mode), esc.Allowed.Approvers, &asked)
	f.notifyOpened(question, esc)

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
	var chosen *activities.Chosen
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
		ans, err := got.judge(esc.Allowed, f.in.Schedule != "", question.Interpretations)
		var choice *activities.Chosen
		if err == nil && ans.Interpretation != "" {
			choice, err = f.choose(ans, question.Interpretations)
			if f.ctx.Err() != nil {
				// Cancelled while the choice was resolved: decided as
				// cancelled below, the choice untaken.
				got.reply("", &confirmation.Refusal{Code: confirmation.RefusedNoEscalation, Reason: "the intent was cancelled before this answer was taken"})
				answer.Outcome = ConfirmationTimeout
				break
			}
		}
		if err == nil {
			answer.Outcome, answer.By, answer.Reason = ConfirmationApproved, ans.By, ans.Reason
			if choice != nil {
				chosen, answer.Interpretation = choice, ans.Interpretation
				sig := choice.Resolution.Signature
				answer.Chosen = &sig
			}
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
			return ConfirmationRecord{}, nil, err
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
		return ConfirmationRecord{}, nil, err
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
			return rec, nil, err
		}
		rec.StandingGranted = g.StandingApproval
	}
	if answer.Outcome != ConfirmationApproved {
		chosen = nil
	}
	return rec, chosen, nil
}

// choose resolves the interpretation an approval chose
// (ChooseInterpretation): its resolution, or the *confirmation.Refusal
// that keeps the escalation open. An activity that could not run (its
// retries spent) refuses the choice too: the approver may send it again.
func (f *intentFlow) choose(ans confirmation.Answer, offered []string) (*activities.Chosen, error) {
	var ch activities.Chosen
	_, err := f.local(StageConfirmation, a.ChooseInterpretation, &ch, activities.ChooseInput{
		Text: f.in.Text, Interpretation: ans.Interpretation, Offered: offered, RegistryVersionID: f.cons.RegistryVersionID,
		CostCeilingDBU: f.in.CostCeilingDBU, By: ans.By, Submitter: f.in.SubmittedBy,
	})
	switch {
	case err != nil && f.ctx.Err() == nil:
		return nil, &confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved,
			Reason: "interpretation " + strconv.Quote(ans.Interpretation) + " could not be resolved now (" + err.Error() + "): send the approval again"}
	case err != nil:
		return nil, err
	case ch.Refusal != nil:
		return nil, ch.Refusal
	}
	return &ch, nil
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
func (g arrival) judge(allowed confirmation.Allowed, scheduled bool, offered []string) (confirmation.Answer, error) {
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
	if err := ans.CheckStanding(g.name, scheduled); err != nil {
		return ans, err
	}
	// An interpretation only with an approval, and only one offered
	// (ADR 0135).
	return ans, ans.CheckInterpretation(g.name, offered)
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
func (f *intentFlow) notifyOpened(q events.ConfirmationRequested, esc activities.Escalation) {
	n := activities.Notification{
		Notify: "approvers", IntentID: f.id, CorrelationID: f.corr, Reason: "escalation_opened",
		AuditEvent: audit.EventConfirmationRequested, Mode: string(q.Mode), Triggers: q.Triggers, Deadline: esc.Deadline,
		Approvers: esc.Allowed.Approvers, Text: f.in.Text,
		Answer:    "cfa approve " + f.id + ` --by NAME --reason TEXT, or signal approve/reject with {"by": "NAME", "reason": "TEXT"}`,
		Signature: confirmation.Show(q.Signature), Interpretations: q.Interpretations,
	}
	if len(q.Interpretations) > 0 {
		n.Answer += "; to go on with one of the competing interpretations: cfa approve " + f.id +
			` --by NAME --reason TEXT --interpretation NAME, or {"by": "NAME", "reason": "TEXT", "interpretation": "NAME"}`
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
				payload := `{"by": ` + strconv.Quote(in.By) + `, "reason": ` + strconv.Quote(in.Reason)
				if in.Interpretation != "" {
					payload += `, "interpretation": ` + strconv.Quote(in.Interpretation)
				}
				f.answers.Send(ctx, arrival{name: name, via: "update", update: &in, payload: []byte(payload + `}`), verdict: verdict})
				var out string
				err := fut.Get(ctx, &out)
				return out, err
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in ConfirmationSignal) error {
				if f.status.Pending == nil {
					return &confirmation.Refusal{Code: confirmation.RefusedNoEscalation, Reason: "intent " + f.id + " has no open escalation"}
				}
				if err := confirmation.Answer(in).Validate(); err != nil {
					return err
				}
				// A choice that is not offered never reaches the history;
				// the caller hears its code (service.RefusedError).
				if err := confirmation.Answer(in).CheckInterpretation(name, f.status.Pending.Interpretations); err != nil {
					var r *confirmation.Refusal
					if errors.As(err, &r) {
						return temporal.NewApplicationError(r.Reason, r.Code)
					}
					return err
				}
				return nil
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
