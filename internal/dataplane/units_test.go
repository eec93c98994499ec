package dataplane_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// demoWindow is the signed window over the demo partitions.
var demoWindow = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-01-04"}

// stageUnit runs unit key of plan as the executor does (kernel.UnitOf,
// kernel.UnitScript, RedirectToStaging, BeginUnit as the plan's role): an
// earlier attempt's rows are discarded first. It returns the rows staged.
func stageUnit(t *testing.T, pool *pgxpool.Pool, role, intent string, plan planner.ExecutionPlan, art codegen.Artifact, key string) int64 {
	t.Helper()
	ctx := context.Background()
	u, err := kernel.UnitOf(plan, key, false)
	require.NoError(t, err)
	script, err := kernel.UnitScript(plan, art, key)
	require.NoError(t, err)
	target := dataset(t, u.Target)
	staged, err := dataplane.RedirectToStaging(script, target)
	require.NoError(t, err)
	var rows int64
	require.NoError(t, inUnit(t, pool, role, dataplane.Unit{IntentID: intent, Key: key, Partition: u.Partition}, true, func(tx pgx.Tx) error {
		if _, err := dataplane.Discard(ctx, tx, target, intent, key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, staged); err != nil {
			return err
		}
		m, err := dataplane.MeasureUnit(ctx, tx, target, intent, key)
		rows = m.Rows
		return err
	}), "unit %s", key)
	return rows
}

// TestMicroBatchCommitsPerWindow runs a micro_batch plan window by window
// on real Postgres: every row of a day lands in exactly one window, a
// failed window is quarantined alone while the others commit, and the
// window rerun later merges its own rows only, leaving the target as the
// batch run leaves it.
func TestMicroBatchCommitsPerWindow(t *testing.T) {
	t.Parallel()
	pool := freshDB(t, dataplane.Options{RowsPerPartition: 400, ClientCount: 50, Seed: 11})
	ctx := context.Background()
	sig := plannertest.Reconciliation(cat)
	sig.Constraints.TemporalFilter = demoWindow
	batch, batchSQL := script(t, sig, planner.Options{})
	sig.ExecutionMode, sig.TimeWindow = signature.ModeMicroBatch, "6h"
	plan, err := planner.Plan(sig, cat, planner.Options{})
	require.NoError(t, err)
	require.Equal(t, planner.UnitTimeWindow, plan.ConsistencyUnit)
	art, err := codegen.Postgres{}.Generate(plan, cat)
	require.NoError(t, err)
	target := dataset(t, plan.Target)

	// What the batch plan writes: the reference.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, batchSQL)
	require.NoError(t, err)
	want := digest(t, tx, dataplane.Table(target))
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, batch.Target, plan.Target)

	days, err := dataplane.Partitions(ctx, pool, dataset(t, "nfe"), plan.Window.From, plan.Window.To)
	require.NoError(t, err)
	keys := kernel.UnitKeys(plan, days)
	require.Len(t, keys, 12, "4 windows of 6h on each of the 3 days")
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)

	const intent = "intent-micro"
	perDay := map[string]int64{}
	for _, k := range keys {
		n := stageUnit(t, pool, role, intent, plan, art, k)
		require.Equal(t, n, stageUnit(t, pool, role, intent, plan, art, k), "a retried window stages its own rows again, once")
		w, _ := plan.TimeWindows.Unit(k)
		perDay[w.Partition] += n
		require.Equal(t, n, count(t, pool, "SELECT count(*) FROM "+dataplane.StagingTable(target)+
			" WHERE cfa_unit_key = $1 AND processing_date = $2::date", k, w.Partition), "window %s stages rows of its day only", k)
	}
	for _, d := range days {
		require.Equal(t, int64(400), perDay[d], "every row of %s lands in exactly one window", d)
	}

	// selective_quarantine: one window failed; the others commit together.
	const failed = "2026-01-02T06:00:00"
	var commit []dataplane.Unit
	for _, k := range keys {
		if k != failed {
			u, _ := kernel.UnitOf(plan, k, false)
			commit = append(commit, dataplane.Unit{IntentID: intent, Key: k, Partition: u.Partition})
		}
	}
	tx, err = pool.Begin(ctx)
	require.NoError(t, err)
	n, err := dataplane.Promote(ctx, tx, plan, cat, intent, commit)
	require.NoError(t, err)
	quarantined, err := dataplane.Quarantine(ctx, tx, target, intent, failed, runtimevalidation.CodeNullRatioExceeded)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, int64(1200), n+quarantined)
	require.Positive(t, quarantined)
	require.Equal(t, n, count(t, pool, "SELECT count(*) FROM "+dataplane.Table(target)))
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+dataplane.Table(target)+
		" WHERE emitted_at >= '2026-01-02 06:00' AND emitted_at < '2026-01-02 12:00'"), "the failed window never reaches the target")

	// The window rerun (retry_failed_units, or the next run): it merges
	// its own rows, the target ends as the batch run leaves it.
	const rerun = "intent-micro-rerun"
	require.Equal(t, quarantined, stageUnit(t, pool, role, rerun, plan, art, failed))
	for range 2 { // a retried commit changes nothing
		tx, err = pool.Begin(ctx)
		require.NoError(t, err)
		_, err = dataplane.Promote(ctx, tx, plan, cat, rerun, []dataplane.Unit{{IntentID: rerun, Key: failed, Partition: "2026-01-02"}})
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		require.Equal(t, want, digest(t, pool, dataplane.Table(target)))
	}
	require.Zero(t, count(t, pool, "SELECT count(*) FROM "+dataplane.StagingTable(target)))
}

