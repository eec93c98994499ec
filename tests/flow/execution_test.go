package flow_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// seedDemo fills the data plane as the demo does: three partitions of nfe,
// the last one breaking max_null_ratio when broken is set.
func seedDemo(t *testing.T, broken bool) {
	t.Helper()
	partition := ""
	if broken {
		partition = "2026-01-03"
	}
	seedDemoBroken(t, partition)
}

// clearLifecycle forgets every skill's executions (step 18), so a test's
// decisions do not depend on the executions of the tests before it.
// TRUNCATE, since the table refuses row deletes.
func clearLifecycle(t *testing.T) {
	t.Helper()
	_, err := testDB.Pool.Exec(context.Background(), `TRUNCATE skill_executions`)
	require.NoError(t, err)
}

// seedDemoBroken seeds the data plane with the given partition (if any)
// breaking max_null_ratio.
func seedDemoBroken(t *testing.T, partition string) {
	t.Helper()
	ctx := context.Background()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	require.NoError(t, dataplane.Reset(ctx, testDB.Pool, cat))
	opts := dataplane.Options{BreakPartition: partition}
	require.NoError(t, dataplane.Seed(ctx, testDB.Pool, cat, opts))
	clearLifecycle(t)
	// The package shares one registry: leave silver_documentos committed
	// for the tests that follow, whatever this one projected.
	t.Cleanup(func() {
		_, _, err := store.OverrideDatasetStates(context.Background(), []registry.DatasetState{
			{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
		}, db.Operator{By: "test", Reason: "test cleanup"})
		require.NoError(t, err)
	})
}

func TestExecutionPartialFailureSelectiveQuarantine(t *testing.T) {
	seedDemo(t, true)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})

	require.Equal(t, decision.PartiallyCommitted, res.DecisionState, res.Reason)
	require.Equal(t, string(decision.AuthorityPartialFailurePolicy), res.DecidedBy)
	ex := res.Execution
	require.NotNil(t, ex)
	require.Len(t, ex.Units, 3)
	byKey := map[string]workflows.UnitState{}
	for _, u := range ex.Units {
		byKey[u.Key] = u
	}
	require.Equal(t, "commit", byKey["2026-01-01"].State)
	require.Equal(t, "commit", byKey["2026-01-02"].State)
	require.Equal(t, "quarantine", byKey["2026-01-03"].State)
	require.Equal(t, runtimevalidation.CodeNullRatioExceeded, byKey["2026-01-03"].ErrorCode)
	require.Equal(t, 3, byKey["2026-01-03"].Attempts, "retried before the policy applied")
	require.Equal(t, "partially_committed", string(ex.PartialExecutionState.OverallState))

	// The registry shows it, and the data moved where the policy said.
	latest, err := store.LatestSnapshot(context.Background())
	require.NoError(t, err)
	require.Equal(t, ex.RegistryVersionID, latest.VersionID)
	sd, ok := latest.Dataset("silver_documentos")
	require.True(t, ok)
	require.Equal(t, registry.StatePartiallyCommitted, sd.State)
	require.False(t, sd.PublishAllowed, "I7")
	require.Contains(t, sd.QuarantinedUnits, "2026-01-03")
	require.Contains(t, sd.PendingPartitions, "2026-01-03")

	var target, quarantined, staged int
	pool := testDB.Pool
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM silver.silver_documentos WHERE processing_date = '2026-01-03'`).Scan(&target))
	require.Zero(t, target, "the failed partition never reaches the target")
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, id).Scan(&quarantined))
	require.Positive(t, quarantined)
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, id).Scan(&staged))
	require.Zero(t, staged, "staging is emptied by the projection")

	types := eventTypes(t, id)
	require.Subset(t, types, []string{audit.EventScopeAcquired, audit.EventRevalidation, audit.EventUnitExecuted,
		audit.EventPartialExecution, audit.EventEnvironmentUpdate})
	active, err := store.ActiveLocks(context.Background())
	require.NoError(t, err)
	for _, h := range active {
		require.NotEqual(t, id, h.IntentID, "the scope is released after the projection")
	}
}

func TestExecutionCommitsAllAndIsIdempotent(t *testing.T) {
	seedDemo(t, false)
	count := func() (n int) {
		require.NoError(t, testDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM silver.silver_documentos`).Scan(&n))
		return n
	}
	var first int
	for i := range 2 {
		id := uniqueID(t)
		env := newEnv(t, newActivities(t, nil), id)
		approveAt(env, time.Minute)
		res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
		require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
		require.Len(t, res.Execution.Units, 3)
		for _, u := range res.Execution.Units {
			require.Equal(t, "commit", u.State)
		}
		if i == 0 {
			first = count()
			require.Positive(t, first)
		} else {
			require.Equal(t, first, count(), "re-running an approved intent leaves the same target data")
			// The feedback loop: the first run's real cost is in the history
			// of the same intent shape, and the estimate uses it.
			require.Equal(t, precost.BasisHistoryWeighted, res.PreCost.Estimate.Basis)
			require.GreaterOrEqual(t, res.PreCost.Estimate.HistoryRuns, 1)
		}
	}
	latest, err := store.LatestSnapshot(context.Background())
	require.NoError(t, err)
	sd, _ := latest.Dataset("silver_documentos")
	require.Equal(t, registry.StateCommitted, sd.State)
}

