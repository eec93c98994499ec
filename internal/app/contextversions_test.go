package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
)

// TestWorkerRecordsItsBundleAndCatalog: NewWorker records the bundle and
// the catalog it loaded in Postgres before it reaches Temporal, so every
// version an intent can be signed under is there before the worker takes
// one (ADR 0122). Temporal is unreachable here: the worker stops there.
func TestWorkerRecordsItsBundleAndCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "app_ctxversions")
	_, _, err := app.NewWorker(ctx, app.Config{DatabaseURL: d.WorkerURL, TemporalAddress: "127.0.0.1:1", Namespace: "default"},
		zap.NewNop(), extension.Points{})
	require.ErrorContains(t, err, "cannot reach Temporal")

	b, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	store := db.New(d.Worker)
	bundles, err := store.BundleVersions(ctx)
	require.NoError(t, err)
	require.Len(t, bundles, 1)
	require.Equal(t, b.Version, bundles[0].Version)
	cats, err := store.CatalogVersions(ctx)
	require.NoError(t, err)
	require.Len(t, cats, 1)
	require.Equal(t, cat.SnapshotVersion, cats[0].Version)
}
