package flow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

var (
	anyCtx = mock.Anything
	anyArg = mock.Anything
)

func uniqueID(t *testing.T) string {
	return "test-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-") + "-" + uuid.NewString()[:8]
}

func startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id}
}

func lockReqFor(intent, dataset string) db.LockRequest {
	return db.LockRequest{IntentID: intent, WorkflowID: "wf-" + intent, Scopes: []db.LockScope{{Dataset: dataset}}}
}

// datasetOf is the catalog's dataset name.
func datasetOf(t *testing.T, name string) catalog.Dataset {
	t.Helper()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	d, ok := cat.Get(name)
	require.True(t, ok, "dataset %s is not in the catalog", name)
	return d
}

// dataPlaneDB is a fresh database of its own with the data plane, seeded
// with opts unless nil, and the catalog it was built from.
func dataPlaneDB(ctx context.Context, t *testing.T, name string, opts *dataplane.Options) (*dbtest.Database, *catalog.Catalog) {
	t.Helper()
	d := dbtest.New(t, name)
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	s := db.New(d.Pool)
	require.NoError(t, s.EnsureDataPlane(ctx, cat))
	if opts != nil {
		require.NoError(t, s.SeedDataPlane(ctx, cat, *opts))
	}
	return d, cat
}