func TestExecutionRejectModeBlocksWhenScopeIsHeld(t *testing.T) {
	seedDemo(t, false)
	ctx := context.Background()
	// Another intent holds the whole target dataset.
	holder := "holder-" + uniqueID(t)
	_, err := store.AcquireScopes(ctx, lockReqFor(holder, "silver_documentos"))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = store.ReleaseScopes(ctx, holder, db.ReleaseCancelled) })
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, OnConflict: "reject"})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityConcurrencyControl), res.DecidedBy)
	types := eventTypes(t, id)
	require.Contains(t, types, audit.EventScopeCheck, "the lock check of step 3 rejects before anyone is asked to confirm")
	require.NotContains(t, types, audit.EventConfirmationRequested)
}

func TestExecutionPartialFailureModes(t *testing.T) {
	cases := []struct {
		mode      string
		decision  decision.State
		state     string // registry state of silver_documentos
		broken    string // unit action of the broken partition
		committed string // unit action of a good partition
		targetRow bool   // good partitions reach the target
		publish   string // publication status of a good partition
	}{
		{"full_rollback", decision.RolledBack, "", "discard", "discard", false, ""},
		{"selective_quarantine", decision.PartiallyCommitted, registry.StatePartiallyCommitted, "quarantine", "commit", true, "committed_not_published"},
		{"partial_commit_no_publish", decision.PartiallyCommitted, registry.StatePartiallyCommitted, "discard", "commit", true, "committed_not_published"},
		{"degraded_publish", decision.PartiallyCommitted, registry.StatePartiallyCommitted, "discard", "commit", true, "committed_not_published"}, // publish not asked for
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			seedDemo(t, true)
			id := uniqueID(t)
			env := newEnv(t, newActivities(t, nil), id)
			approveAt(env, time.Minute)
			res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1, PartialFailureMode: c.mode})
			require.Equal(t, c.decision, res.DecisionState, res.Reason)
			require.Len(t, res.Execution.Units, 3)
			for _, u := range res.Execution.Units {
				want := c.committed
				if u.Key == "2026-01-03" {
					want = c.broken
				}
				require.Equal(t, want, u.State, "unit %s", u.Key)
			}
			var n int
			require.NoError(t, testDB.Pool.QueryRow(context.Background(),
				`SELECT count(*) FROM silver.silver_documentos WHERE processing_date = '2026-01-01'`).Scan(&n))
			require.Equal(t, c.targetRow, n > 0)
			var status []string
			rows, err := testDB.Pool.Query(context.Background(),
				`SELECT status FROM public.cfa_publication WHERE dataset = 'silver_documentos' AND partition_value = '2026-01-01'`)
			require.NoError(t, err)
			status, err = pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			if c.publish == "" {
				require.Empty(t, status, "nothing committed, nothing in the publication")
			} else {
				require.Equal(t, []string{c.publish}, status)
			}
			if c.state != "" {
				latest, err := store.LatestSnapshot(context.Background())
				require.NoError(t, err)
				sd, _ := latest.Dataset("silver_documentos")
				require.Equal(t, c.state, sd.State)
				require.False(t, sd.PublishAllowed, "I7: never trusted while a unit is pending")
			}
		})
	}
}

