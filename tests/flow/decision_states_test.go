package flow_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/policies"
	"github.com/contextualflux/cfa/workflows"
)

// advisoryBundle is the shipped bundle with the FinOps broadcast threshold
// lowered from 10 GiB to 100 MiB (a stricter FinOps team), so the 500 MB
// client master no longer broadcasts: the reconcile intent is approved with
// the FINOPS_LARGE_SHUFFLE_JOIN warning.
func advisoryBundle(t *testing.T) *policy.Bundle {
	t.Helper()
	files := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(policies.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, path)
		files[path] = &fstest.MapFile{Data: b}
		return err
	}))
	finops := string(files["finops_guard.yaml"].Data)
	for _, r := range []struct{ old, new string }{
		{"min_source_size_bytes > 10737418240", "min_source_size_bytes > 104857600"},
		{"min_source_size_bytes: 524288000", "min_source_size_bytes: 52428800"}, // its self-test's broadcastable side
	} {
		require.Contains(t, finops, r.old, "the shipped finops_guard.yaml changed; update this fixture")
		finops = strings.Replace(finops, r.old, r.new, 1)
	}
	files["finops_guard.yaml"] = &fstest.MapFile{Data: []byte(finops)}
	b, err := policy.Load(files)
	require.NoError(t, err)
	return b
}

// TestEveryDecisionStateIsReachable runs one intent per decision_state of
// the closed enum (whitepaper 5.14) through the workflow, on the seeded
// data plane, and checks the DECISION event records it.
func TestEveryDecisionStateIsReachable(t *testing.T) {
	other, err := policy.Load(os.DirFS("../../internal/policy/testdata/nonconverging"))
	require.NoError(t, err)
	cases := []struct {
		state  decision.State
		broken bool
		before int // earlier runs of the same intent, in its skill's window
		bundle func(t *testing.T) *policy.Bundle
		in     workflows.IntentInput
		// inject runs during the broken partition's retry backoff.
		inject func(env *testsuite.TestWorkflowEnvironment, acts *activities.Activities)
		check  func(t *testing.T, res workflows.IntentResult)
	}{
		{state: decision.Approved, in: workflows.IntentInput{Text: reconcileToSilver}},
		{state: decision.ApprovedWithWarnings, bundle: advisoryBundle, in: workflows.IntentInput{Text: reconcileToSilver},
			check: func(t *testing.T, res workflows.IntentResult) {
				require.Equal(t, string(decision.AuthorityPolicyEngine), res.DecidedBy)
				require.Equal(t, []string{"FINOPS_LARGE_SHUFFLE_JOIN"}, faultCodesOf(res.Faults))
				require.Len(t, res.Execution.Units, 3, "a warning does not stop the execution")
				for _, u := range res.Execution.Units {
					require.Equal(t, "commit", u.State)
				}
			}},
		{state: decision.Replanned, in: workflows.IntentInput{Text: reconcileToSilver, ReplanMode: policy.ReplanPropose},
			check: func(t *testing.T, res workflows.IntentResult) {
				require.Equal(t, string(decision.AuthorityPolicyEngine), res.DecidedBy)
				require.Equal(t, policy.ReasonReplanProposed, res.Reason)
				require.NotNil(t, res.Proposed)
				require.Equal(t, 1, res.Proposed.Replan)
				require.Nil(t, res.Execution, "a replanned cycle runs nothing")
				require.Empty(t, res.PlanHash)
			}},
		{state: decision.Blocked, in: workflows.IntentInput{Text: "make the numbers look better"}},
		{state: decision.PartiallyCommitted, broken: true, in: workflows.IntentInput{Text: reconcileToSilver}},
		{state: decision.Quarantined, broken: true, in: workflows.IntentInput{Text: reconcileToSilver},
			inject: func(_ *testsuite.TestWorkflowEnvironment, acts *activities.Activities) { acts.Bundle = other },
			check: func(t *testing.T, res workflows.IntentResult) {
				require.Equal(t, string(partialexecution.TriggerPolicyBundleChangedMidExec), res.Execution.Panic.Trigger)
			}},
		{state: decision.RolledBack, broken: true, in: workflows.IntentInput{Text: reconcileToSilver, PartialFailureMode: string(partialexecution.FullRollback)}},
		{state: decision.PromotionCandidate, before: 2, in: workflows.IntentInput{Text: reconcileToSilver},
			check: func(t *testing.T, res workflows.IntentResult) {
				require.Equal(t, workflows.StagePromotion, res.DecidedBy)
				require.Equal(t, lifecycle.ReasonThresholdsMet, res.Promotion.Reason)
				require.Equal(t, 3, res.Promotion.SuccessfulExecutions)
			}},
	}
	seen := map[decision.State]bool{}
	for _, c := range cases {
		t.Run(string(c.state), func(t *testing.T) {
			seedDemo(t, c.broken)
			for range c.before {
				id := uniqueID(t)
				env := newEnv(t, newActivities(t, nil), id)
				approveAt(env, time.Minute)
				require.Equal(t, decision.Approved, run(t, env, workflows.IntentInput{Text: c.in.Text, AsOf: dataplane.DemoAsOf}).DecisionState)
			}
			acts := newActivities(t, nil)
			if c.bundle != nil {
				acts = newActivities(t, c.bundle(t))
			}
			id := uniqueID(t)
			env := newEnv(t, acts, id)
			approveAt(env, time.Minute)
			if c.inject != nil {
				env.RegisterDelayedCallback(func() { c.inject(env, acts) }, time.Minute+5*time.Second)
			}
			in := c.in
			in.AsOf, in.UnitRetryBaseSeconds = dataplane.DemoAsOf, 10
			res := run(t, env, in)
			require.Equal(t, c.state, res.DecisionState, res.Reason)
			require.Equal(t, string(c.state), decisionEventState(t, id), "the DECISION event records the state")
			if c.check != nil {
				c.check(t, res)
			}
			seen[c.state] = true
		})
	}
	for _, s := range decision.States {
		require.True(t, seen[s], "no case reaches %s", s)
	}
}

