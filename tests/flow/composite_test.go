package flow_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/workflows"
)

func newCompositeEnv(t *testing.T, id string) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	return newEnv(t, newActivities(t, nil), id)
}

func runComposite(t *testing.T, env *testsuite.TestWorkflowEnvironment, yaml string) workflows.CompositeResult {
	t.Helper()
	g, err := composite.Parse([]byte(yaml))
	require.NoError(t, err)
	env.ExecuteWorkflow(workflows.CompositeIntentWorkflowName, workflows.CompositeInput{Graph: g})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CompositeResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// Sub-intents that need no human: read-only aggregates resolve to auto, the
// vague one is unresolvable and blocked.
const branchesGraph = `
intent_graph:
  root_intent: daily_reports
  sub_intents:
    - id: sales_by_day
      intent: aggregate vendas_diarias by day
    - id: vague
      intent: make the numbers look better
    - id: sales_by_state
      intent: aggregate vendas_diarias by uf
    - id: after_vague
      intent: aggregate vendas_diarias by day
    - id: final_report
      intent: aggregate vendas_diarias by uf
  dependencies:
    - sales_by_day -> sales_by_state
    - vague -> after_vague
    - sales_by_state -> final_report
    - after_vague -> final_report
  shared_context:
    consistency_unit: partition
    key: sale_date
`

func TestCompositeRunsInOrderAndAFailedBranchStopsOnlyItsDependents(t *testing.T) {
	id := uniqueID(t)
	env := newCompositeEnv(t, id)
	res := runComposite(t, env, branchesGraph)

	require.Equal(t, [][]string{{"sales_by_day", "vague"}, {"after_vague", "sales_by_state"}, {"final_report"}}, res.Levels)
	byID := map[string]workflows.SubIntentOutcome{}
	for _, o := range res.SubIntents {
		byID[o.ID] = o
	}
	require.Len(t, byID, 5)
	require.Equal(t, workflows.SubIntentDecided, byID["sales_by_day"].State)
	require.Equal(t, decision.Approved, byID["sales_by_day"].Result.DecisionState)
	require.Equal(t, decision.Blocked, byID["vague"].Result.DecisionState)
	// The independent branch went on; the failed one stopped its dependents.
	require.Equal(t, decision.Approved, byID["sales_by_state"].Result.DecisionState)
	require.Greater(t, byID["sales_by_state"].Order, byID["sales_by_day"].Order, "a dependent runs after its dependency")
	require.Equal(t, workflows.SubIntentSkipped, byID["after_vague"].State)
	require.Equal(t, workflows.SubIntentSkipped, byID["final_report"].State)
	require.Contains(t, byID["final_report"].Reason, "vague")
	require.Equal(t, workflows.SubIntentID(id, "sales_by_state"), byID["sales_by_state"].IntentID)

	require.Equal(t, decision.Blocked, res.DecisionState, "strictest_outcome over the sub-intents")
	require.Equal(t, "sub_intent:after_vague", res.DecidedBy)

	// The parent's audit correlates every sub-intent; the two first-level
	// sub-intents both started before either was decided (parallel).
	types := eventTypes(t, id)
	require.Equal(t, audit.EventIntentReceived, types[0])
	require.Equal(t, audit.EventIntentGraphAccepted, types[1])
	require.Equal(t, []string{audit.EventSubIntentStarted, audit.EventSubIntentStarted}, types[2:4])
	count := map[string]int{}
	for _, ty := range types {
		count[ty]++
	}
	require.Equal(t, 3, count[audit.EventSubIntentStarted])
	require.Equal(t, 3, count[audit.EventSubIntentDecided])
	require.Equal(t, 2, count[audit.EventSubIntentSkipped])

	// Children carry the parent's correlation id in their own trails.
	rs, err := store.AuditByIntent(context.Background(), workflows.SubIntentID(id, "sales_by_state"))
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	parent, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, parent[0].Context["correlation_id"], rs[0].Context["correlation_id"])
}

func TestCompositeAllApproved(t *testing.T) {
	id := uniqueID(t)
	res := runComposite(t, newCompositeEnv(t, id), `
intent_graph:
  root_intent: two_reports
  sub_intents:
    - {id: first, intent: aggregate vendas_diarias by day}
    - {id: second, intent: aggregate vendas_diarias by uf}
  dependencies: ["first -> second"]
  shared_context: {consistency_unit: dataset, key: vendas_diarias}
`)
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, 1, res.SubIntents[0].Order)
	require.Equal(t, 2, res.SubIntents[1].Order)
}

func TestCompositeRejectsACycleBeforeRunningAnything(t *testing.T) {
	id := uniqueID(t)
	env := newCompositeEnv(t, id)
	g := composite.IntentGraph{
		RootIntent:    "loop",
		SubIntents:    []composite.SubIntent{{ID: "a", Intent: "aggregate vendas_diarias by day"}, {ID: "b", Intent: "aggregate vendas_diarias by uf"}},
		Dependencies:  []composite.Dependency{{From: "a", To: "b"}, {From: "b", To: "a"}},
		SharedContext: composite.SharedContext{ConsistencyUnit: composite.UnitDataset, Key: "vendas_diarias"},
	}
	env.ExecuteWorkflow(workflows.CompositeIntentWorkflowName, workflows.CompositeInput{Graph: g})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.CompositeResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, fault.CodeIntentGraphInvalid, res.Faults[0].Code)
	require.Contains(t, res.Reason, "a -> b -> a", "the cycle is named")
	require.Empty(t, res.SubIntents)
	for _, ty := range eventTypes(t, id) {
		require.NotEqual(t, audit.EventSubIntentStarted, ty)
	}
}

// TestCompositeDryRunIsRecordedAsOne: the composite's DECISION event says
// it was a dry run, as its sub-intents' do.
func TestCompositeDryRunIsRecordedAsOne(t *testing.T) {
	id := uniqueID(t)
	env := newCompositeEnv(t, id)
	g, err := composite.Parse([]byte(`
intent_graph:
  root_intent: one_report
  sub_intents:
    - {id: only, intent: aggregate vendas_diarias by day}
  shared_context: {consistency_unit: dataset, key: vendas_diarias}
`))
	require.NoError(t, err)
	env.ExecuteWorkflow(workflows.CompositeIntentWorkflowName, workflows.CompositeInput{Graph: g, DryRun: true})
	require.NoError(t, env.GetWorkflowError())
	rs, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	var details string
	for _, r := range rs {
		if r.EventType() == audit.EventDecision {
			details = r.Context[audit.CtxDetails]
		}
	}
	require.Contains(t, details, `"dry_run":true`)
}
