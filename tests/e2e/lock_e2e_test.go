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
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestTwentyIntentsOnOneScopeAreSerialized: 20 intents queued on one target
// and 10 on another, submitted together (issue 10): none fails (no queued
// intent times out, whatever the wait), each is decided and projected, and
// on each target the holds never overlap and follow the request order.
func TestTwentyIntentsOnOneScopeAreSerialized(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d, cat := testenv.DataPlaneDB(ctx, t, "workflows_lock20", &dataplane.Options{RowsPerPartition: 1200, ClientCount: 300})
	c := testenv.StartDevServer(ctx, t).Client()
	s := db.New(d.Worker)
	acts := devActivities(t, c, s, cat, nil)
	// The gold aggregate writes 27 rows (one per uf) per day: below the
	// default expected_output_range (1,000), which is not what this test is
	// about.
	limits := runtimevalidation.DefaultLimits()
	limits.ExpectedOutputRange.Min = 1
	acts.Execution.Limits = &limits
	startWorker(t, c, acts)
	svc := &service.Service{Temporal: c, Store: s}

	type queued struct{ id, text, asOf, target string }
	const onSilver, onGold = 20, 10
	var intents []queued
	for i := range onSilver + onGold {
		// Every third is the other target's, so both queues fill at once.
		if i%3 == 2 {
			intents = append(intents, queued{fmt.Sprintf("lock20-anon-%02d", i), "anonymize clientes and persist to clientes_anon", dataplane.DemoAsOf, "clientes_anon"})
		} else {
			intents = append(intents, queued{fmt.Sprintf("lock20-silver-%02d", i), reconcileToSilver, dataplane.DemoAsOf, "silver_documentos"})
		}
	}
	var wg sync.WaitGroup
	results := make([]workflows.IntentResult, len(intents))
	errs := make([]error, len(intents))
	for i, in := range intents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Submit(ctx, service.SubmitRequest{IntentID: in.id, Text: in.text, AsOf: in.asOf, UnitRetryBaseSeconds: 1}); err != nil {
				errs[i] = err
				return
			}
			var approveErr error
			res, err := svc.Wait(ctx, in.id, 200*time.Millisecond, nil, func(workflows.PendingEscalation) {
				approveErr = svc.Confirm(ctx, in.id, workflows.SignalApprove, "maria", "ok")
			})
			results[i], errs[i] = res, errors.Join(err, approveErr)
		}()
	}
	wg.Wait()
	waited := map[string]int{}
	for i, r := range results {
		id := intents[i].id
		require.NoError(t, errs[i], id)
		// From the third success on, the skill may be a promotion candidate
		// (step 18): approved all the same.
		require.Contains(t, []decision.State{decision.Approved, decision.PromotionCandidate}, r.DecisionState, "%s: %s %+v", id, r.Reason, r.PolicyAttempts)
		require.NotNil(t, r.Execution, id)
		require.NotEmpty(t, r.Execution.RegistryVersionID, "%s projected", id)
		if r.Execution.Queued {
			waited[intents[i].target]++
		}
	}
	require.Positive(t, waited["silver_documentos"], "intents on one scope waited for each other")
	require.Positive(t, waited["clientes_anon"], "intents on the other target waited for each other")
	for _, id := range intents {
		desc, err := c.DescribeWorkflowExecution(ctx, id.id, "")
		require.NoError(t, err)
		require.Equal(t, "Completed", desc.WorkflowExecutionInfo.Status.String(), "%s: no queued intent fails", id.id)
	}

	// Per target: holds never overlap, and grants follow the queue (request
	// id) order.
	for target, n := range map[string]int{"silver_documentos": onSilver, "clientes_anon": onGold} {
		rows, err := d.Pool.Query(ctx, `SELECT intent_id, min(id), min(acquired_at), max(released_at)
		FROM scope_locks WHERE dataset = $1 GROUP BY intent_id ORDER BY min(id)`, target)
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
		require.Len(t, holds, n, "%s: every intent requested the scope once", target)
		for i := 1; i < len(holds); i++ {
			require.False(t, holds[i].acquired.Before(holds[i-1].released),
				"%s: %s acquired at %s before %s released at %s", target, holds[i].intent, holds[i].acquired, holds[i-1].intent, holds[i-1].released)
		}
	}
	var held int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM scope_locks WHERE status <> 'released'`).Scan(&held))
	require.Zero(t, held, "no scope left held or waiting")
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
	c := testenv.StartDevServer(ctx, t).Client()
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
			require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "ok"))
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