// TestTOCTOUProjectionBetweenResolutionAndExecutionReplans: while the intent
// waits for its scope, another projection lands; at revalidation the signed
// registry version is stale, so the intent replans (counted) and runs on the
// new snapshot.
func TestTOCTOUProjectionBetweenResolutionAndExecutionReplans(t *testing.T) {
	seedDemo(t, false)
	ctx := context.Background()
	holder := "holder-" + uniqueID(t)
	_, err := store.AcquireScopes(ctx, lockReqFor(holder, "silver_documentos"))
	require.NoError(t, err)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	env.RegisterDelayedCallback(func() {
		_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "gold_faturamento_uf", State: registry.StateCommitted, PublishAllowed: true}}, db.Operator{By: "test", Reason: "another projection"})
		require.NoError(t, err)
		_, err = store.ReleaseScopes(ctx, holder, db.ReleaseCancelled)
		require.NoError(t, err)
	}, 2*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})

	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.True(t, res.Execution.Queued)
	require.Equal(t, 1, res.Execution.StaleReplans)
	require.Equal(t, 2, res.Replans, "the policy replan and the stale_environment_state replan")
	latest, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, res.Execution.RegistryVersionID, latest.VersionID)
	types := eventTypes(t, id)
	require.Contains(t, types, audit.EventRevalidation)
}

