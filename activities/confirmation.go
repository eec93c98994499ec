package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// SoftInput is a soft confirmation at step 5: the resolution whose
// signature is shown, the snapshot it was resolved against, and whether
// the intent runs anything (a dry run takes no scope: no running intent
// conflicts with it).
type SoftInput struct {
	Resolution        resolution.SemanticResolution `json:"semantic_resolution"`
	RegistryVersionID string                        `json:"registry_version_id"`
	DryRun            bool                          `json:"dry_run,omitempty"`
}

// SoftChecked is how a soft confirmation ended: Result.Mode soft proceeds
// with the signature shown; hard_required was escalated by
// Result.Conflicts and waits for a human like any other.
type SoftChecked struct {
	Stage
	Result confirmation.Result `json:"result"`
	// Shown is the signature as displayed (confirmation.Show).
	Shown string `json:"shown_signature"`
	// RunningIntents are the intents found holding or waiting for a scope
	// of a dataset the intent touches.
	RunningIntents []string `json:"running_intents,omitempty"`
}

// ConfirmSoft is the soft mode of the Confirmation Orchestrator (5.1:
// "displays the signature and proceeds if there is no conflict";
// docs/adr/0134). It looks up the intents running on the scopes of the
// datasets the intent touches (the lock table: holders and queued) and
// evaluates the mode again with them: the registry's constraints and a
// stale dataset were weighed at normalization already. No conflict: the
// signature is shown (SOFT_CONFIRMATION proceeded) and the intent goes
// on. A conflict: SOFT_CONFIRMATION escalated, naming it, and the
// workflow asks a human (hard_required).
func (a *Activities) ConfirmSoft(ctx context.Context, st Step, in SoftInput) (SoftChecked, error) {
	res := in.Resolution
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return SoftChecked{}, fmt.Errorf("soft confirmation of intent %s: %w", st.IntentID, err)
	}
	names := res.Signature.DatasetNames()
	var running []string
	if !in.DryRun {
		if running, err = a.holders(ctx, st.IntentID, names); err != nil {
			return SoftChecked{}, fmt.Errorf("soft confirmation of intent %s: %w", st.IntentID, err)
		}
	}
	ci := resolution.ConfirmationInput(res, env)
	ci.RunningIntents = running
	r := confirmation.Evaluate(ci)
	out := SoftChecked{Result: r, Shown: confirmation.Show(res.Signature), RunningIntents: running}
	outcome := "proceeded"
	if r.Mode.NeedsHuman() {
		outcome = "escalated"
		out.Summary = fmt.Sprintf("soft escalated to %s by a conflict (%s): %s", r.Mode, strings.Join(r.Conflicts, "; "), out.Shown)
	} else {
		out.Summary = "soft: signature shown, no conflict: " + out.Shown
	}
	t := newTrail(st)
	t.add(intent.StageConfirmation, outcome, audit.ActionRead, datasetTargets(names), events.SoftConfirmation{
		Mode: r.Mode, Triggers: r.Triggers, Outcome: outcome, Shown: out.Shown, Signature: res.Signature,
		Conflicts: r.Conflicts, RunningIntents: running,
	})
	a.log(st.IntentID, intent.StageConfirmation).Info("soft confirmation",
		zap.String("outcome", outcome), zap.String("mode", string(r.Mode)), zap.Strings("conflicts", r.Conflicts),
		zap.Strings("running_intents", running), zap.String("signature", out.Shown))
	return out, a.finish(ctx, t, &out.Stage)
}

// ChooseInput is an approver's choice of one of an escalation's
// competing interpretations (docs/adr/0135): the intent's text, the name
// chosen and the names offered, the snapshot and ceiling the intent was
// resolved against, who chose and who submitted.
type ChooseInput struct {
	Text              string   `json:"text"`
	Interpretation    string   `json:"interpretation"`
	Offered           []string `json:"offered"`
	RegistryVersionID string   `json:"registry_version_id"`
	CostCeilingDBU    float64  `json:"cost_ceiling_dbu,omitempty"`
	By                string   `json:"by"`
	Submitter         string   `json:"submitter,omitempty"`
}

// Chosen is the interpretation's resolution, or why it was refused (the
// escalation then stays open and the workflow records the refusal).
type Chosen struct {
	Stage
	Resolution resolution.SemanticResolution `json:"semantic_resolution"`
	// Allowed is who may approve the chosen signature: By was checked
	// against it.
	Allowed confirmation.Allowed  `json:"allowed"`
	Refusal *confirmation.Refusal `json:"refusal,omitempty"`
}

