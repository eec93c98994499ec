package activities

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// PromotionEngine is the principal of the skill transitions step 18 makes.
var PromotionEngine = audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem, AuthContext: "temporal"}

// moveSkill is step 18's effect on the skill (5.12, ADR 0121): the
// execution's skill is registered (ephemeral) if new, and the first
// transition its evaluation calls for, if its state allows one, is applied
// and audited in the skill's own trail. Once per intent: the cause
// "intent:<id>" makes a retried activity find its transition recorded. It
// returns a status line ("" when nothing moved); a failure is logged and
// the decision stands, as for the evaluation itself.
func (a *Activities) moveSkill(ctx context.Context, st Step, sig signature.Signature, ev lifecycle.Evaluation) string {
	log := a.log(st.IntentID, intent.StagePromotion)
	sk, _, err := a.Store.EnsureSkill(ctx, sig)
	if err != nil {
		log.Error("skill not registered; the decision stands", zap.Error(err))
		return ""
	}
	findings, err := skill.Derive(ev, a.Bundle.Lifecycle)
	if err != nil {
		log.Error("skill triggers not derived; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
		return ""
	}
	f, to, ok := skill.Next(sk.State, findings)
	if !ok {
		return fmt.Sprintf("skill %s: %s", short(sk.ID), sk.State)
	}
	_, err = a.Store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: f.Trigger, Reason: f.Reason, Evidence: ev,
		Actor: PromotionEngine, Cause: "intent:" + st.IntentID})
	switch {
	case errors.Is(err, db.ErrSkillCauseConflict), errors.Is(err, skill.ErrRefused):
		// A retry: this intent already moved the skill.
		return fmt.Sprintf("skill %s: %s", short(sk.ID), sk.State)
	case err != nil:
		log.Error("skill transition not recorded; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
		return ""
	}
	log.Info("skill moved", zap.String("skill_id", sk.ID), zap.String("from", string(sk.State)), zap.String("to", string(to)), zap.String("trigger", string(f.Trigger)))
	return fmt.Sprintf("skill %s: %s → %s (%s)", short(sk.ID), sk.State, to, f.Trigger)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