// TestProjectionFailureBlocksTheNextIntentUntilResolved: the projection
// fails (storage lost at commit); nothing reaches the target, the intent is
// rolled back, and the next intent on the scope is blocked with
// ENVIRONMENT_STATE_UNCERTAIN (I4) until an operator resolves the marker.
func TestProjectionFailureBlocksTheNextIntentUntilResolved(t *testing.T) {
	seedDemo(t, false)
	ctx := context.Background()
	acts := newActivities(t, nil)
	failing := uniqueID(t)
	env := newEnv(t, acts, failing)
	env.OnActivity(acts.Project, mock.Anything, mock.Anything).Return(activities.Projected{}, errors.New("storage lost at commit"))
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.RolledBack, res.DecisionState, res.Reason)
	require.Equal(t, "invariant:I4", res.DecidedBy)
	var n int
	require.NoError(t, testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM silver.silver_documentos`).Scan(&n))
	require.Zero(t, n, "nothing reached the target")

	next := uniqueID(t)
	blocked := run(t, newEnv(t, newActivities(t, nil), next), workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf})
	require.Equal(t, decision.Blocked, blocked.DecisionState)
	require.Equal(t, fault.CodeEnvironmentStateUncertain, blocked.Faults[0].Code)
	require.NotContains(t, eventTypes(t, next), audit.EventConfirmationRequested, "blocked before anyone is asked")

	ok, err := store.ResolveProjectionFailure(ctx, failing, db.Operator{By: "operator", Reason: "registry checked against the data"})
	require.NoError(t, err)
	require.True(t, ok)
	after := uniqueID(t)
	env = newEnv(t, newActivities(t, nil), after)
	approveAt(env, time.Minute)
	res = run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
}

// TestPanicRollbackTriggers: an environmental fault during execution
// interrupts every unit, quarantines every output and projects nothing.
// Every trigger is a real fault: a cancellation, a new policy bundle, a
// REVOKE, and faults Postgres raises in the unit's own session (disk_full,
// the backend terminated mid-statement).
func TestPanicRollbackTriggers(t *testing.T) {
	other, err := policy.Load(os.DirFS("../../internal/policy/testdata/nonconverging"))
	require.NoError(t, err)
	type inject = func(t *testing.T, env *testsuite.TestWorkflowEnvironment, acts *activities.Activities, intentID string)
	cases := []struct {
		name    string
		trigger string
		inject  inject
		broken  string // the partition that fails and waits for its retry
	}{
		{"execution cancelled, finished units read after the cancelled one", string(partialexecution.TriggerExecutionCancelled),
			func(_ *testing.T, env *testsuite.TestWorkflowEnvironment, _ *activities.Activities, _ string) {
				env.CancelWorkflow()
			}, "2026-01-01"},
		{"policy bundle changed mid-execution", string(partialexecution.TriggerPolicyBundleChangedMidExec),
			func(_ *testing.T, _ *testsuite.TestWorkflowEnvironment, acts *activities.Activities, _ string) {
				acts.Bundle = other
			}, ""},
		{"execution cancelled", string(partialexecution.TriggerExecutionCancelled),
			func(_ *testing.T, env *testsuite.TestWorkflowEnvironment, _ *activities.Activities, _ string) {
				env.CancelWorkflow()
			}, ""},
		{"permission revoked", string(partialexecution.TriggerExternalPermissionRevoked),
			func(t *testing.T, _ *testsuite.TestWorkflowEnvironment, _ *activities.Activities, _ string) {
				n, err := dataplane.RevokeSandboxSelect(context.Background(), testDB.Pool, testenv.Dataset(t, "nfe"))
				require.NoError(t, err)
				require.Positive(t, n)
			}, ""},
		{"storage exhausted", string(partialexecution.TriggerStorageQuotaExceeded),
			func(t *testing.T, _ *testsuite.TestWorkflowEnvironment, _ *activities.Activities, intentID string) {
				// What Postgres raises when the disk is full (SQLSTATE 53100).
				injectStagingFault(t, intentID, `RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'`)
			}, ""},
		{"connection lost", string(partialexecution.TriggerConnectionLost),
			func(t *testing.T, _ *testsuite.TestWorkflowEnvironment, _ *activities.Activities, intentID string) {
				// The unit's own backend is terminated mid-statement: the
				// server sends FATAL 57P01 and closes the socket.
				injectStagingFault(t, intentID, `PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5)`)
			}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			broken := c.broken
			if broken == "" {
				broken = "2026-01-03"
			}
			seedDemoBroken(t, broken)
			ctx := context.Background()
			before, err := store.LatestSnapshot(ctx)
			require.NoError(t, err)
			acts := newActivities(t, nil)
			id := uniqueID(t)
			env := newEnv(t, acts, id)
			approveAt(env, time.Minute)
			// The broken partition fails its first attempt at once and waits
			// 10 s before the retry: the fault lands in between.
			env.RegisterDelayedCallback(func() { c.inject(t, env, acts, id) }, time.Minute+5*time.Second)
			env.ExecuteWorkflow(workflows.IntentWorkflowName, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 10})
			require.True(t, env.IsWorkflowCompleted())
			var res workflows.IntentResult
			require.NoError(t, env.GetWorkflowResult(&res), "a panic is a decision, not a workflow failure")
			require.Equal(t, decision.Quarantined, res.DecisionState, res.Reason)
			require.NotNil(t, res.Execution.Panic)
			require.Equal(t, c.trigger, res.Execution.Panic.Trigger, res.Execution.Panic.Reason)

			after, err := store.LatestSnapshot(ctx)
			require.NoError(t, err)
			require.Equal(t, before.VersionID, after.VersionID, "nothing projected")
			var target, quarantined int
			require.NoError(t, testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM silver.silver_documentos`).Scan(&target))
			require.Zero(t, target)
			require.NoError(t, testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, id).Scan(&quarantined))
			require.Positive(t, quarantined, "the staged outputs are quarantined")
			require.Contains(t, eventTypes(t, id), audit.EventPanicRollback)
			active, err := store.ActiveLocks(ctx)
			require.NoError(t, err)
			for _, h := range active {
				require.NotEqual(t, id, h.IntentID, "the scope is released")
			}
		})
	}
}

// TestDegradedPublishIsVisibleToReaders: with degraded_publish and publish
// asked for, the committed partitions are readable in the published view
// with status degraded, the failed one is not, and the dataset is never
// trusted (I7).
func TestDegradedPublishIsVisibleToReaders(t *testing.T) {
	seedDemo(t, true)
	ctx := context.Background()
	sig := &signature.Signature{
		Domain: "fiscal_data_processing", Intent: "reconciliation_and_persist", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpJoin, signature.OpPublish},
		Datasets: []signature.Dataset{{Name: "nfe", Role: signature.RoleSource}, {Name: "clientes", Role: signature.RoleSource},
			{Name: "silver_documentos", Role: signature.RoleTarget}},
		Constraints: signature.Constraints{NoPIIRaw: true, PartitionBy: []string{"processing_date"}, EnforceTypes: true, MergeKeyRequired: true},
	}
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Signature: sig, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1, PartialFailureMode: "degraded_publish"})
	require.Equal(t, decision.PartiallyCommitted, res.DecisionState, res.Reason)

	rows, err := testDB.Pool.Query(ctx, `SELECT processing_date::text, cfa_publish_status, count(*) FROM silver_published.silver_documentos GROUP BY 1, 2 ORDER BY 1`)
	require.NoError(t, err)
	type vis struct {
		partition, status string
		n                 int
	}
	var seen []vis
	for rows.Next() {
		var v vis
		require.NoError(t, rows.Scan(&v.partition, &v.status, &v.n))
		seen = append(seen, v)
	}
	require.NoError(t, rows.Err())
	require.Len(t, seen, 2, "the two committed partitions are readable, the failed one is not")
	for _, v := range seen {
		require.Equal(t, "degraded", v.status)
		require.NotEqual(t, "2026-01-03", v.partition)
	}
	latest, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	sd, _ := latest.Dataset("silver_documentos")
	require.False(t, sd.PublishAllowed, "degraded is never trusted (I7)")
}

// TestScopeIsReleasedAndTheIntentDecidedWhenAStageFails: an error after
// the lock (here the unit discovery) does not fail the workflow: the scope
// does not leak and the intent is decided blocked, STAGE_INTERRUPTED, and
// completed (issue 10, finding 1).
func TestScopeIsReleasedAndTheIntentDecidedWhenAStageFails(t *testing.T) {
	seedDemo(t, false)
	acts := newActivities(t, nil)
	id := uniqueID(t)
	env := newEnv(t, acts, id)
	env.OnActivity(acts.PrepareExecution, mock.Anything, mock.Anything, mock.Anything).Return(activities.Prepared{},
		temporal.NewNonRetryableApplicationError("catalog vanished", activities.ErrInvalidInput, nil))
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf})
	require.Equal(t, decision.Blocked, res.DecisionState, "an interrupted intent is decided, not failed")
	require.Equal(t, fault.CodeStageInterrupted, res.Faults[0].Code)
	require.Contains(t, res.Faults[0].Message, "catalog vanished")
	types := eventTypes(t, id)
	require.Equal(t, []string{audit.EventDecision, audit.EventIntentCompleted}, types[len(types)-2:])
	row, err := store.GetIntent(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, workflows.IntentStatusCompleted, row.Status)
	active, err := store.ActiveLocks(context.Background())
	require.NoError(t, err)
	for _, h := range active {
		require.NotEqual(t, id, h.IntentID, "the failed intent released its scope")
	}
	var released int
	require.NoError(t, testDB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM scope_locks WHERE intent_id = $1 AND release_reason = 'cancelled'`, id).Scan(&released))
	require.Positive(t, released)
}

