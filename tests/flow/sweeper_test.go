package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/ttl"
	"github.com/contextualflux/cfa/workflows"
)

func runSweep(t *testing.T, at time.Time) activities.Swept {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	app.Register(env, newActivities(t, nil))
	env.SetStartWorkflowOptions(startOptions(uniqueID(t)))
	env.SetStartTime(at) // the injected clock: workflow.Now
	env.ExecuteWorkflow(workflows.TTLSweeperWorkflowName)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out activities.Swept
	require.NoError(t, env.GetWorkflowResult(&out))
	return out
}

func TestTTLSweeperMarksStaleAndEscalatesOnce(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "ttl_partial", State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2029-12-31"}, UpdatedAt: base},
		{Name: "ttl_quarantined", State: registry.StateQuarantined, QuarantinedUnits: []string{"2029-12-30"}, UpdatedAt: base},
	}, db.Operator{By: "test", Reason: "ttl test"})
	require.NoError(t, err)

	// Within the TTL nothing changes.
	out := runSweep(t, base.Add(6*24*time.Hour))
	for _, tr := range out.Transitions {
		require.NotContains(t, []string{"ttl_partial", "ttl_quarantined"}, tr.Dataset)
	}

	// Eight days on: partially_committed → stale, in a new snapshot.
	out = runSweep(t, base.Add(8*24*time.Hour))
	require.NotEmpty(t, out.VersionID)
	latest, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	st, _ := latest.Dataset("ttl_partial")
	require.Equal(t, registry.StateStale, st.State)
	require.False(t, st.PublishAllowed)

	// 31 days on: the quarantine is escalated to manual review, once.
	out = runSweep(t, base.Add(31*24*time.Hour))
	var escalated int
	for _, tr := range out.Transitions {
		if tr.Dataset == "ttl_quarantined" {
			escalated++
			require.Equal(t, ttl.EscalateToManualReview, tr.Action)
		}
	}
	require.Equal(t, 1, escalated)
	out = runSweep(t, base.Add(32*24*time.Hour))
	for _, tr := range out.Transitions {
		require.NotEqual(t, "ttl_quarantined", tr.Dataset, "an episode is escalated once")
	}
	es, err := store.Escalations(ctx)
	require.NoError(t, err)
	mine := 0
	for _, e := range es {
		if e.Dataset == "ttl_quarantined" {
			mine++
		}
	}
	require.Equal(t, 1, mine)
}

func TestExpiredQuarantineBlocksDependentIntentsUntilReviewed(t *testing.T) {
	ctx := context.Background()
	// vendas_diarias quarantined 40 days ago: past the 30-day TTL.
	since := time.Now().UTC().Add(-40 * 24 * time.Hour)
	_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "vendas_diarias", State: registry.StateQuarantined, QuarantinedUnits: []string{"x"}, UpdatedAt: since}}, db.Operator{By: "test", Reason: "ttl test"})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "vendas_diarias", State: registry.StateCommitted, PublishAllowed: true}}, db.Operator{By: "test", Reason: "test cleanup"})
		require.NoError(t, err)
	})
	id := uniqueID(t)
	res := run(t, newEnv(t, newActivities(t, nil), id), workflows.IntentInput{Text: autoAggregate})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, ttl.CodeManualReviewRequired, res.Faults[0].Code)

	// The sweeper records the escalation; a human reviews it; intents run.
	runSweep(t, time.Now().UTC())
	n, err := store.ReviewEscalation(ctx, "vendas_diarias", "steward")
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	res = run(t, newEnv(t, newActivities(t, nil), uniqueID(t)), workflows.IntentInput{Text: autoAggregate})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
}
