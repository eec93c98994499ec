package e2e_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// brokenPartition is the partition seeded above max_null_ratio: its unit
// fails runtime validation on every attempt.
const brokenPartition = "2026-01-03"

// TestModesAndPanicTriggersOnTheDevServer runs every partial-failure mode and
// every environmental Panic Rollback trigger against the real Postgres and the
// real Temporal dev server (TestExecutionPartialFailureModes and
// TestPanicRollbackTriggers cover the same with the simulated test
// environment). One dev server and one worker serve every subtest, in turn.
func TestModesAndPanicTriggersOnTheDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, cat := testenv.DataPlaneDB(ctx, t, "workflows_modes", nil)
	c := testenv.StartDevServer(ctx, t).Client()
	s := db.New(d.Worker)

	// The worker is replaced mid-intent by the bundle-change case, so it is
	// held in a variable: each Activities value belongs to one worker and is
	// never written while its activities run.
	shipped, err := app.LoadBundle(context.Background(), "")
	require.NoError(t, err)
	runWorker := func(bundle *policy.Bundle) worker.Worker {
		return startWorker(t, c, devActivities(t, c, s, cat, bundle))
	}
	current := runWorker(shipped)
	svc := &service.Service{Temporal: c, Store: s}

	// run submits the intent, approves its escalations by signal and returns
	// its result; during, if set, runs on the test goroutine meanwhile.
	run := func(t *testing.T, id, mode string, retryBase int, during func()) workflows.IntentResult {
		t.Helper()
		_, err := svc.Submit(ctx, service.SubmitRequest{IntentID: id, Text: reconcileToSilver, AsOf: dataplane.DemoAsOf,
			UnitRetryBaseSeconds: retryBase, PartialFailureMode: mode})
		require.NoError(t, err)
		// A failed subtest must not leave its intent running (and holding
		// the scope) for the next one: the next intent recovers the scope
		// of a terminated holder.
		defer func() {
			if t.Failed() {
				_ = c.TerminateWorkflow(context.Background(), id, "", "subtest failed")
			}
		}()
		type waited struct {
			res workflows.IntentResult
			err error
		}
		done := make(chan waited, 1)
		go func() {
			var approveErr error
			res, err := svc.Wait(ctx, id, 100*time.Millisecond, nil, func(workflows.PendingEscalation) {
				approveErr = errors.Join(approveErr, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "ok"))
			})
			done <- waited{res, errors.Join(err, approveErr)}
		}()
		if during != nil {
			during()
		}
		w := <-done
		require.NoError(t, w.err)
		require.Equal(t, id, w.res.IntentID)
		return w.res
	}

	// fresh gives each subtest the same starting point: the demo data with
	// the broken partition, nothing in silver/staging/quarantine/publication,
	// no skill history (step 18 would make a third success a promotion
	// candidate) and silver_documentos committed in the registry, as the
	// testsuite tests leave it between tests.
	fresh := func(t *testing.T) registry.EnvironmentState {
		t.Helper()
		require.NoError(t, dataplane.Reset(ctx, d.Pool, cat))
		require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, dataplane.Options{BreakPartition: brokenPartition}))
		_, err := d.Pool.Exec(ctx, `TRUNCATE skill_executions`)
		require.NoError(t, err)
		env, _, err := s.OverrideDatasetStates(ctx, []registry.DatasetState{
			{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
		}, db.Operator{By: "test", Reason: "modes e2e: start over"})
		require.NoError(t, err)
		return env
	}
	count := func(t *testing.T, query string, args ...any) (n int) {
		t.Helper()
		require.NoError(t, d.Pool.QueryRow(ctx, query, args...).Scan(&n))
		return n
	}
	noLockLeft := func(t *testing.T, id string) {
		t.Helper()
		active, err := s.ActiveLocks(ctx)
		require.NoError(t, err)
		for _, h := range active {
			require.NotEqual(t, id, h.IntentID, "the scope is released")
		}
	}
	events := func(t *testing.T, id string) []string {
		t.Helper()
		rs, err := s.AuditByIntent(ctx, id)
		require.NoError(t, err)
		require.NoError(t, audit.CompletePerIntent(rs), "every intent has a start and an end event")
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Context["event_type"]
		}
		return out
	}

	t.Run("partial failure modes", func(t *testing.T) {
		cases := []struct {
			mode      partialexecution.Mode
			decision  decision.State
			overall   partialexecution.OverallState
			broken    string // unit action of the broken partition
			committed string // unit action of a good partition
			state     string // registry state of silver_documentos after the projection
			publish   string // publication status of a good partition; "" none
		}{
			{partialexecution.FullRollback, decision.RolledBack, partialexecution.OverallRolledBack, "discard", "discard", "", ""},
			{partialexecution.SelectiveQuarantine, decision.PartiallyCommitted, partialexecution.OverallPartiallyCommitted, "quarantine", "commit", registry.StatePartiallyCommitted, "committed_not_published"},
			{partialexecution.PartialCommitNoPublish, decision.PartiallyCommitted, partialexecution.OverallPartiallyCommitted, "discard", "commit", registry.StatePartiallyCommitted, "committed_not_published"},
			// publish is not asked for by the intent, so nothing is degraded-published.
			{partialexecution.DegradedPublish, decision.PartiallyCommitted, partialexecution.OverallPartiallyCommitted, "discard", "commit", registry.StatePartiallyCommitted, "committed_not_published"},
		}
		require.Len(t, cases, len(partialexecution.Modes), "every mode is covered")
		for _, tc := range cases {
			t.Run(string(tc.mode), func(t *testing.T) {
				before := fresh(t)
				id := "modes-" + string(tc.mode)
				res := run(t, id, string(tc.mode), 1, nil)

				require.Equal(t, tc.decision, res.DecisionState, res.Reason)
				ex := res.Execution
				require.NotNil(t, ex)
				require.Nil(t, ex.Panic)
				require.NotNil(t, ex.PartialExecutionState)
				require.Equal(t, tc.overall, ex.PartialExecutionState.OverallState)
				require.Equal(t, tc.mode, ex.PartialExecutionState.ConsistencyPolicy.Mode, "the requested mode was applied")
				require.False(t, ex.PartialExecutionState.ConsistencyPolicy.PublishAllowed, "I7: a unit failed")
				require.Len(t, ex.Units, 3)
				for _, u := range ex.Units {
					want := tc.committed
					if u.Key == brokenPartition {
						want = tc.broken
						require.Equal(t, runtimevalidation.CodeNullRatioExceeded, u.ErrorCode)
						require.Equal(t, 3, u.Attempts, "retried by the activity RetryPolicy before the policy applied")
					}
					require.Equal(t, want, u.State, "unit %s", u.Key)
				}

				// The data moved where the policy said.
				good := count(t, `SELECT count(*) FROM silver.silver_documentos WHERE processing_date = '2026-01-01'`)
				require.Equal(t, tc.committed == "commit", good > 0, "good partitions reach the target iff committed")
				require.Zero(t, count(t, `SELECT count(*) FROM silver.silver_documentos WHERE processing_date = $1`, brokenPartition),
					"the failed partition never reaches the target")
				quarantined := count(t, `SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, id)
				require.Equal(t, tc.broken == "quarantine", quarantined > 0, "only selective_quarantine keeps the failed output")
				require.Zero(t, count(t, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, id),
					"staging is emptied by the projection")
				rows, err := d.Pool.Query(ctx, `SELECT status FROM public.cfa_publication WHERE dataset = 'silver_documentos' AND partition_value = '2026-01-01'`)
				require.NoError(t, err)
				status, err := pgx.CollectRows(rows, pgx.RowTo[string])
				require.NoError(t, err)
				if tc.publish == "" {
					require.Empty(t, status, "nothing committed, nothing in the publication")
				} else {
					require.Equal(t, []string{tc.publish}, status)
				}

				// The registry shows it.
				latest, err := s.LatestSnapshot(ctx)
				require.NoError(t, err)
				require.Equal(t, ex.RegistryVersionID, latest.VersionID, "the projection is the latest snapshot")
				require.NotEqual(t, before.VersionID, latest.VersionID)
				sd, ok := latest.Dataset("silver_documentos")
				require.True(t, ok)
				if tc.state == "" {
					// Nothing committed: the entry stays as fresh left it.
					was, _ := before.Dataset("silver_documentos")
					require.Equal(t, was.State, sd.State)
					require.Equal(t, was.PublishAllowed, sd.PublishAllowed)
					require.Empty(t, sd.PendingPartitions)
				} else {
					require.Equal(t, tc.state, sd.State)
					require.False(t, sd.PublishAllowed, "I7: never trusted while a unit is pending")
					require.Contains(t, sd.PendingPartitions, brokenPartition)
				}
				if tc.broken == "quarantine" {
					require.Contains(t, sd.QuarantinedUnits, brokenPartition)
				}
				require.Subset(t, events(t, id), []string{audit.EventUnitExecuted, audit.EventPartialExecution, audit.EventEnvironmentUpdate})
				noLockLeft(t, id)
			})
		}
	})

	other, err := policy.Load(os.DirFS("../../internal/policy/testdata/nonconverging"))
	require.NoError(t, err)
	require.NotEqual(t, shipped.Version, other.Version)

	t.Run("panic rollback triggers", func(t *testing.T) {
		// Each case injects a real fault. retryBase is the backoff the broken
		// partition waits after its first failed attempt (the window of the
		// faults injected mid-execution); setup runs before the submit, during
		// while the intent runs.
		cases := []struct {
			trigger   partialexecution.Trigger
			retryBase int
			setup     func(t *testing.T, id string)
			during    func(t *testing.T, id string)
		}{
			{trigger: partialexecution.TriggerExecutionCancelled, retryBase: 2,
				during: func(t *testing.T, id string) {
					waitForUnitRetry(t, ctx, c, svc, id)
					require.NoError(t, c.CancelWorkflow(ctx, id, ""))
				}},
			{trigger: partialexecution.TriggerExternalPermissionRevoked, retryBase: 2,
				during: func(t *testing.T, id string) {
					waitForUnitRetry(t, ctx, c, svc, id)
					n, err := dataplane.RevokeSandboxSelect(ctx, d.Pool, testenv.Dataset(t, "nfe"))
					require.NoError(t, err)
					require.Positive(t, n, "the sandbox role had SELECT on bronze.nfe")
				}},
			{trigger: partialexecution.TriggerStorageQuotaExceeded, retryBase: 2,
				setup: func(t *testing.T, id string) {
					// What Postgres raises when the disk is full (SQLSTATE 53100).
					testenv.InstallStagingFault(ctx, t, d.Pool, id, brokenPartition,
						`RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'`)
				}},
			{trigger: partialexecution.TriggerConnectionLost, retryBase: 2,
				setup: func(t *testing.T, id string) {
					// The unit's own backend is terminated mid-statement: the
					// server sends FATAL 57P01 and closes the socket.
					testenv.InstallStagingFault(ctx, t, d.Pool, id, brokenPartition,
						`PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5)`)
				}},
			{trigger: partialexecution.TriggerPolicyBundleChangedMidExec, retryBase: 3,
				during: func(t *testing.T, id string) {
					// A deploy: the worker is stopped while the broken
					// partition waits, and one enforcing another bundle takes
					// over; the retry meets a bundle the signature was not
					// made under. The shipped bundle is restored afterwards.
					waitForUnitRetry(t, ctx, c, svc, id)
					current.Stop()
					current = runWorker(other)
					t.Cleanup(func() {
						current.Stop()
						current = runWorker(shipped)
					})
				}},
		}
		for _, tc := range cases {
			t.Run(string(tc.trigger), func(t *testing.T) {
				before := fresh(t)
				id := "panic-" + string(tc.trigger)
				if tc.setup != nil {
					tc.setup(t, id)
				}
				var during func()
				if tc.during != nil {
					during = func() { tc.during(t, id) }
				}
				res := run(t, id, "", tc.retryBase, during)

				require.Equal(t, decision.Quarantined, res.DecisionState, res.Reason)
				require.NotNil(t, res.Execution)
				require.NotNil(t, res.Execution.Panic, "PANIC_ROLLBACK_TRIGGERED")
				require.Equal(t, string(tc.trigger), res.Execution.Panic.Trigger, res.Execution.Panic.Reason)
				require.Empty(t, res.Execution.RegistryVersionID, "nothing projected")
				require.Len(t, res.Execution.Units, 3)
				for _, u := range res.Execution.Units {
					require.Equal(t, "quarantined", u.State, "unit %s", u.Key)
					require.Equal(t, fault.CodePanicRollbackTriggered, u.ErrorCode, "unit %s", u.Key)
				}

				after, err := s.LatestSnapshot(ctx)
				require.NoError(t, err)
				require.Equal(t, before.VersionID, after.VersionID, "nothing projected")
				require.Zero(t, count(t, `SELECT count(*) FROM silver.silver_documentos`), "nothing reached the target")
				require.Zero(t, count(t, `SELECT count(*) FROM public.cfa_publication`), "nothing published")
				// The good partitions finished (and staged) before the fault:
				// their outputs are what the rollback quarantines.
				rows, err := d.Pool.Query(ctx, `SELECT DISTINCT cfa_unit_key FROM quarantine.silver_documentos
					WHERE cfa_intent_id = $1 AND cfa_fault_code = $2 ORDER BY 1`, id, fault.CodePanicRollbackTriggered)
				require.NoError(t, err)
				quarantined, err := pgx.CollectRows(rows, pgx.RowTo[string])
				require.NoError(t, err)
				require.Subset(t, quarantined, []string{"2026-01-01", "2026-01-02"}, "the staged outputs are quarantined")
				require.Zero(t, count(t, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, id),
					"nothing is left in staging")
				require.Contains(t, events(t, id), audit.EventPanicRollback)
				noLockLeft(t, id)
			})
		}
	})
}

// waitForUnitRetry waits until a unit of the intent failed its first attempt
// and waits for its retry (a pending ExecuteUnit with a last failure, not yet
// started again), and every other unit has finished: the window in which
// the panic cases inject their fault.
func waitForUnitRetry(t *testing.T, ctx context.Context, c client.Client, svc *service.Service, id string) {
	t.Helper()
	testenv.WaitFor(t, time.Minute, "a unit of "+id+" waiting for its retry", func() bool {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return false
		}
		backoff := false
		for _, pa := range desc.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "ExecuteUnit" && pa.GetLastFailure() != nil &&
				pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
				backoff = true
			}
		}
		if !backoff {
			return false
		}
		st, err := svc.Status(ctx, id)
		if err != nil || len(st.Units) == 0 {
			return false
		}
		for _, u := range st.Units {
			if u.Key != brokenPartition && u.State == "running" {
				return false
			}
		}
		return true
	})
}
