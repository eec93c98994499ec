package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/redact"
	"github.com/contextualflux/cfa/internal/telemetry"
	"github.com/contextualflux/cfa/workflows"
)

// NewWorker loads the catalog and the bundle (with the custom rule
// providers' rules), opens Postgres (the worker's and the sandbox's logins)
// and checks that the schema is current, prepares the data plane,
// dials Temporal and registers the workflows and the activities with the
// extension points ext: the one place a deployment's plug-ins are wired.
// The returned cleanup closes everything it opened.
func NewWorker(ctx context.Context, cfg Config, logger *zap.Logger, ext extension.Points) (worker.Worker, func(), error) {
	cat, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, nil, err
	}
	bundle, err := LoadBundle(ctx, cfg.PolicyDir, ext.RuleProviders...)
	if err != nil {
		return nil, nil, err
	}
	store, err := db.Open(ctx, cfg.DatabaseURL, cfg.SandboxLogin())
	if err != nil {
		return nil, nil, fmt.Errorf("open Postgres at %s: %w", redact.URL(cfg.DatabaseURL), err)
	}
	// The worker does not migrate: the schema's owner does (`cfa migrate`,
	// ADR 0114). It refuses a schema this build does not know.
	if err := store.CheckSchema(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	// Every version an intent can be signed under is in Postgres before
	// the worker takes one, so replay can load it again (ADR 0122).
	if err := store.RecordContextVersions(ctx, bundle, cat); err != nil {
		store.Close()
		return nil, nil, err
	}
	// Units log in as the sandbox login: refuse to start if it is not
	// confined or cannot connect.
	if err := store.CheckSandbox(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	warnings, err := store.PrivilegeWarnings(ctx)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if len(warnings) > 0 {
		logger.Warn("the worker's database role holds more than it needs: run it as "+cfg.Roles.Worker+" (docs/roles.md)",
			zap.Strings("privileges", warnings))
	}
	// The data plane the sandbox runs on: layer, staging and quarantine
	// schemas made from the catalog (idempotent), owned by the worker.
	if err := store.EnsureDataPlane(ctx, cat); err != nil {
		store.Close()
		return nil, nil, err
	}
	c, err := Dial(cfg, logger)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	if err := EnsureSearchAttributes(ctx, c, cfg.Namespace); err != nil {
		c.Close()
		store.Close()
		return nil, nil, err
	}
	ext, closeLineage, err := WithLineage(ext, LineageFromEnv(), cfg.DatabaseURL, cat, store, logger)
	if err != nil {
		c.Close()
		store.Close()
		return nil, nil, err
	}
	opts := WorkerOptions(cfg)
	// Inside the client's tracing interceptor: its spans exist by then.
	opts.Interceptors = append(opts.Interceptors, telemetry.NewWorkerInterceptor(cfg.Metrics))
	w := worker.New(c, workflows.TaskQueue, opts)
	acts := activities.New(store, cat, bundle, logger, ext)
	acts.Temporal = c
	acts.Metrics = cfg.Metrics
	// Open escalations and the audit chain's length, read from Postgres
	// at each scrape: the same for every worker.
	cfg.Metrics.WatchState(ObservedState(store))
	acts.Notifier = notifierFor(cfg)
	Register(w, acts)
	// A new bundle or catalog re-evaluates every skill before the worker
	// serves one (ADR 0129); housekeeping: a failure is logged, the worker
	// still governs, and the next start (or `cfa skill reevaluate`) retries.
	if _, err := reevaluateSkills(ctx, store, bundle, cat, c, acts, logger); err != nil {
		logger.Error("skills not all re-evaluated against the bundle and catalog in force; run `cfa skill reevaluate`", zap.Error(err))
	}
	if err := EnsureTTLSchedule(ctx, c, cfg.TTLSweepEvery); err != nil {
		// The sweeper is housekeeping: a worker without it still governs.
		logger.Error("TTL sweeper schedule not created", zap.Error(err))
	}
	logger.Info("worker configured",
		zap.String("catalog_snapshot_version", cat.SnapshotVersion),
		zap.String("policy_bundle_version", bundle.Version),
		zap.Int("policy_rules", len(bundle.Rules)),
		zap.Strings("rule_providers", bundle.Providers),
		zap.String("deployment", cfg.DeploymentName), zap.String("build_id", cfg.BuildID),
		zap.String("sandbox_login", store.SandboxUser()),
		zap.String("notify_webhook", webhookOrigin(cfg.WebhookURL)))
	return w, func() { c.Close(); closeLineage(); store.Close() }, nil
}

// webhookOrigin is what the worker says about its webhook: the scheme and
// host only, since a webhook's path is often its credential.
func webhookOrigin(u string) string {
	if u == "" {
		return "none (notifications are logged only)"
	}
	return redact.Origin(u)
}

// WorkflowRegisterer is what workflows are registered on: a worker, a
// replayer or a test environment.
type WorkflowRegisterer interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Registerer also takes activities.
type Registerer interface {
	WorkflowRegisterer
	RegisterActivity(a any)
}

// Register registers CFA's workflows and its activities.
func Register(r Registerer, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows registers CFA's workflows under their names, pinned to
// the worker's deployment version when versioning is on (docs/adr/0104).
func RegisterWorkflows(r WorkflowRegisterer) {
	for _, w := range []struct {
		name string
		fn   any
	}{
		{workflows.IntentWorkflowName, workflows.IntentWorkflow},
		{workflows.CompositeIntentWorkflowName, workflows.CompositeIntentWorkflow},
		{workflows.TTLSweeperWorkflowName, workflows.TTLSweeperWorkflow},
	} {
		r.RegisterWorkflowWithOptions(w.fn, workflow.RegisterOptions{Name: w.name, VersioningBehavior: workflow.VersioningBehaviorPinned})
	}
}

// WorkerOptions are the worker's options: with a build id (CFA_WORKER_BUILD_ID)
// the worker is one version of its Worker Deployment and every workflow
// it starts stays pinned to that version until it completes.
func WorkerOptions(cfg Config) worker.Options {
	if cfg.BuildID == "" {
		return worker.Options{}
	}
	return worker.Options{DeploymentOptions: worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: cfg.DeploymentName, BuildID: cfg.BuildID},
		DefaultVersioningBehavior: workflow.VersioningBehaviorPinned,
	}}
}