// TestProposedReplanIsTheNextCycle: in propose mode each replan ends its
// cycle with the proposed signature and the next cycle's input (the same
// options and correlation id); running that input is the next cycle, whose
// replan count carries on: a policy proposal, then a pre-cost proposal,
// then an approved third cycle.
func TestProposedReplanIsTheNextCycle(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	// The policy replan is proposed first; its proposal is then over the
	// 10 DBU ceiling, and the pre-cost replan is proposed in turn.
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, ReplanMode: policy.ReplanPropose, CostCeilingDBU: 10, DryRun: true, CorrelationID: "cycles"})
	require.Equal(t, decision.Replanned, res.DecisionState)
	require.Equal(t, string(decision.AuthorityPolicyEngine), res.DecidedBy)
	next := res.NextCycle
	require.NotNil(t, next)
	require.Equal(t, res.Proposed, next.Signature)
	require.Empty(t, next.Text)
	require.Equal(t, "cycles", next.CorrelationID)
	require.Equal(t, 10.0, next.CostCeilingDBU, "the options carry over")
	require.Equal(t, policy.ReplanPropose, next.ReplanMode)

	id2 := uniqueID(t)
	env = newEnv(t, newActivities(t, nil), id2)
	approveAt(env, time.Minute)
	res = run(t, env, *next)
	require.Equal(t, decision.Replanned, res.DecisionState, res.Reason)
	require.Equal(t, string(decision.AuthorityPreCostEstimator), res.DecidedBy)
	require.Equal(t, []string{fault.CodePreCostCeilingExceeded}, faultCodesOf(res.Faults))
	require.Equal(t, 2, res.Proposed.Replan, "the count carries across cycles")
	require.Less(t, res.Proposed.Constraints.TemporalFilter.LastDays, 30)
	require.Contains(t, eventTypes(t, id2), audit.EventPreCostReplan)
	require.Equal(t, "cycles", res.CorrelationID)

	id3 := uniqueID(t)
	env = newEnv(t, newActivities(t, nil), id3)
	approveAt(env, time.Minute, 3*time.Minute)
	res = run(t, env, *res.NextCycle)
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Nil(t, res.NextCycle)
	require.Equal(t, 2, res.Replans)
	require.Nil(t, res.Proposed)
}

