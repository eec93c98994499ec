package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/app"
)

// TestVersionsCommands: `cfa policy versions` and `cfa catalog versions`
// list what the workers recorded.
func TestVersionsCommands(t *testing.T) {
	d := dbtest.New(t, "starter_versions")
	env := map[string]string{"DATABASE_URL": d.WorkerURL}

	out, err := run(t, env, "policy", "versions")
	require.NoError(t, err)
	require.Contains(t, out, "no policy bundle recorded yet")
	out, err = run(t, env, "catalog", "versions", "-o", "json")
	require.NoError(t, err)
	require.JSONEq(t, "[]", out)

	ctx := context.Background()
	b, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	require.NoError(t, db.New(d.Worker).RecordContextVersions(ctx, b, cat))

	out, err = run(t, env, "policy", "versions")
	require.NoError(t, err)
	require.Regexp(t, `POLICY BUNDLE VERSION\s+NAME\s+RECORDED AT\s+RECORDED BY`, out)
	require.Regexp(t, `\Q`+b.Version+`\E\s+cfa-default\s+\S+\s+cfa_worker`, out)

	out, err = run(t, env, "catalog", "versions", "-o", "json")
	require.NoError(t, err)
	var cats []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &cats))
	require.Len(t, cats, 1)
	require.Equal(t, cat.SnapshotVersion, cats[0]["catalog_snapshot_version"])
	require.Equal(t, "cfa_worker", cats[0]["recorded_by"])
	require.NotEmpty(t, cats[0]["recorded_at"])
}
