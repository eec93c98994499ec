// Package app wires configuration shared by the worker and the CLI: where
// Temporal and Postgres are, which catalog and policy bundle to load.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.uber.org/zap"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// Defaults for a local machine; every one can be overridden by environment.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
	DefaultDatabaseURL     = "postgres://postgres@127.0.0.1:5432/cfa?sslmode=disable"
)

// Config is the process configuration, read from the environment.
type Config struct {
	TemporalAddress string // TEMPORAL_ADDRESS
	Namespace       string // TEMPORAL_NAMESPACE
	DatabaseURL     string // DATABASE_URL
	CatalogDir      string // CFA_CATALOG_DIR; empty = the shipped catalog
	PolicyDir       string // CFA_POLICY_DIR; empty = the shipped bundle
	// WebhookURL (CFA_NOTIFY_WEBHOOK_URL; empty = log only) is the
	// governance notification target. It is the worker's configuration,
	// read by the NotifyGovernance activity, never an activity argument:
	// its credentials stay out of the Temporal history (docs/adr/0111).
	WebhookURL string
	// TTLSweepEvery is how often the TTL sweeper Schedule runs
	// (CFA_TTL_SWEEP_EVERY, a Go duration; default 1h).
	TTLSweepEvery time.Duration
	// BuildID (CFA_WORKER_BUILD_ID) makes the worker one version of the
	// Worker Deployment DeploymentName (CFA_WORKER_DEPLOYMENT, default
	// cfa-worker); empty runs an unversioned worker (docs/adr/0104).
	BuildID        string
	DeploymentName string
	// Promote (CFA_WORKER_PROMOTE=true) makes the worker's version current
	// once it polls: a single-version rollout.
	Promote bool
}

// FromEnv reads Config from the environment with local defaults.
func FromEnv() Config {
	return Config{
		TemporalAddress: envOr("TEMPORAL_ADDRESS", DefaultTemporalAddress),
		Namespace:       envOr("TEMPORAL_NAMESPACE", DefaultNamespace),
		DatabaseURL:     envOr("DATABASE_URL", DefaultDatabaseURL),
		CatalogDir:      os.Getenv("CFA_CATALOG_DIR"),
		PolicyDir:       os.Getenv("CFA_POLICY_DIR"),
		WebhookURL:      os.Getenv("CFA_NOTIFY_WEBHOOK_URL"),
		TTLSweepEvery:   durationOr("CFA_TTL_SWEEP_EVERY", time.Hour),
		BuildID:         os.Getenv("CFA_WORKER_BUILD_ID"),
		DeploymentName:  envOr("CFA_WORKER_DEPLOYMENT", "cfa-worker"),
		Promote:         os.Getenv("CFA_WORKER_PROMOTE") == "true",
	}
}

// durationOr reads a Go duration; an unparsable value keeps the default
// (the worker logs its configuration).
func durationOr(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// CatalogFS returns the catalog files: dir when given, else the shipped ones.
func CatalogFS(dir string) fs.FS {
	if dir != "" {
		return os.DirFS(dir)
	}
	return catalogfiles.FS
}

// PolicyFS returns the bundle files: dir when given, else the shipped ones.
func PolicyFS(dir string) fs.FS {
	if dir != "" {
		return os.DirFS(dir)
	}
	return policies.FS
}

// LoadCatalog loads and validates the data catalog.
func LoadCatalog(dir string) (*catalog.Catalog, error) {
	c, err := catalog.Load(CatalogFS(dir))
	if err != nil {
		return nil, fmt.Errorf("load data catalog from %s: %w", describe(dir, "the shipped catalog/"), err)
	}
	return c, nil
}

// LoadBundle loads, type-checks and compiles the policy bundle, with the
// rules of the custom rule providers (whose rule tests must pass).
func LoadBundle(ctx context.Context, dir string, providers ...extension.RuleProvider) (*policy.Bundle, error) {
	sources := make([]policy.RuleSource, 0, len(providers))
	for _, p := range providers {
		fsys, err := p.Rules(ctx)
		if err != nil {
			return nil, fmt.Errorf("custom_rule_provider %s: %w", p.Name(), err)
		}
		sources = append(sources, policy.RuleSource{Name: p.Name(), Version: p.Version(), FS: fsys})
	}
	b, err := policy.LoadWith(PolicyFS(dir), sources...)
	if err != nil {
		return nil, fmt.Errorf("load policy bundle from %s: %w", describe(dir, "the shipped policies/"), err)
	}
	if len(sources) > 0 {
		if err := b.RunTests(); err != nil {
			return nil, fmt.Errorf("policy bundle with custom rule providers: a rule test fails: %w", err)
		}
	}
	return b, nil
}

func describe(dir, def string) string {
	if dir == "" {
		return def
	}
	return dir
}

// NewLogger returns the production zap logger (JSON to stderr).
func NewLogger() (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Sampling = nil
	if os.Getenv("CFA_LOG_LEVEL") == "debug" {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	return cfg.Build()
}