// TestCrossDatasetAtomicCommitsAllOrNothing stages a cross_dataset_atomic
// plan's targets under one sandbox role, then applies the partial failure
// policy the kernel forces on it: when one target fails, both are rolled
// back; when both pass, both commit in one transaction, and a transaction
// that fails after the first target's commit leaves neither written.
func TestCrossDatasetAtomicCommitsAllOrNothing(t *testing.T) {
	t.Parallel()
	pool := freshDB(t, dataplane.Options{RowsPerPartition: 300, ClientCount: 40, Seed: 13})
	ctx := context.Background()
	sig := plannertest.Reconciliation(cat)
	sig.Constraints.TemporalFilter = demoWindow
	sig.CrossDatasetAtomic = true
	sig.Datasets = append(sig.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
	plan, err := planner.Plan(sig, cat, planner.Options{})
	require.NoError(t, err)
	art, err := codegen.Postgres{}.Generate(plan, cat)
	require.NoError(t, err)
	scope := dataplane.ScopeOf(plan)
	require.Equal(t, dataplane.Scope{Target: "clientes_anon", Sources: []string{"clientes", "nfe"}, Also: []string{"silver_documentos"}}, scope)
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, scope)
	require.NoError(t, err)
	targets := kernel.UnitKeys(plan, nil)
	require.Equal(t, []string{"clientes_anon", "silver_documentos"}, targets)

	tables := func() []int64 {
		return []int64{count(t, pool, "SELECT count(*) FROM silver.clientes_anon"), count(t, pool, "SELECT count(*) FROM silver.silver_documentos")}
	}
	cu, partitioned := kernel.ConsistencyUnitOf(plan)
	require.Equal(t, partialexecution.ConsistencyUnit{Type: partialexecution.UnitDataset, Key: "clientes_anon,silver_documentos"}, cu)
	require.False(t, partitioned)
	passed := func(k string) kernel.RanUnit {
		return kernel.RanUnit{Key: k, Report: &runtimevalidation.UnitReport{Dataset: k, Key: k, Attempt: 1, Passed: true}}
	}
	// apply runs the units' moves as the projection does, in one
	// transaction; breakAfterFirst fails it after the first commit.
	apply := func(intent string, ran []kernel.RanUnit, breakAfterFirst bool) (partialexecution.Outcome, error) {
		k, err := kernel.ApplyPartialFailurePolicy(kernel.PartialInput{Target: plan.Target, Keys: targets, ConsistencyUnit: cu,
			Mode: string(partialexecution.SelectiveQuarantine), Ran: ran, Atomic: true, Limits: runtimevalidation.DefaultLimits()})
		require.NoError(t, err)
		o := *k.Outcome
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			committed := 0
			for _, act := range o.Actions {
				u, err := kernel.UnitOf(plan, act.Key, false)
				require.NoError(t, err)
				require.Equal(t, act.Key, act.Dataset)
				switch act.Action {
				case partialexecution.ActionCommit:
					if _, err := dataplane.Promote(ctx, tx, u.Plan, cat, intent, []dataplane.Unit{{IntentID: intent, Key: act.Key}}); err != nil {
						return err
					}
					if committed++; breakAfterFirst {
						_, err := tx.Exec(ctx, "SELECT 1/0") // the projection fails after the first target
						return err
					}
				default:
					if _, err := dataplane.Discard(ctx, tx, dataset(t, u.Target), intent, act.Key); err != nil {
						return err
					}
				}
			}
			return nil
		})
		return o, err
	}

	// One target fails: full_rollback, whatever the mode asked; nothing
	// is written, nothing stays staged.
	for _, k := range targets {
		require.Positive(t, stageUnit(t, pool, role, "atomic-fail", plan, art, k))
	}
	o, err := apply("atomic-fail", []kernel.RanUnit{passed("clientes_anon"), {Key: "silver_documentos", Error: "statement failed"}}, false)
	require.NoError(t, err)
	require.Equal(t, partialexecution.FullRollback, o.State.ConsistencyPolicy.Mode)
	require.Equal(t, partialexecution.OverallRolledBack, o.State.OverallState)
	require.Equal(t, []int64{0, 0}, tables(), "neither target is written")
	require.Zero(t, count(t, pool, "SELECT count(*) FROM staging.clientes_anon")+count(t, pool, "SELECT count(*) FROM staging.silver_documentos"))

	// Both pass, but the commit transaction fails after the first target:
	// neither is written.
	for _, k := range targets {
		stageUnit(t, pool, role, "atomic-ok", plan, art, k)
	}
	_, err = apply("atomic-ok", []kernel.RanUnit{passed("clientes_anon"), passed("silver_documentos")}, true)
	require.Error(t, err)
	require.Equal(t, []int64{0, 0}, tables(), "one transaction: the first target's commit is rolled back with it")

	// Both pass: both commit.
	o, err = apply("atomic-ok", []kernel.RanUnit{passed("clientes_anon"), passed("silver_documentos")}, false)
	require.NoError(t, err)
	require.Equal(t, partialexecution.OverallCommitted, o.State.OverallState)
	require.Equal(t, []int64{40, 900}, tables())
	require.Len(t, o.Datasets, 2, "the registry hears of both targets")
}
