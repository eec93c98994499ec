package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/registry"
)

// TestPlaneCommands: `registry show --as-of-system` reads the dataset
// records as known then; `plane export` and `plane import` copy a plane
// through a file; `plane sync` copies one into another database and
// verifies both exports are byte-identical (MUST-007).
func TestPlaneCommands(t *testing.T) {
	a, b, c := dbtest.New(t, "starter_plane"), dbtest.New(t, "starter_plane"), dbtest.New(t, "starter_plane")
	ctx := context.Background()
	store := db.New(a.Worker)
	_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
	}, db.Operator{By: "test", Reason: "seed"})
	require.NoError(t, err)
	var between time.Time
	require.NoError(t, a.Pool.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&between))
	_, _, err = store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StateStale, PublishAllowed: false},
	}, db.Operator{By: "test", Reason: "age"})
	require.NoError(t, err)

	env := map[string]string{"DATABASE_URL": a.WorkerURL, CFAActorEnv: "ana"}
	out, err := run(t, env, "registry", "show", "--as-of-system", between.UTC().Format(time.RFC3339Nano), "-o", "json")
	require.NoError(t, err)
	var then registryAsOf
	require.NoError(t, json.Unmarshal([]byte(out), &then))
	require.Len(t, then.Datasets, 1)
	require.Equal(t, registry.StateCommitted, then.Datasets[0].State)
	out, err = run(t, env, "registry", "show", "--as-of-valid", time.Now().Add(2*time.Second).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	require.Contains(t, out, "stale")
	_, err = run(t, env, "registry", "show", "--as-of-system", "yesterday")
	require.ErrorContains(t, err, "RFC 3339")

	file := filepath.Join(t.TempDir(), "plane.cfs")
	_, err = run(t, env, "plane", "export", "--out", file, "--batch", "1")
	require.NoError(t, err)
	out, err = run(t, map[string]string{"DATABASE_URL": b.WorkerURL, CFAActorEnv: "ana"}, "plane", "import", "--file", file)
	require.NoError(t, err)
	require.Contains(t, out, "imported 2 entries")

	out, err = run(t, env, "plane", "sync", "--to", c.WorkerURL, "--batch", "1")
	require.NoError(t, err)
	require.Contains(t, out, "synced 2 entries")
	require.Contains(t, out, "byte for byte")
	out, err = run(t, env, "plane", "sync", "--to", b.WorkerURL) // resumes from the imported cursor: nothing new
	require.NoError(t, err)
	require.Contains(t, out, "synced 0 entries")
}
