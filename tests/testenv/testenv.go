// Package testenv is what the flow and end-to-end tests share: a database
// of their own with the data plane, and the shipped catalog.
package testenv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

// DataPlaneDB is a fresh database of its own with the data plane, seeded
// with opts unless nil, and the catalog it was built from. The data plane
// is made as the worker role, which owns it in production: run the store
// on d.Worker to hold only what the worker holds (d.Pool is a superuser).
func DataPlaneDB(ctx context.Context, t testing.TB, name string, opts *dataplane.Options) (*dbtest.Database, *catalog.Catalog) {
	t.Helper()
	d := dbtest.New(t, name)
	cat := Catalog(t)
	s := db.New(d.Worker)
	require.NoError(t, s.EnsureDataPlane(ctx, cat))
	if opts != nil {
		require.NoError(t, s.SeedDataPlane(ctx, cat, *opts))
	}
	return d, cat
}

// Catalog is the shipped catalog.
func Catalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	return cat
}

// Dataset is the shipped catalog's dataset name.
func Dataset(t *testing.T, name string) catalog.Dataset {
	t.Helper()
	d, ok := Catalog(t).Get(name)
	require.True(t, ok, "dataset %s is not in the catalog", name)
	return d
}
