package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

var engine = audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem}

// executed records what an executed intent of sig leaves behind: its index
// row and its planning (plan and code), as the flow does.
func executed(t *testing.T, store *db.Store, cat *catalog.Catalog, intentID string, sig signature.Signature) signature.Signature {
	t.Helper()
	ctx := context.Background()
	sig.ExecutionContext = signature.ExecutionContext{PolicyBundleVersion: "v1.0.0+test", CatalogSnapshotVersion: cat.SnapshotVersion, RegistryVersionID: "reg-1"}
	h, err := sig.Hash()
	require.NoError(t, err)
	plan, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	raw, err := json.Marshal(plan)
	require.NoError(t, err)
	_, err = store.UpsertIntent(ctx, db.Intent{IntentID: intentID, WorkflowID: intentID, RunID: "run", Source: db.SourceText, Input: sig.Intent,
		SubmittedAt: time.Now().UTC(), Status: "completed"})
	require.NoError(t, err)
	require.NoError(t, store.RecordPlan(ctx, db.PlanRecord{IntentID: intentID, SignatureHash: h, PlanHash: plan.Hash, Plan: raw,
		PreCost: []byte(`{}`), Artifacts: []byte(`[{"backend":"postgres","files":[{"path":"load.sql","content":"SELECT 1;"}]}]`), CodeHash: strings.Repeat("c", 64)}))
	return sig
}

// candidate registers sig's skill and makes it a candidate through the
// execution intentID, with the evaluation as its evidence.
func candidate(t *testing.T, store *db.Store, intentID string, sig signature.Signature) string {
	t.Helper()
	ctx := context.Background()
	sk, _, err := store.EnsureSkill(ctx, sig)
	require.NoError(t, err)
	ev := lifecycle.Evaluation{PromotionUnit: sk.ID, Domain: sig.Domain, Window: "last_3_days", Executions: 4, SuccessfulExecutions: 4,
		IFo: 0.88, IFs: 0.94, IFg: 1, IDI: 1, Eligible: true, Outcome: lifecycle.OutcomeEligible, Reason: lifecycle.ReasonThresholdsMet}
	_, err = store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.GatePassed, Evidence: ev, Actor: engine, Cause: "intent:" + intentID})
	require.NoError(t, err)
	return sk.ID
}

// bundleWith is the shipped bundle with edit applied to a copy of one of
// its files.
func bundleWith(t *testing.T, file, old, new string) *policy.Bundle {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadDir("../../policies")
	require.NoError(t, err)
	for _, e := range src {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("../../policies", e.Name()))
		require.NoError(t, err)
		if e.Name() == file {
			require.Contains(t, string(data), old, "fixture")
			data = []byte(strings.Replace(string(data), old, new, 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600))
	}
	b, err := app.LoadBundle(context.Background(), dir)
	require.NoError(t, err)
	return b
}

// freezeSilver is a policy change: writes to silver are blocked.
const freezeSilver = `
  - name: freeze_silver
    description: Silver is frozen during the fiscal audit.
    condition: silver_write
    action: block
    severity: high
    fault_code: CONTRACT_WRITE_OUTSIDE_LAYER
    remediation:
      - Wait for the audit to end

tests:`

// TestHumanPromotion: with promotion left to a human, only an approver of
// confirmation.approvers.promotion promotes a candidate, and the artifact
// frozen is the execution that made it one, with its scores.
func TestHumanPromotion(t *testing.T) {
	d := dbtest.New(t, "service_promotion")
	ctx := context.Background()
	store := db.New(d.Worker)
	cat := plannertest.Catalog()
	bundle := bundleWith(t, "lifecycle.yaml", "mode: automatic", "mode: human")
	require.Equal(t, lifecycle.PromotionHuman, bundle.Lifecycle.Promotion)

	sig := executed(t, store, cat, "intent-cand", plannertest.Reconciliation(cat))
	id := candidate(t, store, "intent-cand", sig)

	for _, tc := range []struct {
		name, by, reason string
		refused          string
	}{
		{"an approver of another category", "ana", "looks fine", confirmation.RefusedNotApprover},
		{"nobody", "", "looks fine", "give --by"},
		{"no reason", "maria", "", "give --by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := service.PromoteSkill(ctx, store, bundle, id[:12], service.Caller{ID: tc.by}, tc.reason)
			require.ErrorContains(t, err, tc.refused)
			sk, err := store.Skill(ctx, id)
			require.NoError(t, err)
			require.Equal(t, skill.PromotionCandidate, sk.State)
		})
	}

	tr, err := service.PromoteSkill(ctx, store, bundle, id[:12], service.Caller{ID: "maria"}, "reviewed the reconciliation")
	require.NoError(t, err)
	require.Equal(t, skill.PersistedActive, tr.To)
	require.Equal(t, "maria", tr.Actor.ID)
	require.Equal(t, audit.PrincipalHuman, tr.Actor.Type)
	sk, err := store.Skill(ctx, id)
	require.NoError(t, err)
	var art skill.Artifact
	require.NoError(t, json.Unmarshal(sk.Artifact, &art))
	rec, err := store.GetPlan(ctx, "intent-cand")
	require.NoError(t, err)
	require.Equal(t, "intent-cand", art.SourceIntentID)
	require.Equal(t, rec.PlanHash, art.PlanHash)
	require.Equal(t, rec.CodeHash, art.CodeHash)
	var meta skill.GenerationMetadata
	require.NoError(t, json.Unmarshal(sk.GenerationMetadata, &meta))
	require.Equal(t, skill.Scores{IFo: 0.88, IFs: 0.94, IFg: 1, IDI: 1}, meta.PromotionScores)
	require.Equal(t, 4, meta.ExecutionCountAtPromotion)
	require.Equal(t, bundle.Version, meta.PolicyBundleAtPromotion)
	require.Equal(t, cat.SnapshotVersion, meta.CatalogSnapshotAtPromotion)

	// Promoted once: again is a refused transition, not a second artifact.
	_, err = service.PromoteSkill(ctx, store, bundle, id, service.Caller{ID: "joao"}, "again")
	require.True(t, errors.Is(err, skill.ErrRefused), err)
}

