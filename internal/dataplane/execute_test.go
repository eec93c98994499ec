package dataplane_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestReconciliationOnSeededData runs the whitepaper reconciliation's
// generated script, as codegen wrote it, on the seeded partitions.
func TestReconciliationOnSeededData(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	plan, sql := reconciliation(t)
	require.Equal(t, &planner.Window{Column: "processing_date", From: "2025-12-05", To: "2026-01-04"}, plan.Window,
		"DemoAsOf's 30 days cover DemoPartitions")

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }() // leave the package database as seeded
	_, err = tx.Exec(ctx, sql)
	require.NoError(t, err)
	first := digest(t, tx, "silver.silver_documentos")
	_, err = tx.Exec(ctx, sql) // a retry
	require.NoError(t, err)
	require.Equal(t, first, digest(t, tx, "silver.silver_documentos"), "the retry changed the target")

	require.Equal(t, int64(3*dataplane.DefaultRowsPerPartition), count(t, tx, "SELECT count(*) FROM silver.silver_documentos"))
	// cpf is hashed: every hash is sha256 of the client's cpf, none is raw.
	require.Zero(t, count(t, tx, `SELECT count(*) FROM silver.silver_documentos s JOIN bronze.clientes c USING (cliente_id)
		WHERE s.cpf_hash IS DISTINCT FROM encode(sha256(convert_to(c.cpf, 'UTF8')), 'hex')`))
	require.Zero(t, count(t, tx, `SELECT count(*) FROM silver.silver_documentos s
		WHERE s.cpf_hash IN (SELECT cpf FROM bronze.clientes) OR s.cpf_hash !~ '^[0-9a-f]{64}$'`))
	schema, err := dataplane.Schema(ctx, tx, "silver", "silver_documentos")
	require.NoError(t, err)
	for _, c := range schema {
		require.NotContains(t, []string{"cpf", "email"}, c.Name)
	}
	// The break partition carries its nulls into silver: Runtime Validation
	// sees them there.
	for _, p := range dataplane.DemoPartitions {
		m, err := dataplane.Measure(ctx, tx, dataset(t, "silver_documentos"), p)
		require.NoError(t, err)
		c, _ := m.Column("cliente_id")
		require.Equal(t, int64(demoOpts.NullRows(p)), c.Nulls, p)
		h, _ := m.Column("cpf_hash")
		require.Equal(t, c.Nulls, h.Nulls, p)
	}
}

// TestStagedUnitsEqualDirectRun runs plans unit by unit under their sandbox
// role into staging, promotes the units, and compares the target with what
// the script run directly on the target gives.
func TestStagedUnitsEqualDirectRun(t *testing.T) {
	t.Parallel()
	window := &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-01-04"}
	dedupe := plannertest.DocumentDedupe(cat)
	dedupe.Constraints.TemporalFilter = window
	revenue := plannertest.RevenueByState(cat)
	revenue.Constraints.TemporalFilter = window
	tests := []struct {
		name  string
		sig   signature.Signature
		opts  planner.Options
		mode  planner.LoadMode
		needs bool // silver_documentos filled first
	}{
		{name: "reconciliation merge", sig: plannertest.Reconciliation(cat), opts: planner.Options{AsOf: dataplane.DemoAsOf}, mode: planner.LoadMerge},
		{name: "dedupe partition overwrite", sig: dedupe, opts: planner.Options{Strategy: planner.PartitionOverwriteSafe}, mode: planner.LoadPartitionOverwrite},
		{name: "revenue by state from silver", sig: revenue, mode: planner.LoadMerge, needs: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := freshDB(t, dataplane.Options{RowsPerPartition: 400, ClientCount: 50, Seed: 3, BreakPartition: "2026-01-03"})
			ctx := context.Background()
			if tc.needs {
				_, sql := reconciliation(t)
				_, err := pool.Exec(ctx, sql)
				require.NoError(t, err)
			}
			plan, sql := script(t, tc.sig, tc.opts)
			load, _ := plan.LoadStep()
			require.Equal(t, tc.mode, load.Params.Load.Mode)
			target := dataset(t, plan.Target)
			// Something to merge onto or overwrite: the target is not empty.
			_, err := pool.Exec(ctx, sql)
			require.NoError(t, err)
			_, err = pool.Exec(ctx, "UPDATE "+dataplane.Table(target)+" SET valor_total = valor_total + 1")
			require.NoError(t, err)
			before := digest(t, pool, dataplane.Table(target))

			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, sql)
			require.NoError(t, err)
			want := digest(t, tx, dataplane.Table(target))
			require.NoError(t, tx.Rollback(ctx))
			require.NotEqual(t, before, want)

			role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
			require.NoError(t, err)
			staged, err := dataplane.RedirectToStaging(sql, target)
			require.NoError(t, err)
			var units []dataplane.Unit
			for _, p := range dataplane.DemoPartitions {
				u := dataplane.Unit{IntentID: "intent-" + tc.name, Key: p, Partition: p}
				units = append(units, u)
				for attempt := 1; attempt <= 2; attempt++ { // a retried unit stages the same rows
					require.NoError(t, inUnit(t, pool, role, u, true, func(tx pgx.Tx) error {
						if _, err := tx.Exec(ctx, staged); err != nil {
							return err
						}
						// Row security: the unit sees its partition only.
						m, err := dataplane.MeasureUnit(ctx, tx, target, u.IntentID, u.Key)
						require.NoError(t, err)
						require.Positive(t, m.Rows)
						require.Equal(t, m.Rows, count(t, tx, "SELECT count(*) FROM "+dataplane.StagingTable(target)))
						require.Equal(t, m.Rows, count(t, tx, "SELECT count(*) FROM "+dataplane.StagingTable(target)+
							" WHERE "+target.PartitionKey+" = $1::date", p))
						return nil
					}), "unit %s attempt %d", p, attempt)
				}
			}
			require.Equal(t, before, digest(t, pool, dataplane.Table(target)), "staging never touches the target")

			for range 2 { // a retried promotion changes nothing
				tx, err = pool.Begin(ctx)
				require.NoError(t, err)
				_, err = dataplane.Promote(ctx, tx, plan, cat, "intent-"+tc.name, units)
				require.NoError(t, err)
				require.NoError(t, tx.Commit(ctx))
				require.Equal(t, want, digest(t, pool, dataplane.Table(target)))
			}
			require.Zero(t, count(t, pool, "SELECT count(*) FROM "+dataplane.StagingTable(target)))
		})
	}
}

