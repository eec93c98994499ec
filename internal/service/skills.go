package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// PromoteSkill is a human's promotion of a promotion_candidate (5.12, ADR
// 0129): by must be an approver of the bundle's
// confirmation.approvers.promotion. The artifact frozen is the execution
// that made the skill a candidate (the cause of that transition), with its
// evaluation as the promotion scores. A refused approver is a
// *RefusedError; a skill in another state is skill.ErrRefused.
func PromoteSkill(ctx context.Context, store *db.Store, bundle *policy.Bundle, idOrPrefix string, by Caller, reason string) (db.SkillTransition, error) {
	if strings.TrimSpace(by.ID) == "" || strings.TrimSpace(reason) == "" {
		return db.SkillTransition{}, invalid(errors.New("skill promote: give --by (who promotes) and --reason (why): both are audited"))
	}
	if err := bundle.Approvers.ForCategory(confirmation.CategoryPromotion).Check(confirmation.AnswerApprove, by.ID); err != nil {
		var r *confirmation.Refusal
		if errors.As(err, &r) {
			return db.SkillTransition{}, &RefusedError{IntentID: "skill " + idOrPrefix, Answer: "promote", Code: r.Code, Reason: r.Reason}
		}
		return db.SkillTransition{}, err
	}
	id, err := store.ResolveSkillID(ctx, idOrPrefix)
	if err != nil {
		return db.SkillTransition{}, err
	}
	sk, err := store.Skill(ctx, id)
	if err != nil {
		return db.SkillTransition{}, err
	}
	if _, err := skill.Transition(sk.State, skill.Promoted); err != nil {
		return db.SkillTransition{}, invalid(fmt.Errorf("skill promote %s: %w", short(id), err))
	}
	history, err := store.SkillHistory(ctx, id)
	if err != nil {
		return db.SkillTransition{}, err
	}
	// The transition that made it a candidate carries its evidence.
	var cand *db.SkillTransition
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].To == skill.PromotionCandidate {
			cand = &history[i]
			break
		}
	}
	var intentID string
	if cand != nil {
		intentID, _ = strings.CutPrefix(cand.Cause, "intent:")
	}
	if intentID == "" || intentID == cand.Cause {
		return db.SkillTransition{}, fmt.Errorf("skill promote %s: no execution made it a candidate (its history has no transition caused by an intent)", short(id))
	}
	var ev lifecycle.Evaluation
	if err := json.Unmarshal(cand.Evidence, &ev); err != nil {
		return db.SkillTransition{}, fmt.Errorf("skill promote %s: read the evaluation of intent %s: %w", short(id), intentID, err)
	}
	rec, err := store.GetPlan(ctx, intentID)
	if err != nil {
		return db.SkillTransition{}, err
	}
	var plan planner.ExecutionPlan
	if err := json.Unmarshal(rec.Plan, &plan); err != nil {
		return db.SkillTransition{}, fmt.Errorf("skill promote %s: read the plan of intent %s: %w", short(id), intentID, err)
	}
	var sig signature.Signature
	if err := json.Unmarshal(sk.Signature, &sig); err != nil {
		return db.SkillTransition{}, fmt.Errorf("skill promote %s: read its signature: %w", short(id), err)
	}
	art, err := skill.NewArtifact(intentID, sig, rec.SignatureHash, plan, rec.Artifacts, rec.CodeHash)
	if err != nil {
		return db.SkillTransition{}, fmt.Errorf("skill promote %s: %w", short(id), err)
	}
	p := skill.Promotion{Artifact: art, Metadata: skill.GenerationMetadata{
		PromotedAt: time.Now().UTC().Truncate(time.Second), PromotedBySystemVersion: activities.SystemVersion(),
		PolicyBundleAtPromotion: bundle.Version, CatalogSnapshotAtPromotion: plan.CatalogSnapshotVersion,
		PromotionScores:           skill.Scores{IFo: ev.IFo, IFs: ev.IFs, IFg: ev.IFg, IDI: ev.IDI},
		ExecutionCountAtPromotion: ev.Executions, EvaluationWindow: ev.Window,
	}}
	return store.ApplySkillTransition(ctx, db.SkillChange{SkillID: id, Trigger: skill.Promoted, Reason: reason, Promotion: &p,
		Actor: audit.Principal{ID: by.ID, Type: principalType(by.Type), AuthContext: by.AuthContext}})
}

func principalType(t string) audit.PrincipalType {
	if t == "" {
		return audit.PrincipalHuman
	}
	return audit.PrincipalType(t)
}

// Reevaluator is the principal of the transitions a new bundle or catalog
// causes.
var Reevaluator = audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem, AuthContext: "context_versions"}

