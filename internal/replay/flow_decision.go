package replay

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/policy"
)

// Steps 17 and 18: the Decision Engine, and the Promotion Engine's
// label.

// decide is step 17, and step 18's label when the Promotion Engine
// evaluated the execution (its evaluation, which reads the skill's
// history, is the record's answer).
func (r *run) decide() error {
	var d decision.Decision
	var label func(decision.Decision, events.Decision) decision.Decision
	if a := r.answered; a != nil {
		d = decision.Decision{State: a.DecisionState, DecidedBy: a.DecidedBy, Reason: a.Reason}
	} else {
		var err error
		votes := r.votes
		if r.asked != nil {
			// As the workflow's decide: the replans that narrowed what was asked.
			if v, ok := policy.NarrowingVote(policy.Narrowed(*r.asked, r.signed.Signature, r.replannings)); ok {
				votes = append(slices.Clone(votes), v)
			}
		}
		d, err = decision.Decide(decision.Input{Votes: votes, InvariantViolations: r.violations})
		if err != nil {
			return r.differ(intent.StageDecision, "error", "(none)", err.Error())
		}
		if e, ok := r.peek(); ok && e.Type == audit.EventPromotionEvaluation {
			r.pos++
			var ev events.PromotionEvaluation
			if err := e.decode(&ev); err != nil {
				return err
			}
			r.answer(intent.StagePromotion, fmt.Sprintf("promotion evaluation: %s (%s)", ev.Outcome, ev.Reason))
			label = func(d decision.Decision, recorded events.Decision) decision.Decision {
				labelled := lifecycle.Label(d, ev.Evaluation, r.bundle.Lifecycle.Thresholds)
				if labelled.State == d.State || recorded.DecidedBy == lifecycle.StagePromotionEngine {
					return labelled
				}
				// Step 18 labels only a skill that is not served yet (ADR
				// 0129); whether it was is the skill registry's answer,
				// which the intent's trail carries only as this decision.
				r.answer(intent.StagePromotion, "the skill was already served: its run is evidence, not a candidate (ADR 0129)")
				return d
			}
		}
	}
	e, ok, err := r.take(intent.StageDecision, false, audit.EventDecision)
	if err != nil || !ok {
		return err
	}
	var got events.Decision
	if err := e.decode(&got); err != nil {
		return err
	}
	if label != nil {
		d = label(d, got)
	}
	summary := func(s decision.State, by string) string { return fmt.Sprintf("%s by %s", s, by) }
	rec, rep := summary(got.DecisionState, got.DecidedBy), summary(d.State, d.DecidedBy)
	switch {
	case got.DecisionState != d.State:
		return r.differ(intent.StageDecision, "decision_state", string(got.DecisionState), string(d.State))
	case got.DecidedBy != d.DecidedBy:
		return r.differ(intent.StageDecision, "decided_by", got.DecidedBy, d.DecidedBy)
	}
	if r.answered == nil {
		signed := r.signed.Hash
		for _, c := range []struct{ field, recorded, replayed string }{
			{"intent_signature_hash", got.IntentSignatureHash, signed},
			{"plan_hash", got.PlanHash, r.planHash},
			{"code_hash", got.CodeHash, r.codeHash},
			{"replans", fmt.Sprint(got.Replans), fmt.Sprint(r.replans)},
		} {
			if c.recorded != c.replayed {
				return r.differ(intent.StageDecision, c.field, c.recorded, c.replayed)
			}
		}
	}
	r.same(intent.StageDecision, rec, rep)
	r.res.Through = intent.StageDecision
	return nil
}