// PromoteVersion makes the worker's version the deployment's current one,
// so new intents start on it (CFA_WORKER_PROMOTE, for a single-version
// rollout); it retries until the server has seen the worker poll.
func PromoteVersion(ctx context.Context, c client.Client, cfg Config, logger *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h := c.WorkerDeploymentClient().GetHandle(cfg.DeploymentName)
	for {
		_, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: cfg.BuildID, Identity: "cfa-worker"})
		// Until the server has seen this worker poll, the deployment or
		// the version is not found (NotFound, or FailedPrecondition when the
		// deployment itself is new): retry.
		var nf *serviceerror.NotFound
		var fp *serviceerror.FailedPrecondition
		switch {
		case err == nil:
			logger.Info("worker deployment version is current", zap.String("deployment", cfg.DeploymentName), zap.String("build_id", cfg.BuildID))
			return nil
		case !errors.As(err, &nf) && !errors.As(err, &fp):
			return fmt.Errorf("set %s %s as the current version: %w; set it with `temporal worker deployment set-current-version`", cfg.DeploymentName, cfg.BuildID, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("set %s %s as the current version: the server has not seen this worker poll within a minute (%w): %w", cfg.DeploymentName, cfg.BuildID, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Dial connects to Temporal with a message that says what to do on failure.
// The client traces through OpenTelemetry (a no-op until telemetry.Setup
// turns tracing on; a worker built from it traces too) and sends the SDK's
// metrics to cfg.Metrics when set.
func Dial(cfg Config, logger *zap.Logger) (client.Client, error) {
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.Namespace}
	if logger != nil {
		opts.Logger = NewTemporalLogger(logger)
	}
	tracing, err := telemetry.TemporalInterceptor()
	if err != nil {
		return nil, err
	}
	opts.Interceptors = append(opts.Interceptors, tracing)
	if cfg.Metrics != nil {
		opts.MetricsHandler = cfg.Metrics.TemporalHandler()
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