// ChooseInterpretation resolves the intent's text again as the
// interpretation an approver chose (resolution.ResolveAs), prices it as
// normalization does, and checks that the approver may approve what it
// asks (the bundle's approvers for its triggers: choosing a gold write
// takes a gold_write approver). It records nothing: the approval that
// follows records the choice and the signature (HUMAN_CONFIRMATION_APPROVED),
// a refusal is recorded by the workflow (CONFIRMATION_REFUSED). It runs
// in an activity so the resolution is in the workflow's history, never
// computed again on replay.
func (a *Activities) ChooseInterpretation(ctx context.Context, st Step, in ChooseInput) (Chosen, error) {
	log := a.log(st.IntentID, intent.StageConfirmation)
	refuse := func(r *confirmation.Refusal) (Chosen, error) {
		log.Warn("interpretation refused", zap.String("interpretation", in.Interpretation), zap.String("by", in.By),
			zap.String("code", r.Code), zap.String("reason", r.Reason))
		return Chosen{Refusal: r}, nil
	}
	if err := (confirmation.Answer{Interpretation: in.Interpretation}).CheckInterpretation(confirmation.AnswerApprove, in.Offered); err != nil {
		return refuse(asRefusal(err))
	}
	if strings.TrimSpace(in.Text) == "" {
		return refuse(&confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved,
			Reason: "the intent was submitted as a structured signature, which has no text to read another way: reject it and submit the signature you mean"})
	}
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return Chosen{}, fmt.Errorf("interpretation %q of intent %s: %w", in.Interpretation, st.IntentID, err)
	}
	res, err := resolution.ResolveAs(in.Text, a.Catalog, env, in.Interpretation)
	switch {
	case err != nil:
		return refuse(&confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved,
			Reason: fmt.Sprintf("interpretation %q could not be resolved (%v): choose another one, or approve or reject the signature asked", in.Interpretation, err)})
	case !res.Resolved:
		return refuse(&confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved,
			Reason: fmt.Sprintf("interpretation %q does not resolve: %s; choose another one, or approve or reject the signature asked", in.Interpretation, res.Reason)})
	}
	if err := bounds.Signature(res.Signature); err != nil {
		return refuse(&confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved,
			Reason: fmt.Sprintf("interpretation %q is out of bounds (%v): choose another one, or approve or reject the signature asked", in.Interpretation, err)})
	}
	if costed, err := resolution.Costed(res, a.Catalog, env, resolution.CostInput{Now: st.At, CostCeilingDBU: in.CostCeilingDBU}); err == nil {
		res = costed
	}
	out := Chosen{Resolution: res, Allowed: a.Bundle.Approvers.For(res.ConfirmationTriggers, in.Submitter)}
	if err := out.Allowed.Check(confirmation.AnswerApprove, in.By); err != nil {
		r := asRefusal(err)
		r.Reason = fmt.Sprintf("interpretation %q (%s): %s", in.Interpretation, joinTriggers(res.ConfirmationTriggers), r.Reason)
		return refuse(r)
	}
	log.Info("interpretation chosen", zap.String("interpretation", in.Interpretation), zap.String("by", in.By),
		zap.String("confirmation_mode", string(res.ConfirmationMode)), zap.String("signature", confirmation.Show(res.Signature)))
	return out, nil
}

// asRefusal is err as a *confirmation.Refusal (a malformed one otherwise).
func asRefusal(err error) *confirmation.Refusal {
	var r *confirmation.Refusal
	if errors.As(err, &r) {
		return r
	}
	return &confirmation.Refusal{Code: confirmation.RefusedMalformed, Reason: err.Error()}
}

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
	choose := ""
	if len(q.Interpretations) > 0 {
		choose = fmt.Sprintf("\n\nCompeting interpretations: %s. To go on with one of them instead, approve with `{\"by\": \"<name>\", \"reason\": \"<why>\", \"interpretation\": \"<one of them>\"}`.",
			strings.Join(q.Interpretations, ", "))
	}
	out.Details = fmt.Sprintf(
		"**%s confirmation required** for intent `%s`\n\nSignature: %s\n\nTriggers: %s\n\n%s\n\nDeadline: %s\n\nMay answer: %s\n\nSend signal `%s` or `%s` with `{\"by\": \"<name>\", \"reason\": \"<why>\"}`.%s",
		q.Mode, q.IntentID, confirmation.Show(q.Signature), joinTriggers(q.Triggers), q.Reason, out.Deadline.Format(time.RFC3339), who, in.Approve, in.Reject, choose)
	a.log(st.IntentID, intent.StageConfirmation).Info("escalation opened",
		zap.String("mode", string(q.Mode)), zap.Strings("triggers", triggerStrings(q.Triggers)),
		zap.Time("deadline", out.Deadline), zap.Strings("approvers", out.Allowed.Approvers), zap.Strings("competing_interpretations", q.Interpretations))
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
	// Interpretation is the competing interpretation the approver chose,
	// and Chosen its signature (ChooseInterpretation; docs/adr/0135).
	Interpretation string               `json:"interpretation,omitempty"`
	Chosen         *signature.Signature `json:"chosen_signature,omitempty"`
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
	if in.Interpretation != "" && in.Outcome != confirmation.OutcomeApproved {
		return out, invalid(fmt.Errorf("close escalation of intent %s: interpretation %q with outcome %s; only an approval chooses one", st.IntentID, in.Interpretation, in.Outcome))
	}
	if in.Interpretation != "" {
		if in.Chosen == nil {
			return out, invalid(fmt.Errorf("close escalation of intent %s: interpretation %q without its signature; resolve it first (ChooseInterpretation)", st.IntentID, in.Interpretation))
		}
		rec.Interpretation, hc.Interpretation, hc.Chosen = in.Interpretation, in.Interpretation, in.Chosen
		rec.Shown = confirmation.Show(*in.Chosen)
	}
	switch in.Outcome {
	case confirmation.OutcomeApproved:
		out.Summary = fmt.Sprintf("%s: approved by %s (%s)", in.Mode, in.By, in.Reason)
		if in.Interpretation != "" {
			out.Summary = fmt.Sprintf("%s: approved by %s choosing interpretation %s (%s): %s", in.Mode, in.By, in.Interpretation, in.Reason, rec.Shown)
		}
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
	fields := []zap.Field{zap.String("mode", string(in.Mode)), zap.String("outcome", in.Outcome), zap.String("by", rec.By), zap.String("reason", rec.Reason),
		zap.String("interpretation", rec.Interpretation), zap.Time("deadline", in.Deadline)}
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