// Reevaluation is what a bundle or catalog change did to one skill.
type Reevaluation struct {
	SkillID string        `json:"skill_id"`
	From    skill.State   `json:"from_state"`
	To      skill.State   `json:"to_state"`
	Trigger skill.Trigger `json:"trigger"`
	Reason  string        `json:"reason"`
	// Paused lists the schedules of the skill that were paused.
	Paused []string `json:"paused_schedules,omitempty"`
}

// OutOfService is told of a skill that left service (demoted or retired),
// to pause its schedules and notify; it returns the schedules it paused.
type OutOfService func(ctx context.Context, skillID, reason string) ([]string, error)

// ReevaluateSkills re-checks every skill against the bundle and catalog in
// force (5.12, ADR 0129): a skill whose dataset left the catalog is retired
// (catalog_incompatibility), whatever its state but retired; a served
// skill (persisted_active, watchlist) the bundle no longer approves as it
// is is demoted (policy_change). Each cause is recorded once per skill and
// version (bundle:<version>, catalog:<version>), so a worker that restarts
// on the same versions changes nothing. out, when given, is called for
// every skill that left service.
func ReevaluateSkills(ctx context.Context, store *db.Store, bundle *policy.Bundle, cat *catalog.Catalog, env registry.EnvironmentState, out OutOfService) ([]Reevaluation, error) {
	var done []Reevaluation
	var errs []error
	for _, state := range []skill.State{skill.PersistedActive, skill.Watchlist, skill.PromotionCandidate, skill.Ephemeral, skill.Demoted, skill.Deprecated} {
		skills, err := store.Skills(ctx, state, 10000)
		if err != nil {
			return done, err
		}
		for _, sk := range skills {
			r, ok, err := reevaluate(ctx, store, bundle, cat, env, sk)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !ok {
				continue
			}
			if out != nil && skill.Served(r.From) {
				if r.Paused, err = out(ctx, r.SkillID, fmt.Sprintf("%s → %s (%s): %s", r.From, r.To, r.Trigger, r.Reason)); err != nil {
					errs = append(errs, fmt.Errorf("skill %s left service, its schedules were not all paused: %w", short(r.SkillID), err))
				}
			}
			done = append(done, r)
		}
	}
	return done, errors.Join(errs...)
}

func reevaluate(ctx context.Context, store *db.Store, bundle *policy.Bundle, cat *catalog.Catalog, env registry.EnvironmentState, sk db.Skill) (Reevaluation, bool, error) {
	var sig signature.Signature
	if err := json.Unmarshal(sk.Signature, &sig); err != nil {
		return Reevaluation{}, false, fmt.Errorf("skill %s: read its signature: %w", short(sk.ID), err)
	}
	var trigger skill.Trigger
	var reason, cause string
	var missing []string
	for _, name := range sig.DatasetNames() {
		if _, ok := cat.Get(name); !ok {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) > 0:
		trigger, cause = skill.CatalogIncompatibility, "catalog:"+cat.SnapshotVersion
		reason = fmt.Sprintf("catalog %s has no dataset %s", cat.SnapshotVersion, strings.Join(missing, ", "))
	case skill.Served(sk.State):
		sig.ExecutionContext = signature.ExecutionContext{PolicyBundleVersion: bundle.Version, CatalogSnapshotVersion: cat.SnapshotVersion, RegistryVersionID: env.VersionID}
		ev := bundle.Evaluate(sig, env)
		if ev.Outcome == policy.Approve {
			return Reevaluation{}, false, nil
		}
		var codes []string
		for _, f := range ev.Faults {
			codes = append(codes, f.Code)
		}
		trigger, cause = skill.PolicyChange, "bundle:"+bundle.Version
		reason = fmt.Sprintf("policy bundle %s: %s (%s)", bundle.Version, ev.Outcome, strings.Join(codes, ", "))
	default:
		return Reevaluation{}, false, nil
	}
	to, err := skill.Transition(sk.State, trigger)
	if err != nil {
		return Reevaluation{}, false, nil // not a transition of this state
	}
	t, err := store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: trigger, Reason: reason, Actor: Reevaluator, Cause: cause})
	switch {
	case errors.Is(err, db.ErrSkillCauseConflict):
		return Reevaluation{}, false, nil
	case err != nil:
		return Reevaluation{}, false, err
	}
	if t.Seq != sk.Transitions+1 || t.To != to {
		return Reevaluation{}, false, nil // recorded before (a restart on the same versions)
	}
	return Reevaluation{SkillID: sk.ID, From: t.From, To: t.To, Trigger: trigger, Reason: reason}, true, nil
}

// short is an id's first 12 digits, as the CLI shows it.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
