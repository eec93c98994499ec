package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestTwentyIntentsOnOneScopeAreSerialized submits 20 intents that write the
// same partitions of silver_documentos at once, on the real dev server: each
// executes, none overlaps another's hold of the scope, none is lost, and the
// scopes are granted in the order the intents queued.
func TestTwentyIntentsOnOneScopeAreSerialized(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	d, cat := testenv.DataPlaneDB(ctx, t, "workflows_lock20", &dataplane.Options{RowsPerPartition: 1200, ClientCount: 300})
	c := startDevServer(ctx, t).Client()
	s := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, s, cat, nil))
	svc := &service.Service{Temporal: c, Store: s}

	const n = 20
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("lock20-%02d", i)
	}
	var wg sync.WaitGroup
	results := make([]workflows.IntentResult, n)
	errs := make([]error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Submit(ctx, service.SubmitRequest{IntentID: id, Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1}); err != nil {
				errs[i] = err
				return
			}
			var approveErr error
			res, err := svc.Wait(ctx, id, 200*time.Millisecond, nil, func(workflows.PendingEscalation) {
				approveErr = svc.Confirm(ctx, id, workflows.SignalApprove, "lock-test", "ok")
			})
			results[i], errs[i] = res, errors.Join(err, approveErr)
		}()
	}
	wg.Wait()
	queued := 0
	for i, r := range results {
		require.NoError(t, errs[i], ids[i])
		// From the third success on, the skill may be a promotion candidate
		// (step 18): approved all the same.
		require.Contains(t, []decision.State{decision.Approved, decision.PromotionCandidate}, r.DecisionState, "%s: %s", ids[i], r.Reason)
		require.NotNil(t, r.Execution)
		require.NotEmpty(t, r.Execution.RegistryVersionID, "%s projected", ids[i])
		if r.Execution.Queued {
			queued++
		}
	}
	require.Positive(t, queued, "intents on one scope waited for each other")

	// Holds never overlap, and grants follow the queue (request id) order.
	rows, err := d.Pool.Query(ctx, `SELECT intent_id, min(id), min(acquired_at), max(released_at)
		FROM scope_locks GROUP BY intent_id ORDER BY min(id)`)
	require.NoError(t, err)
	type hold struct {
		intent             string
		seq                int64
		acquired, released time.Time
	}
	var holds []hold
	for rows.Next() {
		var h hold
		require.NoError(t, rows.Scan(&h.intent, &h.seq, &h.acquired, &h.released))
		holds = append(holds, h)
	}
	require.NoError(t, rows.Err())
	require.Len(t, holds, n, "every intent requested the scope once")
	for i := 1; i < len(holds); i++ {
		require.False(t, holds[i].acquired.Before(holds[i-1].released),
			"%s acquired at %s before %s released at %s", holds[i].intent, holds[i].acquired, holds[i-1].intent, holds[i-1].released)
	}
	var target int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM silver.silver_documentos`).Scan(&target))
	require.Equal(t, 3*1200, target, "20 runs of one intent leave the rows of one run")
}

// TestScopeOfADeadHolderIsRecovered: a workflow holding the target scope was
// terminated before its projection; the next intent finds it no longer
// running, releases its scope and runs (its writes never left staging).
func TestScopeOfADeadHolderIsRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, cat := testenv.DataPlaneDB(ctx, t, "workflows_recover", &dataplane.Options{RowsPerPartition: 1200, ClientCount: 300})
	c := startDevServer(ctx, t).Client()
	s := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, s, cat, nil))
	svc := &service.Service{Temporal: c, Store: s}

	// The dead holder: an intent that waits for a confirmation, holds the
	// whole dataset (as if it had reached step 11) and is terminated.
	_, err := svc.Submit(ctx, service.SubmitRequest{IntentID: "dead-holder", Text: reconcileToSilver, AsOf: dataplane.DemoAsOf})
	require.NoError(t, err)
	st, err := s.AcquireScopes(ctx, db.LockRequest{IntentID: "dead-holder", WorkflowID: "dead-holder", Scopes: []db.LockScope{{Dataset: "silver_documentos"}}})
	require.NoError(t, err)
	require.True(t, st.Held)
	require.NoError(t, c.TerminateWorkflow(ctx, "dead-holder", "", "operator killed it"))

	res := func() workflows.IntentResult {
		id := "after-the-dead"
		_, err := svc.Submit(ctx, service.SubmitRequest{IntentID: id, Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
		require.NoError(t, err)
		r, err := svc.Wait(ctx, id, 200*time.Millisecond, nil, func(workflows.PendingEscalation) {
			require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "test", "ok"))
		})
		require.NoError(t, err)
		return r
	}()
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Contains(t, res.Execution.Recovered, "dead-holder")
	var reason string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT release_reason FROM scope_locks WHERE intent_id = 'dead-holder'`).Scan(&reason))
	require.Equal(t, db.ReleaseRecovered, reason)
}
