package flow_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/workflows"
)

// A stage's activity is retried when a write fails: these tests make one
// write fail once and check the retry records what the first attempt would
// have, once.

// failOnce is an audit storage whose first append of an event of type on
// fails before anything is sealed.
type failOnce struct {
	next  extension.AuditStorage
	on    string
	fired atomic.Bool
}

func (f *failOnce) Append(ctx context.Context, evs ...audit.Event) ([]audit.Receipt, error) {
	for _, e := range evs {
		if e.EventType == f.on && f.fired.CompareAndSwap(false, true) {
			return nil, errors.New("transient: connection reset")
		}
	}
	return f.next.Append(ctx, evs...)
}

// TestSweepRecordedOnceWhenItsAuditIsRetried: the sweep commits the stale
// snapshot, its transition's record fails once, and the retry still
// records the transition (it is not recomputed from the snapshot the sweep
// already changed).
func TestSweepRecordedOnceWhenItsAuditIsRetried(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "gold_faturamento_uf", State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2030-12-31"}, UpdatedAt: base},
	}, db.Operator{By: "test", Reason: "a partial state to expire"})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "gold_faturamento_uf", State: registry.StateCommitted, PublishAllowed: true}},
			db.Operator{By: "test", Reason: "test cleanup"})
		require.NoError(t, err)
	})
	base0 := newActivities(t, nil)
	flaky := &failOnce{on: "CONTEXT_STATE_STALE"}
	acts := activities.New(store, base0.Catalog, base0.Bundle, zap.NewNop(), extension.Points{
		WrapAudit: func(n extension.AuditStorage) extension.AuditStorage { flaky.next = n; return flaky },
	})
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	app.Register(env, acts)
	id := uniqueID(t)
	env.SetStartWorkflowOptions(startOptions(id))
	env.SetStartTime(base.Add(8 * 24 * time.Hour))
	env.ExecuteWorkflow(workflows.TTLSweeperWorkflowName)
	require.NoError(t, env.GetWorkflowError())
	var out activities.Swept
	require.NoError(t, env.GetWorkflowResult(&out))
	require.True(t, flaky.fired.Load(), "the transition's record failed once")
	require.Len(t, out.Transitions, 1)
	require.NotEmpty(t, out.VersionID)
	types := eventTypes(t, id)
	require.Equal(t, []string{audit.EventIntentReceived, "CONTEXT_STATE_STALE", audit.EventIntentCompleted}, types)
}

// flakyStore fails DuplicateKeys (step 18's evidence) and CompleteIntent
// (step 19's index) the given number of times.
type flakyStore struct {
	activities.Storage
	dupFail, completeFail atomic.Int32
}

func (f *flakyStore) DuplicateKeys(ctx context.Context, d catalog.Dataset, p []string) (int64, error) {
	if f.dupFail.Add(-1) >= 0 {
		return 0, errors.New("transient: connection reset")
	}
	return f.Storage.DuplicateKeys(ctx, d, p)
}

func (f *flakyStore) CompleteIntent(ctx context.Context, id, state, hash, mode string) error {
	if f.completeFail.Add(-1) >= 0 {
		return errors.New("transient: connection reset")
	}
	return f.Storage.CompleteIntent(ctx, id, state, hash, mode)
}

// TestPromotionSurvivesATransientFailure: a transient failure of step 18
// or of the intents index is retried; the evaluation is recorded once and
// the decision carries it.
func TestPromotionSurvivesATransientFailure(t *testing.T) {
	for _, c := range []struct {
		name     string
		complete int32
	}{{"the evidence fails once", 0}, {"the evidence and the index fail once", 1}} {
		t.Run(c.name, func(t *testing.T) {
			seedDemo(t, false)
			id := uniqueID(t)
			acts := newActivities(t, nil)
			fs := &flakyStore{Storage: acts.Store}
			fs.dupFail.Store(1)
			fs.completeFail.Store(c.complete)
			acts.Store = fs
			env := newEnv(t, acts, id)
			approveAt(env, time.Minute)
			res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
			require.Equal(t, decision.Approved, res.DecisionState)
			require.NotNil(t, res.Promotion, "the retried evaluation is in the decision")
			ev, err := store.SkillEvaluation(context.Background(), id)
			require.NoError(t, err)
			require.NotNil(t, ev)
			row, err := store.GetIntent(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, workflows.IntentStatusCompleted, row.Status)
			require.Contains(t, eventTypes(t, id), audit.EventPromotionEvaluation)
		})
	}
}
