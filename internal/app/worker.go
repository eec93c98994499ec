package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/workflows"
)

// NewWorker loads catalog and bundle, migrates and opens Postgres, dials
// Temporal and registers the workflows and activities. The returned cleanup
// closes everything it opened.
func NewWorker(ctx context.Context, cfg Config, logger *zap.Logger) (worker.Worker, func(), error) {
	cat, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, nil, err
	}
	bundle, err := LoadBundle(cfg.PolicyDir)
	if err != nil {
		return nil, nil, err
	}
	if err := db.MigrateURL(ctx, cfg.DatabaseURL); err != nil {
		return nil, nil, fmt.Errorf("migrate Postgres at %s: %w", redact(cfg.DatabaseURL), err)
	}
	store, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	// The data plane the sandbox runs on: layer, staging and quarantine
	// schemas made from the catalog (idempotent).
	if err := store.EnsureDataPlane(ctx, cat); err != nil {
		store.Close()
		return nil, nil, err
	}
	c, err := Dial(cfg, logger)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	acts := &activities.Activities{
		Store: store, Catalog: cat, Bundle: bundle, Logger: logger, Temporal: c,
		Notifier: &activities.Notifier{WebhookURL: cfg.WebhookURL, Client: &http.Client{Timeout: 10 * time.Second}},
	}
	w.RegisterWorkflowWithOptions(workflows.IntentWorkflow, workflow.RegisterOptions{Name: workflows.IntentWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.BareWorkflow, workflow.RegisterOptions{Name: workflows.BareWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.CompositeIntentWorkflow, workflow.RegisterOptions{Name: workflows.CompositeIntentWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.TTLSweeperWorkflow, workflow.RegisterOptions{Name: workflows.TTLSweeperWorkflowName})
	w.RegisterActivity(acts)
	if err := EnsureTTLSchedule(ctx, c, cfg.TTLSweepEvery); err != nil {
		// The sweeper is housekeeping: a worker without it still governs.
		logger.Error("TTL sweeper schedule not created", zap.Error(err))
	}
	logger.Info("worker configured",
		zap.String("catalog_snapshot_version", cat.SnapshotVersion),
		zap.String("policy_bundle_version", bundle.Version),
		zap.Int("policy_rules", len(bundle.Rules)))
	return w, func() { c.Close(); store.Close() }, nil
}

// Dial connects to Temporal with a message that says what to do on failure.
func Dial(cfg Config, logger *zap.Logger) (client.Client, error) {
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.Namespace}
	if logger != nil {
		opts.Logger = NewTemporalLogger(logger)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; start it with `make dev` or set TEMPORAL_ADDRESS", cfg.TemporalAddress, cfg.Namespace, err)
	}
	return c, nil
}

// EnsureTTLSchedule creates the Temporal Schedule that runs the TTL sweeper
// (whitepaper 5.9) every interval, unless it exists.
func EnsureTTLSchedule(ctx context.Context, c client.Client, every time.Duration) error {
	if every <= 0 {
		every = time.Hour
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   workflows.TTLScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID: "cfa-ttl-sweep", Workflow: workflows.TTLSweeperWorkflowName, TaskQueue: workflows.TaskQueue,
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", workflows.TTLScheduleID, err)
	}
	return nil
}
