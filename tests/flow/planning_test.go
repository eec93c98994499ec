package flow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/workflows"
)

// approveAt approves whatever escalation is open at each given time.
func approveAt(env interface {
	RegisterDelayedCallback(func(), time.Duration)
	SignalWorkflow(string, any)
}, at ...time.Duration) {
	for _, d := range at {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "reviewed"})
		}, d)
	}
}

func TestApprovedIntentIsCostedPlannedGeneratedAndValidated(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, DryRun: true})

	require.Equal(t, decision.Approved, res.DecisionState)
	require.NotNil(t, res.PreCost)
	require.Equal(t, precost.ActionProceed, res.PreCost.Verdict.Action)
	require.Greater(t, res.PreCost.Estimate.EstimatedDBU, 0.0)
	require.Len(t, res.PlanHash, 64)
	require.Len(t, res.CodeHash, 64)
	require.Equal(t, planner.UnitPartition, res.ConsistencyUnit)
	require.Equal(t, &workflows.StaticSummary{Passed: true}, res.Static)
	require.True(t, res.DryRun)

	types := eventTypes(t, id)
	require.Subset(t, types, []string{audit.EventPolicyApprove, audit.EventPreCostEstimated, audit.EventExecutionPlanned, audit.EventCodeGenerated, audit.EventCodeAnalysis})
	// Causal order: cost, plan, code, analysis, decision.
	pos := func(e string) int {
		for i, x := range types {
			if x == e {
				return i
			}
		}
		return -1
	}
	require.Less(t, pos(audit.EventPolicyApprove), pos(audit.EventPreCostEstimated))
	require.Less(t, pos(audit.EventPreCostEstimated), pos(audit.EventExecutionPlanned))
	require.Less(t, pos(audit.EventExecutionPlanned), pos(audit.EventCodeGenerated))
	require.Less(t, pos(audit.EventCodeGenerated), pos(audit.EventCodeAnalysis))
	require.Less(t, pos(audit.EventCodeAnalysis), pos(audit.EventDecision))

	rec, err := store.GetPlan(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, res.PlanHash, rec.PlanHash)
	require.Equal(t, res.CodeHash, rec.CodeHash)
	require.Equal(t, res.SignatureHash, rec.SignatureHash)
	require.True(t, *rec.StaticPassed)
	require.True(t, rec.DryRun)
	var p planner.ExecutionPlan
	require.NoError(t, json.Unmarshal(rec.Plan, &p))
	h, err := planner.HashPlan(p)
	require.NoError(t, err)
	require.Equal(t, res.PlanHash, h, "the stored plan is the hashed plan, byte for byte")
}

// clearCostHistory makes the next estimates model-only: executions of the
// same intent shape in other tests recorded their (tiny) real cost.
func clearCostHistory(t *testing.T) {
	t.Helper()
	_, err := testDB.Pool.Exec(context.Background(), `DELETE FROM precost_history`)
	require.NoError(t, err)
}

func TestOverCeilingIntentIsReplannedWithFilter(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	// Hard confirmation of the PII join, then the human escalation of the
	// replanned intent, whose estimate sits just under the ceiling.
	approveAt(env, time.Minute, 3*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, CostCeilingDBU: 10})

	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	types := eventTypes(t, id)
	require.Contains(t, types, audit.EventPreCostReplan)
	require.Less(t, res.Signature.Constraints.TemporalFilter.LastDays, 30, "the filter was narrowed from the policy's 30 days")
	require.Greater(t, res.Replans, res.PolicyAttempts[0].Replan, "the cost replan counts toward the limit")
	require.LessOrEqual(t, res.PreCost.Estimate.EstimatedDBU, 10.0)
	require.NotNil(t, res.CostConfirmation, "near the ceiling a human confirms the spend")
	require.Equal(t, workflows.ConfirmationApproved, res.CostConfirmation.Outcome)
	require.Len(t, res.PlanHash, 64)
}

func TestCostReplanThatCannotNarrowBlocks(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	// An explicit start date is not narrowed by add_temporal_filter, so the
	// replan would change nothing: blocked at once, not looped to the limit.
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver + " since 2025-01-01"})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityPreCostEstimator), res.DecidedBy)
	require.Equal(t, fault.CodePreCostCeilingExceeded, res.Faults[0].Code)
	require.Empty(t, res.PlanHash, "nothing is planned after a block")
	_, err := store.GetPlan(context.Background(), id)
	require.Error(t, err)
}

func TestCostEscalationTimeoutBlocks(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	// 25 DBU against a 30 DBU ceiling: above 80%, nobody answers.
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, CostCeilingDBU: 30})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, precost.ActionEscalate, res.PreCost.Verdict.Action)
	require.Equal(t, workflows.ConfirmationTimeout, res.CostConfirmation.Outcome)
	require.Equal(t, fault.CodeHumanEscalationTimeout, res.Faults[0].Code)
}