// TestAnInterruptedExecutionLeavesNothingStaged: units ran and staged
// their rows, then a stage could not complete: the intent is decided
// blocked and nothing it staged stays in staging (issue 10, finding 8).
func TestAnInterruptedExecutionLeavesNothingStaged(t *testing.T) {
	seedDemo(t, false)
	acts := newActivities(t, nil)
	id := uniqueID(t)
	env := newEnv(t, acts, id)
	env.OnActivity(acts.ApplyPartialFailurePolicy, mock.Anything, mock.Anything, mock.Anything).Return(activities.Partial{},
		temporal.NewNonRetryableApplicationError("policy store gone", activities.ErrInvalidInput, nil))
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, fault.CodeStageInterrupted, res.Faults[0].Code)
	require.NotNil(t, res.Execution)
	var wrote int64
	for _, u := range res.Execution.Units {
		wrote += u.RowsOut
	}
	require.Positive(t, wrote, "the units staged rows before the interruption")
	var staged int
	require.NoError(t, testDB.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, id).Scan(&staged))
	require.Zero(t, staged, "the units' staged rows are discarded")
	active, err := store.ActiveLocks(context.Background())
	require.NoError(t, err)
	for _, h := range active {
		require.NotEqual(t, id, h.IntentID)
	}
}