// TestSandboxRoleTouchesOnlyItsScope checks, statement by statement in a
// unit's transaction, what the reconciliation's role may do.
func TestSandboxRoleTouchesOnlyItsScope(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	plan, sql := reconciliation(t)
	target := dataset(t, "silver_documentos")
	require.Equal(t, dataplane.Scope{Target: "silver_documentos", Sources: []string{"clientes", "nfe"}}, dataplane.ScopeOf(plan))
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)
	again, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)
	require.Equal(t, role, again)
	t.Cleanup(func() { require.NoError(t, dataplane.DropSandboxRoles(context.Background(), pool)) })
	staged, err := dataplane.RedirectToStaging(sql, target)
	require.NoError(t, err)
	u := dataplane.Unit{IntentID: "intent-role", Key: "2026-01-01", Partition: "2026-01-01"}

	allowed := []struct{ name, sql string }{
		{"read a source", "SELECT count(*) FROM bronze.nfe"},
		{"read the other source", "SELECT count(*) FROM bronze.clientes"},
		{"run the redirected script", staged},
	}
	for _, tc := range allowed {
		t.Run("allowed/"+tc.name, func(t *testing.T) {
			require.NoError(t, inUnit(t, pool, role, u, false, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, tc.sql)
				return err
			}))
		})
	}
	denied := []struct{ name, sql, state string }{
		{"write the target directly", sql, "42501"},
		{"insert into the target", "INSERT INTO silver.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')", "42501"},
		{"read the target", "SELECT count(*) FROM silver.silver_documentos", "42501"},
		{"read an unrelated bronze table", "SELECT count(*) FROM bronze.produtos", "42501"},
		{"read a control plane table", "SELECT count(*) FROM public.registry_snapshots", "42501"},
		{"read the publication table", "SELECT count(*) FROM public.cfa_publication", "42501"},
		{"write another target's staging", "DELETE FROM staging.gold_faturamento_uf", "42501"},
		{"write quarantine", "DELETE FROM quarantine.silver_documentos", "42501"},
		{"truncate its staging", "TRUNCATE staging.silver_documentos", "42501"},
		{"create a table", "CREATE TABLE public.escape (x int)", "42501"},
		{"stage a row of another partition", `INSERT INTO staging.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-02')`, "42501"},
	}
	for _, tc := range denied {
		t.Run("denied/"+tc.name, func(t *testing.T) {
			err := inUnit(t, pool, role, u, false, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, tc.sql)
				return err
			})
			requireSQLState(t, err, tc.state)
		})
	}
	t.Run("a unit sees only its partition of a source", func(t *testing.T) {
		require.NoError(t, inUnit(t, pool, role, u, false, func(tx pgx.Tx) error {
			require.Equal(t, int64(dataplane.DefaultRowsPerPartition), count(t, tx, "SELECT count(*) FROM bronze.nfe"))
			require.Equal(t, int64(dataplane.DefaultClientCount), count(t, tx, "SELECT count(*) FROM bronze.clientes"))
			return nil
		}))
	})
	t.Run("statement timeout applies to the unit", func(t *testing.T) {
		slow := u
		slow.StatementTimeout = 20 * time.Millisecond
		err := inUnit(t, pool, role, slow, false, func(tx pgx.Tx) error {
			var got string
			require.NoError(t, tx.QueryRow(ctx, "SHOW statement_timeout").Scan(&got))
			require.Equal(t, "20ms", got)
			_, err := tx.Exec(ctx, "SELECT pg_sleep(1)")
			return err
		})
		requireSQLState(t, err, "57014") // query_canceled
	})
	t.Run("a unit needs its settings", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{role}.Sanitize())
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO staging.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')`)
		// A new session has no cfa.intent_id (42704); a pooled one that ran a
		// unit before has it empty, which the CHECK refuses (23514).
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr)
		require.Contains(t, []string{"42704", "23514"}, pgErr.Code, pgErr.Message)
	})
}

