package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
)

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.NewEmpty(t, "db_migrate")

	tables := []string{"registry_snapshots", "registry_dataset_states", "registry_execution_history",
		"audit_events", "audit_chain_head", "intents", "execution_plans", "scope_locks", "ttl_escalations", "projection_failures"}
	present := func() []string {
		var got []string
		rows, err := d.Pool.Query(ctx, `SELECT table_name::text FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name = ANY($1) ORDER BY 1`, tables)
		require.NoError(t, err)
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			got = append(got, n)
		}
		require.NoError(t, rows.Err())
		return got
	}

	p, err := db.NewMigrationProvider(d.Pool)
	require.NoError(t, err)
	defer p.Close()
	last := p.ListSources()[len(p.ListSources())-1].Version

	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, tables, present())

	_, err = p.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, present())

	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, tables, present())
	v, err := p.GetDBVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, last, v)

	// Migrate is a no-op on an up-to-date database, and the store works on it.
	require.NoError(t, db.Migrate(ctx, d.Pool))
	env, err := db.New(d.Pool).LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, db.GenesisVersionID, env.VersionID)
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	_, err := db.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", db.SandboxLogin{})
	require.ErrorContains(t, err, "cannot reach Postgres at 127.0.0.1:1/none")
	require.ErrorContains(t, err, "start it or set DATABASE_URL")
}