// injectStagingFault makes every row the units of intentID write into
// staging.silver_documentos run body first, in the unit's own session: a
// BEFORE INSERT OR UPDATE trigger on the staging table, calling a SECURITY
// DEFINER function owned by the test's superuser, so that it fires, and may
// terminate its own backend, under the sandbox role the unit SET ROLE to.
// Other sessions (the seeding, the quarantine, other tests) are untouched.
// Cleanup removes both, so later tests are unaffected.
func injectStagingFault(t *testing.T, intentID, body string) {
	t.Helper()
	ctx := context.Background()
	const fn = "staging.cfa_test_fault"
	_, err := testDB.Pool.Exec(ctx, `CREATE OR REPLACE FUNCTION `+fn+`() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fault$
BEGIN
	IF current_setting('`+dataplane.SettingIntentID+`', true) = TG_ARGV[0] THEN
		`+body+`;
	END IF;
	RETURN NEW;
END
$fault$`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := testDB.Pool.Exec(context.Background(), `DROP TRIGGER IF EXISTS cfa_test_fault ON staging.silver_documentos;
DROP FUNCTION IF EXISTS `+fn+`()`)
		require.NoError(t, err)
	})
	_, err = testDB.Pool.Exec(ctx, `GRANT EXECUTE ON FUNCTION `+fn+`() TO PUBLIC;
DROP TRIGGER IF EXISTS cfa_test_fault ON staging.silver_documentos;
CREATE TRIGGER cfa_test_fault BEFORE INSERT OR UPDATE ON staging.silver_documentos
	FOR EACH ROW EXECUTE FUNCTION `+fn+`('`+strings.ReplaceAll(intentID, "'", "''")+`')`)
	require.NoError(t, err)
}

// TestPublishOfADatasetNoProjectionRecordedIsRefused: a dataset with no
// registry entry never went through a governed write, so publishing it as
// trusted is refused (I7); once a projection records it committed, it may
// be published. A fresh database, so the registry holds only what the test
// writes.
func TestPublishOfADatasetNoProjectionRecordedIsRefused(t *testing.T) {
	ctx := context.Background()
	d, _ := testenv.DataPlaneDB(ctx, t, "workflows_publish", nil)
	s := db.New(d.Worker)
	base := newActivities(t, nil)
	acts := activities.New(s, base.Catalog, base.Bundle, zap.NewNop(), extension.Points{})
	step := func(id string) activities.Step { return activities.Step{IntentID: id, Seq: 1, At: time.Now()} }

	out, err := acts.PublishDataset(ctx, step("publish-unknown"), activities.PublishInput{Dataset: "gold_faturamento_uf"})
	require.NoError(t, err)
	require.True(t, out.Stop)
	require.Len(t, out.Violations, 1)
	require.Equal(t, "I7", out.Violations[0].Invariant)
	require.Contains(t, out.Violations[0].Fault.Message, "no entry in registry")
	var published int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM public.cfa_publication`).Scan(&published))
	require.Zero(t, published)

	_, _, err = s.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "gold_faturamento_uf", State: registry.StateCommitted, PublishAllowed: true}}, db.Operator{By: "test", Reason: "a projection"})
	require.NoError(t, err)
	out, err = acts.PublishDataset(ctx, step("publish-known"), activities.PublishInput{Dataset: "gold_faturamento_uf"})
	require.NoError(t, err)
	require.Empty(t, out.Violations)
	require.Equal(t, int64(1), out.Events, "the publication is audited")
}
