package dataplane_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

// testDB is the package database (migrated: the data plane lives next to
// the control plane). seededDB fills it once with the demo data, partition
// DemoPartitions[2] broken; tests that write use a database of their own.
var (
	testDB   *dbtest.Database
	cat      = plannertest.Catalog()
	seedOnce sync.Once
	seedErr  error
)

func TestMain(m *testing.M) {
	os.Exit(dbtest.Main(m, "dataplane", func(d *dbtest.Database) { testDB = d }))
}

var demoOpts = dataplane.Options{Seed: 42, BreakPartition: dataplane.DemoPartitions[2]}

func seededDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	seedOnce.Do(func() {
		ctx := context.Background()
		if seedErr = dataplane.Ensure(ctx, testDB.Pool, cat); seedErr == nil {
			seedErr = dataplane.Seed(ctx, testDB.Pool, cat, demoOpts)
		}
	})
	require.NoError(t, seedErr)
	return testDB.Pool
}

// freshDB is a database of the test's own, with the data plane ensured and
// seeded with opts.
func freshDB(t *testing.T, opts dataplane.Options) *pgxpool.Pool {
	t.Helper()
	d := dbtest.New(t, "dataplane")
	ctx := context.Background()
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, opts))
	t.Cleanup(func() { require.NoError(t, dataplane.DropSandboxRoles(context.Background(), d.Pool)) })
	return d.Pool
}

func dataset(t *testing.T, name string) catalog.Dataset {
	t.Helper()
	d, ok := cat.Get(name)
	require.True(t, ok, name)
	return d
}

// script plans sig and renders its Postgres script.
func script(t *testing.T, sig signature.Signature, opts planner.Options) (planner.ExecutionPlan, string) {
	t.Helper()
	plan, err := planner.Plan(sig, cat, opts)
	require.NoError(t, err)
	art, err := codegen.Postgres{}.Generate(plan, cat)
	require.NoError(t, err)
	require.Len(t, art.Files, 1)
	return plan, art.Files[0].Content
}

// reconciliation is the whitepaper plan over the demo partitions.
func reconciliation(t *testing.T) (planner.ExecutionPlan, string) {
	t.Helper()
	return script(t, plannertest.Reconciliation(cat), planner.Options{AsOf: dataplane.DemoAsOf})
}

// digest is the md5 of a relation's rows in a fixed order.
func digest(t *testing.T, db dataplane.Querier, relation string) string {
	t.Helper()
	var s string
	require.NoError(t, db.QueryRow(context.Background(),
		"SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM "+relation+" AS r").Scan(&s))
	return s
}

func count(t *testing.T, db dataplane.Querier, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// inUnit runs f in a transaction prepared by BeginUnit and rolls it back
// unless commit is true.
func inUnit(t *testing.T, pool *pgxpool.Pool, role string, u dataplane.Unit, commit bool, f func(pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	require.NoError(t, dataplane.BeginUnit(ctx, tx, role, u))
	if err := f(tx); err != nil {
		return err
	}
	if commit {
		return tx.Commit(ctx)
	}
	return nil
}

func requireSQLState(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want SQLSTATE %s, got %v", code, err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
}
