package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestVersionedWorkerPinsItsIntents: a worker with a build id is one
// version of its Worker Deployment (docs/adr/0104); promoted, it takes new
// intents, and each intent stays pinned to the version that started it.
func TestVersionedWorkerPinsItsIntents(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_versioning", nil)
	store := db.New(d.Worker)
	cfg := app.Config{BuildID: "build-1", DeploymentName: "cfa-worker-test"}
	w := worker.New(c, workflows.TaskQueue, app.WorkerOptions(cfg))
	app.Register(w, devActivities(t, c, store, cat, nil))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	require.NoError(t, app.PromoteVersion(ctx, c, cfg, zap.NewNop()))

	svc := &service.Service{Temporal: c, Store: store}
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: autoAggregate, SubmittedBy: "e2e"})
	require.NoError(t, err)
	var res workflows.IntentResult
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, decision.Approved, res.DecisionState)

	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	vi := desc.GetWorkflowExecutionInfo().GetVersioningInfo()
	require.Equal(t, enumspb.VERSIONING_BEHAVIOR_PINNED, vi.GetBehavior())
	require.Equal(t, "build-1", vi.GetDeploymentVersion().GetBuildId())
	require.Equal(t, "cfa-worker-test", vi.GetDeploymentVersion().GetDeploymentName())
}
