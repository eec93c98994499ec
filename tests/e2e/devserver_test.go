package e2e_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/workflows"
)

// devActivities are the real activities on s, with the shipped bundle when
// bundle is nil, talking to the dev server c.
func devActivities(t testing.TB, c client.Client, s *db.Store, cat *catalog.Catalog, bundle *policy.Bundle) *activities.Activities {
	t.Helper()
	if bundle == nil {
		var err error
		bundle, err = app.LoadBundle(context.Background(), "")
		require.NoError(t, err)
	}
	// As a worker does at start: replay (I8) loads them again.
	require.NoError(t, s.RecordContextVersions(context.Background(), bundle, cat))
	acts := activities.New(s, cat, bundle, zap.NewNop(), extension.Points{})
	acts.Temporal = c
	return acts
}

// startWorker runs IntentWorkflow and acts on the intents task queue until
// it is stopped, at cleanup at the latest (Stop is idempotent).
func startWorker(t testing.TB, c client.Client, acts *activities.Activities) worker.Worker {
	t.Helper()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	app.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return w
}