func TestSelectiveQuarantineAndPublishedView(t *testing.T) {
	t.Parallel()
	pool := freshDB(t, dataplane.Options{RowsPerPartition: 500, ClientCount: 60, Seed: 5, BreakPartition: "2026-01-03"})
	ctx := context.Background()
	plan, sql := reconciliation(t)
	target := dataset(t, "silver_documentos")
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)
	staged, err := dataplane.RedirectToStaging(sql, target)
	require.NoError(t, err)

	const intent = "intent-quarantine"
	var passed []dataplane.Unit
	var failed []string
	for _, p := range dataplane.DemoPartitions {
		u := dataplane.Unit{IntentID: intent, Key: p, Partition: p}
		var m dataplane.Metrics
		require.NoError(t, inUnit(t, pool, role, u, true, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, staged); err != nil {
				return err
			}
			m, err = dataplane.MeasureUnit(ctx, tx, target, intent, p)
			return err
		}))
		require.Equal(t, int64(500), m.Rows)
		if worst, _ := m.MaxNullRatio(); worst.NullRatio > 0.05 { // 5.7 max_null_ratio
			require.Equal(t, "cliente_id", worst.Name)
			require.InDelta(t, 0.12, worst.NullRatio, 1e-12)
			failed = append(failed, p)
			continue
		}
		passed = append(passed, u)
	}
	require.Equal(t, []string{"2026-01-03"}, failed)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	n, err := dataplane.Promote(ctx, tx, plan, cat, intent, passed)
	require.NoError(t, err)
	require.Equal(t, int64(1000), n)
	for _, want := range []int64{500, 0} { // retried: nothing staged, the first's rows stay
		moved, err := dataplane.Quarantine(ctx, tx, target, intent, "2026-01-03", "RUNTIME_NULL_RATIO_EXCEEDED")
		require.NoError(t, err)
		require.Equal(t, want, moved)
	}
	require.NoError(t, dataplane.SetPublication(ctx, tx, target, []string{"2026-01-01", "2026-01-02"}, dataplane.CommittedNotPublished, intent))
	require.NoError(t, dataplane.SetPublication(ctx, tx, target, []string{"2026-01-03"}, dataplane.Quarantined, intent))
	require.NoError(t, tx.Commit(ctx))

	require.Equal(t, int64(500), count(t, pool, "SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_unit_key = '2026-01-03' AND cfa_fault_code = 'RUNTIME_NULL_RATIO_EXCEEDED'"))
	require.Zero(t, count(t, pool, "SELECT count(*) FROM staging.silver_documentos"))
	require.Equal(t, int64(1000), count(t, pool, "SELECT count(*) FROM silver.silver_documentos"), "written")
	require.Zero(t, count(t, pool, "SELECT count(*) FROM silver_published.silver_documentos"), "not published: partially_committed")

	require.NoError(t, dataplane.SetPublication(ctx, pool, target, []string{"2026-01-01"}, dataplane.Published, intent))
	require.NoError(t, dataplane.SetPublication(ctx, pool, target, []string{"2026-01-02"}, dataplane.Degraded, intent))
	rows, err := pool.Query(ctx, "SELECT processing_date::text, cfa_publish_status, count(*) FROM silver_published.silver_documentos GROUP BY 1, 2 ORDER BY 1")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var p, s string
		var c int64
		require.NoError(t, rows.Scan(&p, &s, &c))
		got = append(got, strings.Join([]string{p, s, strconv.FormatInt(c, 10)}, " "))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"2026-01-01 published 500", "2026-01-02 degraded 500"}, got)

	pubs, err := dataplane.Publications(ctx, pool, target)
	require.NoError(t, err)
	require.Equal(t, []dataplane.Publication{
		{Dataset: "silver_documentos", Partition: "2026-01-01", Status: dataplane.Published, IntentID: intent},
		{Dataset: "silver_documentos", Partition: "2026-01-02", Status: dataplane.Degraded, IntentID: intent},
		{Dataset: "silver_documentos", Partition: "2026-01-03", Status: dataplane.Quarantined, IntentID: intent},
	}, pubs)

	require.ErrorIs(t, dataplane.SetPublication(ctx, pool, target, []string{""}, dataplane.Published, intent), dataplane.ErrInvalidOptions)
	require.ErrorIs(t, dataplane.SetPublication(ctx, pool, target, []string{"2026-01-01"}, "trusted", intent), dataplane.ErrInvalidOptions)
}