func faultCodesOf(fs []fault.Fault) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

// decisionEventState reads decision_state from the intent's DECISION event.
func decisionEventState(t *testing.T, intentID string) string {
	t.Helper()
	var details []byte
	require.NoError(t, testDB.Pool.QueryRow(context.Background(),
		`SELECT details FROM audit_events WHERE intent_id = $1 AND event_type = $2`, intentID, audit.EventDecision).Scan(&details))
	var d struct {
		State string `json:"decision_state"`
	}
	require.NoError(t, json.Unmarshal(details, &d))
	return d.State
}

// TestPromotionEvaluation: step 18 evaluates every executed intent of one
// skill (its shape hash) over the domain's window. Two clean runs are not
// enough evidence, the third is a promotion_candidate, a partial run is
// not_eligible with the whitepaper's reason partial_execution, and the
// evidence is write-once.
func TestPromotionEvaluation(t *testing.T) {
	seedDemo(t, false)
	runOnce := func() (string, workflows.IntentResult) {
		id := uniqueID(t)
		env := newEnv(t, newActivities(t, nil), id)
		approveAt(env, time.Minute)
		// A skill of its own: TestEveryDecisionStateIsReachable promotes
		// reconcileToSilver's in the same database.
		return id, run(t, env, workflows.IntentInput{Text: reconcileToSilver + " last 20 days", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	}
	for i := 1; i <= 3; i++ {
		id, res := runOnce()
		require.NotNil(t, res.Promotion)
		ev := res.Promotion
		require.Equal(t, i, ev.Executions)
		require.Equal(t, "last_3_days", ev.Window, "fiscal is a high-volatility domain")
		require.Equal(t, 1.0, ev.IFg)
		require.Equal(t, 1.0, ev.IDI)
		require.Contains(t, eventTypes(t, id), audit.EventPromotionEvaluation)
		if i < 3 {
			require.Equal(t, decision.Approved, res.DecisionState)
			require.Equal(t, lifecycle.ReasonInsufficientExecutions, ev.Reason)
			require.Equal(t, lifecycle.OutcomeNotEligible, ev.Outcome)
			continue
		}
		require.Equal(t, decision.PromotionCandidate, res.DecisionState, res.Reason)
		require.Equal(t, lifecycle.OutcomeEligible, ev.Outcome)
		require.GreaterOrEqual(t, ev.IFo, 0.75)
		require.GreaterOrEqual(t, ev.IFs, 0.90)

		// The skill moved with it (5.12): ephemeral → promotion_candidate,
		// by the promotion engine, caused by this intent, audited.
		key, err := skill.Key(*res.Signature)
		require.NoError(t, err)
		sk, err := store.Skill(context.Background(), key)
		require.NoError(t, err)
		history, err := store.SkillHistory(context.Background(), key)
		require.NoError(t, err)
		// The package's database is shared: another test may have moved
		// this skill first (TestEveryDecisionStateIsReachable runs the
		// same signature), and an intent moves a skill at most once.
		require.NotEmpty(t, history)
		causes := map[string]int{}
		var passed, promoted *db.SkillTransition
		for i, h := range history {
			causes[h.Cause]++
			switch h.Trigger {
			case skill.GatePassed:
				passed = &history[i]
			case skill.Promoted:
				promoted = &history[i]
			}
		}
		for c, n := range causes {
			require.Equal(t, 1, n, "cause %s moved the skill more than once", c)
		}
		require.NotNil(t, passed)
		require.Equal(t, "promotion_engine", passed.Actor.ID)
		require.True(t, strings.HasPrefix(passed.Cause, "intent:"), passed.Cause)
		// promotion.mode automatic (policies/lifecycle.yaml): the candidate
		// is promoted at once, freezing its execution's artifact (ADR 0129).
		require.NotNil(t, promoted, "the candidate is promoted")
		require.Equal(t, "promote:"+passed.Cause, promoted.Cause)
		require.True(t, skill.Served(sk.State), sk.State)
		require.NotEmpty(t, sk.Artifact)
		var art skill.Artifact
		require.NoError(t, json.Unmarshal(sk.Artifact, &art))
		var meta skill.GenerationMetadata
		require.NoError(t, json.Unmarshal(sk.GenerationMetadata, &meta))
		require.Equal(t, key, art.SkillID)
		require.Equal(t, strings.TrimPrefix(passed.Cause, "intent:"), art.SourceIntentID)
		rec, err := store.GetPlan(context.Background(), art.SourceIntentID)
		require.NoError(t, err)
		require.Equal(t, rec.PlanHash, art.PlanHash)
		require.Equal(t, rec.CodeHash, art.CodeHash)
		require.Equal(t, "last_3_days", meta.EvaluationWindow)
		require.Equal(t, 3, meta.ExecutionCountAtPromotion)
		require.Equal(t, res.Signature.ExecutionContext.PolicyBundleVersion, meta.PolicyBundleAtPromotion)
		require.Equal(t, res.Signature.ExecutionContext.CatalogSnapshotVersion, meta.CatalogSnapshotAtPromotion)
		require.Equal(t, 1.0, meta.PromotionScores.IFg)
		require.NotZero(t, meta.PromotionScores.IFo)
		require.True(t, strings.HasPrefix(meta.PromotedBySystemVersion, "cfa_v2"), meta.PromotedBySystemVersion)
		require.False(t, meta.PromotedAt.IsZero())
	}

	// A later intent of the skill reuses the frozen plan, rebound to its
	// own signature hash, and still goes through the rest of the flow.
	_, later := runOnce()
	res := later
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.NotNil(t, res.ServedBySkill, "served by the persisted skill")
	key, err := skill.Key(*res.Signature)
	require.NoError(t, err)
	require.Equal(t, key, res.ServedBySkill.SkillID)
	require.NotEqual(t, res.ServedBySkill.FrozenPlanHash, res.PlanHash, "rebound to this run's signature")
	require.NotEmpty(t, res.Execution)

	// The upstream partition breaks: the next run is partial, and the
	// skill's indices carry it.
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, dataplane.Reset(ctx, testDB.Pool, cat))
	require.NoError(t, dataplane.Seed(ctx, testDB.Pool, cat, dataplane.Options{BreakPartition: "2026-01-03"}))
	id, res := runOnce()
	require.Equal(t, decision.PartiallyCommitted, res.DecisionState)
	require.Equal(t, lifecycle.ReasonPartialExecution, res.Promotion.Reason)
	require.Equal(t, 5, res.Promotion.Executions)
	require.Equal(t, 0.4, res.Promotion.Current.ExecutionStability, "2 units committed over 5 attempts (1 + 1 + 3)")
	require.Less(t, res.Promotion.Current.SemanticDriftAbsence, 1.0, "null ratio drift in one of three units")

	_, err = testDB.Pool.Exec(ctx, `UPDATE skill_executions SET eligible = true WHERE intent_id = $1`, id)
	require.ErrorContains(t, err, "write-once")
	_, err = testDB.Pool.Exec(ctx, `DELETE FROM skill_executions WHERE intent_id = $1`, id)
	require.ErrorContains(t, err, "write-once")
}
