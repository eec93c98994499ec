package flow_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
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

// retriedLater is an audit storage that appends every batch twice, the
// second time a minute later: what a workflow task retried after a worker
// died does to the local activities it runs again. The stage goes on with
// the receipts of the retry.
type retriedLater struct {
	next    extension.AuditStorage
	retries atomic.Int32
}

func (r *retriedLater) Append(ctx context.Context, evs ...audit.Event) ([]audit.Receipt, error) {
	first, err := r.next.Append(ctx, evs...)
	if err != nil {
		return nil, err
	}
	later := make([]audit.Event, len(evs))
	for i, e := range evs {
		e.Timestamp = e.Timestamp.Add(time.Minute)
		later[i] = e
	}
	again, err := r.next.Append(ctx, later...)
	if err != nil {
		return nil, err
	}
	for i := range first {
		if !first[i].Timestamp.Equal(again[i].Timestamp) || first[i].Position != again[i].Position {
			return nil, errors.New("the retry got another receipt than the first append")
		}
	}
	r.retries.Add(1)
	return again, nil
}

// TestEveryStageRetriedLaterRecordsTheSameEvents is finding 1 of issue 10:
// each stage's events, appended again at a later workflow time, are the
// events already recorded; the intent (two human escalations, execution,
// projection, promotion) ends decided, complete and with a verified chain.
func TestEveryStageRetriedLaterRecordsTheSameEvents(t *testing.T) {
	seedDemo(t, false)
	id := uniqueID(t)
	base := newActivities(t, nil)
	later := &retriedLater{}
	acts := activities.New(store, base.Catalog, base.Bundle, zap.NewNop(), extension.Points{
		WrapAudit: func(n extension.AuditStorage) extension.AuditStorage { later.next = n; return later },
	})
	env := newEnv(t, acts, id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Greater(t, later.retries.Load(), int32(10))
	types := eventTypes(t, id)
	require.Equal(t, audit.EventIntentReceived, types[0])
	require.Equal(t, audit.EventIntentCompleted, types[len(types)-1])
	require.Len(t, types, int(res.AuditEvents))
	rs, err := store.WholeAuditChain(context.Background())
	require.NoError(t, err)
	require.NoError(t, audit.Verify(rs))
}

// TestSweepRetriedAfterItsCommitKeepsItsTransitions: a sweeper whose
// workflow task is retried after the sweep committed (the worker died
// before the result reached history) runs StartSweep and SweepTTL again,
// later: the sweep keeps its time and returns the transitions it
// committed, so RecordSweep records them (issue 10, finding 1).
func TestSweepRetriedAfterItsCommitKeepsItsTransitions(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "gold_faturamento_uf", State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2031-12-31"}, UpdatedAt: base},
	}, db.Operator{By: "test", Reason: "a partial state to expire"})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "gold_faturamento_uf", State: registry.StateCommitted, PublishAllowed: true}},
			db.Operator{By: "test", Reason: "test cleanup"})
		require.NoError(t, err)
	})
	acts := newActivities(t, nil)
	id := uniqueID(t)
	first := activities.Step{IntentID: id, CorrelationID: id, Seq: 1, At: base.Add(8 * 24 * time.Hour)}
	started, err := acts.StartSweep(ctx, first)
	require.NoError(t, err)
	swept, err := acts.SweepTTL(ctx, first, started.Now)
	require.NoError(t, err)
	require.Len(t, swept.Transitions, 1)

	retry := first
	retry.At = first.At.Add(3 * time.Minute)
	again, err := acts.StartSweep(ctx, retry)
	require.NoError(t, err)
	require.Equal(t, started.Now, again.Now, "the sweep's time is the one recorded first")
	sweptAgain, err := acts.SweepTTL(ctx, retry, again.Now)
	require.NoError(t, err)
	require.Equal(t, swept.Transitions, sweptAgain.Transitions, "the committed transitions, not a sweep of the changed snapshot")
	require.Equal(t, swept.VersionID, sweptAgain.VersionID)

	rec := retry
	rec.Seq = 2
	_, err = acts.RecordSweep(ctx, rec, sweptAgain)
	require.NoError(t, err)
	rec.Seq = 3
	_, err = acts.CompleteSweep(ctx, rec, sweptAgain)
	require.NoError(t, err)
	require.Equal(t, []string{audit.EventIntentReceived, "CONTEXT_STATE_STALE", audit.EventIntentCompleted}, eventTypes(t, id))
}

// TestWorkerCrashesDoNotUseUpAUnitsAttempts is finding 8 of issue 10: a
// unit's attempts lost with a worker (here four, one more than
// max_attempts) are retried by Temporal but not counted against the unit,
// which then runs once and commits.
func TestWorkerCrashesDoNotUseUpAUnitsAttempts(t *testing.T) {
	seedDemo(t, false)
	id := uniqueID(t)
	acts := newActivities(t, nil)
	env := newEnv(t, acts, id)
	const lost = 4
	var calls atomic.Int32
	crashed := map[string]int{}
	env.OnActivity(acts.ExecuteUnit, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.UnitInput) (activities.UnitOutcome, error) {
		calls.Add(1)
		if in.Key == "2026-01-01" && crashed[in.Key] < lost {
			crashed[in.Key]++
			return activities.UnitOutcome{}, errors.New("worker lost: heartbeat timeout")
		}
		return acts.ExecuteUnit(ctx, in)
	})
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Equal(t, lost, crashed["2026-01-01"])
	for _, u := range res.Execution.Units {
		require.Equal(t, "commit", u.State, "unit %s", u.Key)
		require.Equal(t, 1, u.Attempts, "unit %s: lost attempts are not the unit's", u.Key)
	}
}
