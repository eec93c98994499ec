package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/skill"
)

// PromotionEngine is the principal of the skill transitions step 18 makes.
var PromotionEngine = audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem, AuthContext: "temporal"}

// moveSkill is step 18's effect on the skill (5.12, ADR 0121): the
// execution's skill is registered (ephemeral) if new, and the first
// transition its evaluation calls for, if its state allows one, is applied
// and audited in the skill's own trail. A candidate whose gate holds is
// then promoted when the lifecycle policy leaves promotion to the system
// (ADR 0129), freezing this execution's artifact. Once per intent: the
// causes "intent:<id>" and "promote:intent:<id>" make a retried activity
// find its transitions recorded. It returns a status line ("" when nothing
// moved); a failure is logged and the decision stands, as for the
// evaluation itself. served says whether the skill was served (promoted)
// before this execution.
func (a *Activities) moveSkill(ctx context.Context, st Step, in DecideInput, ev lifecycle.Evaluation) (line string, served bool) {
	sig := *in.Signature
	log := a.log(st.IntentID, intent.StagePromotion)
	sk, _, err := a.Store.EnsureSkill(ctx, sig)
	if err != nil {
		log.Error("skill not registered; the decision stands", zap.Error(err))
		return "", false
	}
	served, err = a.servedBefore(ctx, sk, st.IntentID)
	if err != nil {
		log.Error("skill history not read; the decision stands", zap.Error(err))
		return "", false
	}
	findings, err := skill.Derive(ev, a.Bundle.Lifecycle)
	if err != nil {
		log.Error("skill triggers not derived; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
		return "", served
	}
	line = fmt.Sprintf("skill %s: %s", short(sk.ID), sk.State)
	state := sk.State
	if f, to, ok := skill.Next(sk.State, findings); ok {
		_, err = a.Store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: f.Trigger, Reason: f.Reason, Evidence: ev,
			Actor: PromotionEngine, Cause: "intent:" + st.IntentID})
		switch {
		case errors.Is(err, db.ErrSkillCauseConflict), errors.Is(err, skill.ErrRefused):
			// A retry: this intent already moved the skill.
			if cur, err := a.Store.Skill(ctx, sk.ID); err == nil {
				state = cur.State
			}
		case err != nil:
			log.Error("skill transition not recorded; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
			return "", served
		default:
			log.Info("skill moved", zap.String("skill_id", sk.ID), zap.String("from", string(sk.State)), zap.String("to", string(to)), zap.String("trigger", string(f.Trigger)))
			line = fmt.Sprintf("skill %s: %s → %s (%s)", short(sk.ID), sk.State, to, f.Trigger)
			state = to
		}
	}
	if state != skill.PromotionCandidate || !ev.Eligible || a.Bundle.Lifecycle.Promotion != lifecycle.PromotionAutomatic {
		return line, served
	}
	p, err := a.promotion(ctx, st, in, ev)
	if err != nil {
		log.Error("skill not promoted: its artifact could not be frozen; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
		return line, served
	}
	_, err = a.Store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.Promoted,
		Reason: fmt.Sprintf("promotion.mode automatic: the gate holds (%s)", ev.Reason), Promotion: &p,
		Actor: PromotionEngine, Cause: "promote:intent:" + st.IntentID})
	switch {
	case errors.Is(err, db.ErrSkillCauseConflict), errors.Is(err, skill.ErrRefused):
		return line, served
	case err != nil:
		log.Error("skill promotion not recorded; the decision stands", zap.String("skill_id", sk.ID), zap.Error(err))
		return line, served
	}
	log.Info("skill promoted", zap.String("skill_id", sk.ID), zap.String("plan_hash", p.Artifact.PlanHash), zap.String("code_hash", p.Artifact.CodeHash))
	return line + fmt.Sprintf("; promoted → %s (artifact plan %s, code %s)", skill.PersistedActive, short(p.Artifact.PlanHash), short(p.Artifact.CodeHash)), served
}

// servedBefore says whether the skill was served before this intent: a
// retry finds it promoted by this very intent, and must decide as the
// first attempt did.
func (a *Activities) servedBefore(ctx context.Context, sk db.Skill, intentID string) (bool, error) {
	if !skill.Served(sk.State) {
		return false, nil
	}
	history, err := a.Store.SkillHistory(ctx, sk.ID)
	if err != nil {
		return false, err
	}
	for _, h := range history {
		if h.Cause == "promote:intent:"+intentID {
			return false, nil
		}
	}
	return true, nil
}

// promotion freezes the execution's signature, plan and code and its
// skill_generation_metadata (5.12).
func (a *Activities) promotion(ctx context.Context, st Step, in DecideInput, ev lifecycle.Evaluation) (skill.Promotion, error) {
	rec, err := a.Store.GetPlanOfSignature(ctx, in.Plan.IntentID, in.Plan.SignatureHash)
	if err != nil {
		return skill.Promotion{}, err
	}
	var plan planner.ExecutionPlan
	if err := json.Unmarshal(rec.Plan, &plan); err != nil {
		return skill.Promotion{}, fmt.Errorf("read the plan of intent %s: %w", st.IntentID, err)
	}
	art, err := skill.NewArtifact(st.IntentID, *in.Signature, rec.SignatureHash, plan, rec.Artifacts, rec.CodeHash)
	if err != nil {
		return skill.Promotion{}, err
	}
	ec := in.Signature.ExecutionContext
	return skill.Promotion{Artifact: art, Metadata: skill.GenerationMetadata{
		PromotedAt: st.At.UTC(), PromotedBySystemVersion: SystemVersion(),
		PolicyBundleAtPromotion: ec.PolicyBundleVersion, CatalogSnapshotAtPromotion: ec.CatalogSnapshotVersion,
		PromotionScores:           skill.Scores{IFo: ev.IFo, IFs: ev.IFs, IFg: ev.IFg, IDI: ev.IDI},
		ExecutionCountAtPromotion: ev.Executions, EvaluationWindow: ev.Window,
	}}, nil
}

// SystemVersion is promoted_by_system_version: the CFA version and the
// build's VCS revision, so a skill promoted by a build with a promotion bug
// can be found.
func SystemVersion() string {
	v := "cfa_v2"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return v + "+" + s.Value[:12]
		}
	}
	if mv := info.Main.Version; mv != "" && mv != "(devel)" {
		return v + "+" + mv
	}
	return v
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