// TestBundleChangeReevaluatesSkills: a new bundle that no longer approves
// an active skill demotes it (policy_change) and takes it out of service
// (its schedules are paused by the callback); one whose dataset left the
// catalog is retired; the same versions again change nothing.
func TestBundleChangeReevaluatesSkills(t *testing.T) {
	d := dbtest.New(t, "service_reevaluate")
	ctx := context.Background()
	store := db.New(d.Worker)
	cat := plannertest.Catalog()
	shipped, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)

	silver := executed(t, store, cat, "intent-silver", plannertest.Reconciliation(cat))
	silverID := candidate(t, store, "intent-silver", silver)
	_, err = service.PromoteSkill(ctx, store, shipped, silverID, service.Caller{ID: "maria"}, "reviewed")
	require.NoError(t, err)
	gold := executed(t, store, cat, "intent-gold", plannertest.RevenueByState(cat))
	goldID := candidate(t, store, "intent-gold", gold)

	env, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	var outOfService []string
	out := func(_ context.Context, id, reason string) ([]string, error) {
		outOfService = append(outOfService, id)
		require.NotEmpty(t, reason)
		return []string{"daily-" + id[:6]}, nil
	}

	// The bundle in force still approves both: nothing moves.
	done, err := service.ReevaluateSkills(ctx, store, shipped, cat, env, out)
	require.NoError(t, err)
	require.Empty(t, done)

	frozen := bundleWith(t, "contract_enforcement.yaml", "\ntests:", freezeSilver)
	require.NotEqual(t, shipped.Version, frozen.Version)
	for range 2 { // the second pass finds it recorded
		done, err = service.ReevaluateSkills(ctx, store, frozen, cat, env, out)
		require.NoError(t, err)
		if len(done) == 0 {
			break
		}
		require.Len(t, done, 1)
		r := done[0]
		require.Equal(t, silverID, r.SkillID)
		require.Equal(t, skill.PersistedActive, r.From)
		require.Equal(t, skill.Demoted, r.To)
		require.Equal(t, skill.PolicyChange, r.Trigger)
		require.Contains(t, r.Reason, frozen.Version)
		require.Contains(t, r.Reason, "CONTRACT_WRITE_OUTSIDE_LAYER")
		require.Equal(t, []string{"daily-" + silverID[:6]}, r.Paused)
	}
	require.Empty(t, done, "the same bundle again changes nothing")
	require.Equal(t, []string{silverID}, outOfService)
	history, err := store.SkillHistory(ctx, silverID)
	require.NoError(t, err)
	last := history[len(history)-1]
	require.Equal(t, "bundle:"+frozen.Version, last.Cause)
	require.Equal(t, "promotion_engine", last.Actor.ID)

	// The gold skill is a candidate, not served: a policy change does not
	// touch it, but its dataset leaving the catalog retires it.
	sk, err := store.Skill(ctx, goldID)
	require.NoError(t, err)
	require.Equal(t, skill.PromotionCandidate, sk.State)
	smaller := &catalog.Catalog{SnapshotVersion: "catalog_without_gold"}
	for _, ds := range cat.Datasets {
		if ds.Name != "gold_faturamento_uf" {
			smaller.Datasets = append(smaller.Datasets, ds)
		}
	}
	done, err = service.ReevaluateSkills(ctx, store, frozen, smaller, env, out)
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, goldID, done[0].SkillID)
	require.Equal(t, skill.Retired, done[0].To)
	require.Equal(t, skill.CatalogIncompatibility, done[0].Trigger)
	require.Contains(t, done[0].Reason, "gold_faturamento_uf")
	require.Equal(t, []string{silverID}, outOfService, "a candidate has no schedule to pause: it was never served")
}
