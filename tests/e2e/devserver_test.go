package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
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

// temporalCLI finds the pinned dev server binary that `make test` installs.
func temporalCLI(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TEMPORAL_CLI")
	if p == "" {
		p, _ = filepath.Abs("../../bin/temporal")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Temporal CLI not found at %s: run `make test` (it installs bin/temporal) or set TEMPORAL_CLI", p)
	}
	return p
}

// startDevServer starts the real Temporal dev server for an end-to-end test,
// stopped at cleanup (after the workers, which register theirs later).
func startDevServer(ctx context.Context, t *testing.T) *testsuite.DevServer {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server: skipped with -short")
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: temporalCLI(t), LogLevel: "error",
		ExtraArgs: append(workflows.DevServerArgs(), "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=OFF"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// devActivities are the real activities on s, with the shipped bundle when
// bundle is nil, talking to the dev server c.
func devActivities(t *testing.T, c client.Client, s *db.Store, cat *catalog.Catalog, bundle *policy.Bundle) *activities.Activities {
	t.Helper()
	if bundle == nil {
		var err error
		bundle, err = app.LoadBundle(context.Background(), "")
		require.NoError(t, err)
	}
	acts := activities.New(s, cat, bundle, zap.NewNop(), extension.Points{})
	acts.Temporal = c
	return acts
}

// startWorker runs IntentWorkflow and acts on the intents task queue until
// it is stopped, at cleanup at the latest (Stop is idempotent).
func startWorker(t *testing.T, c client.Client, acts *activities.Activities) worker.Worker {
	t.Helper()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	app.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return w
}
