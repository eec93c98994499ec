// Package worker runs a CFA worker: the intent workflows and their
// activities on the cfa-intents task queue, configured from the
// environment (TEMPORAL_ADDRESS, DATABASE_URL, CFA_CATALOG_DIR,
// CFA_POLICY_DIR, CFA_WORKER_BUILD_ID, ...). The shipped binary is
// cmd/cfa-worker; a deployment with its own extension points builds its
// own binary that calls Run with them (examples/extensions).
package worker

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/workflows"
)

// Run starts a worker with the extension points ext (the zero value is the
// shipped behaviour) and runs it until ctx is done; in-flight tasks finish
// first.
func Run(ctx context.Context, ext extension.Points) error {
	cfg := app.FromEnv()
	logger, err := app.NewLogger()
	if err != nil {
		return fmt.Errorf("start logger: %w", err)
	}
	defer func() { _ = logger.Sync() }()
	stopTelemetry, err := observe(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	w, cleanup, err := app.NewWorker(ctx, cfg, logger, ext)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", workflows.TaskQueue, err)
	}
	defer w.Stop()
	logger.Info("worker started", zap.String("task_queue", workflows.TaskQueue), zap.String("temporal", cfg.TemporalAddress))
	if cfg.BuildID != "" && cfg.Promote {
		c, err := app.Dial(cfg, logger)
		if err != nil {
			return err
		}
		err = app.PromoteVersion(ctx, c, cfg, logger)
		c.Close()
		if err != nil {
			return err
		}
	}
	<-ctx.Done()
	logger.Info("worker stopping: in-flight tasks finish first")
	return nil
}
