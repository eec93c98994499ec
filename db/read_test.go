package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/readresult"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
	"github.com/contextualflux/cfa/tests/testenv"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// read plans sig as the shipped privacy wall masks it, generates its
// query, checks that Static Validation passes it, and runs it on the
// sandbox login as its read role (docs/adr/0132).
func read(t *testing.T, store *db.Store, cat *catalog.Catalog, sig signature.Signature, limit int) (planner.ExecutionPlan, readresult.Result) {
	t.Helper()
	ctx := context.Background()
	bundle, err := policy.Default()
	require.NoError(t, err)
	sig.ExecutionContext.CatalogSnapshotVersion = cat.SnapshotVersion
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: dataplane.DemoAsOf, RowLimit: limit, Masks: kernel.ReadMasks(sig, cat, bundle.Masking)})
	require.NoError(t, err)
	art, err := codegen.Postgres{}.Generate(p, cat)
	require.NoError(t, err)
	rules, err := codegen.Postgres{}.StaticRules(p, cat)
	require.NoError(t, err)
	query := art.Files[0].Content
	rep := staticcheck.Validate(query, rules)
	require.True(t, rep.Passed, "%v\n%s", rep.Violations, query)
	role, err := store.EnsureReadRole(ctx, cat, dataplane.ReadScope(p))
	require.NoError(t, err)
	rows, err := store.RunRead(ctx, db.ReadRun{Read: dataplane.Read{IntentID: "read-" + sig.Intent}, Role: role, Query: query, MaxRows: p.Steps[len(p.Steps)-1].Params.Query.Limit + 1})
	require.NoError(t, err)
	res, err := readresult.Build(p, rows)
	require.NoError(t, err)
	return p, res
}

func column(res readresult.Result, name string) int {
	for i, c := range res.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// TestReadsOnTheSeededDataPlane runs the reads on the seeded data
// plane, on the sandbox login: each returns its rows, and no raw personal
// data leaves Postgres (cpf as its SHA-256, email redacted).
func TestReadsOnTheSeededDataPlane(t *testing.T) {
	ctx := context.Background()
	d, cat := testenv.DataPlaneDB(ctx, t, "db_read", &dataplane.Options{})
	store := db.New(d.Worker)
	one := func(sql string) string {
		var s string
		require.NoError(t, d.Pool.QueryRow(ctx, sql).Scan(&s))
		return s
	}
	count := func(sql string) int64 {
		var n int64
		require.NoError(t, d.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}

	t.Run("count invoices", func(t *testing.T) {
		_, res := read(t, store, cat, plannertest.CountInvoices(cat), 0)
		require.Equal(t, []string{"count"}, res.Names())
		require.Equal(t, 1, res.RowCount)
		require.Equal(t, int64(len(dataplane.DemoPartitions)*dataplane.DefaultRowsPerPartition), res.Rows[0][0])
		require.False(t, res.Truncated)
		require.Empty(t, res.MaskedColumns)
	})

	t.Run("show me nfe for 2026-01-02", func(t *testing.T) {
		p, res := read(t, store, cat, plannertest.InvoicesOfDay(cat), 50)
		require.Equal(t, 50, res.RowCount)
		require.True(t, res.Truncated, "the day holds %d rows", dataplane.DefaultRowsPerPartition)
		require.Equal(t, []planner.MaskedColumn{{Column: "nfe.cpf", As: "cpf_hash", Mask: planner.MaskSHA256}}, res.MaskedColumns)
		require.Equal(t, p.MaskedColumns(), res.MaskedColumns)
		h, day, id := column(res, "cpf_hash"), column(res, "processing_date"), column(res, "nfe_id")
		require.Equal(t, -1, column(res, "cpf"), "no raw cpf column")
		for _, r := range res.Rows {
			require.Equal(t, "2026-01-02", r[day])
			if r[h] != nil {
				require.Regexp(t, sha256Hex, r[h])
				raw := one(fmt.Sprintf("SELECT coalesce(cpf, '') FROM bronze.nfe WHERE nfe_id = '%s' AND processing_date = DATE '2026-01-02'", r[id]))
				sum := sha256.Sum256([]byte(raw))
				require.Equal(t, hex.EncodeToString(sum[:]), r[h], "the hash of the row's cpf")
				for _, cell := range r {
					require.NotEqual(t, raw, cell, "the raw cpf appears in no cell")
				}
			}
		}
		// Ordered by the columns, nfe_id first: the same rows every time (I8).
		_, again := read(t, store, cat, plannertest.InvoicesOfDay(cat), 50)
		require.Equal(t, res.Rows, again.Rows)
	})

	t.Run("sum of valor_total by uf last 7 days", func(t *testing.T) {
		_, res := read(t, store, cat, plannertest.RevenueByUFLast7Days(cat), 0)
		require.Equal(t, []string{"uf", "sum_valor_total"}, res.Names())
		want := count("SELECT count(DISTINCT uf) FROM bronze.nfe WHERE processing_date >= DATE '2025-12-28'")
		require.Equal(t, int(want), res.RowCount)
		sp := -1
		for i, r := range res.Rows {
			if r[0] == "SP" {
				sp = i
			}
			if i > 0 {
				require.Less(t, res.Rows[i-1][0], r[0], "ordered by uf")
			}
		}
		require.GreaterOrEqual(t, sp, 0)
		require.Equal(t, one("SELECT sum(valor_total)::text FROM bronze.nfe WHERE uf = 'SP' AND processing_date >= DATE '2025-12-28'"), res.Rows[sp][1],
			"a decimal is its exact text")
	})

	t.Run("read clientes", func(t *testing.T) {
		_, res := read(t, store, cat, plannertest.ReadClientes(cat), 5)
		require.Equal(t, []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}, res.Names())
		require.Equal(t, 5, res.RowCount)
		require.True(t, res.Truncated)
		for _, r := range res.Rows {
			require.Equal(t, "***", r[2])
			raw := one(fmt.Sprintf("SELECT cpf FROM bronze.clientes WHERE cliente_id = '%s'", r[0]))
			sum := sha256.Sum256([]byte(raw))
			require.Equal(t, hex.EncodeToString(sum[:]), r[1])
		}
	})

	t.Run("the read role reads its sources only, and writes nothing", func(t *testing.T) {
		role, err := store.EnsureReadRole(ctx, cat, []string{"clientes"})
		require.NoError(t, err)
		run := func(sql string) error {
			_, err := store.RunRead(ctx, db.ReadRun{Read: dataplane.Read{IntentID: "read-denied"}, Role: role, Query: sql, MaxRows: 10})
			return err
		}
		require.NoError(t, run("SELECT count(*) FROM bronze.clientes"))
		requireState(t, run("SELECT count(*) FROM bronze.produtos"), "42501", "a dataset the read does not read")
		requireState(t, run("DELETE FROM bronze.clientes"), "25006", "a write in the READ ONLY transaction")
		require.Equal(t, int64(dataplane.DefaultClientCount), count("SELECT count(*) FROM bronze.clientes"))
	})
}
