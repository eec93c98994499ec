// Package app wires configuration shared by the worker and the CLI: where
// Temporal and Postgres are, which catalog and policy bundle to load.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// Defaults for a local machine; every one can be overridden by environment.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
	// DefaultDatabaseURL logs in as the worker role (docs/roles.md).
	DefaultDatabaseURL = "postgres://cfa_worker@127.0.0.1:5432/cfa?sslmode=disable"
	// DefaultMigrateDatabaseURL is the local superuser, who sets the roles
	// up and migrates when neither CFA_MIGRATE_DATABASE_URL nor
	// DATABASE_URL is set.
	DefaultMigrateDatabaseURL = "postgres://postgres@127.0.0.1:5432/cfa?sslmode=disable"
)

// Config is the process configuration, read from the environment.
type Config struct {
	TemporalAddress string // TEMPORAL_ADDRESS
	Namespace       string // TEMPORAL_NAMESPACE
	DatabaseURL     string // DATABASE_URL: the worker's login (cfa_worker)
	// SandboxDatabaseURL (CFA_SANDBOX_DATABASE_URL) is the login units run
	// on; empty: DatabaseURL's server and database as Roles.Sandbox, with
	// no password (docs/roles.md).
	SandboxDatabaseURL string
	// MigrateDatabaseURL (CFA_MIGRATE_DATABASE_URL; unset: DATABASE_URL
	// when that is set, else DefaultMigrateDatabaseURL) is the login of
	// `cfa migrate` and `cfa roles setup`: a superuser, or for migrate a
	// member of Roles.Owner.
	MigrateDatabaseURL string
	// Roles names the database roles (CFA_OWNER_ROLE, CFA_WORKER_ROLE,
	// CFA_SANDBOX_ROLE, CFA_SANDBOX_ADMIN_ROLE; default db.DefaultRoles).
	Roles      db.Roles
	CatalogDir string // CFA_CATALOG_DIR; empty = the shipped catalog
	PolicyDir  string // CFA_POLICY_DIR; empty = the shipped bundle
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
	// MetricsListen (CFA_METRICS_LISTEN, default metrics.DefaultListen;
	// "off": none) is where the worker serves /metrics.
	MetricsListen string
	// Metrics is the process's registry (internal/metrics), not read from
	// the environment: the process that makes it sets it, and Dial sends
	// the Temporal SDK's metrics there, NewWorker the governed flow's.
	// Nil: no metrics.
	Metrics *metrics.Metrics
	// JWTIssuer (CFA_JWT_ISSUER) and JWTPublicKeyFile
	// (CFA_JWT_PUBLIC_KEY_FILE, PEM) make the API accept JWTs that issuer
	// signs, besides its own tokens; JWTAudience (CFA_JWT_AUDIENCE), when
	// set, must be in their aud (docs/api-identity.md, NewAuthenticator).
	JWTIssuer        string
	JWTPublicKeyFile string
	JWTAudience      string
	// CheckpointKeyFile (CFA_CHECKPOINT_KEY) is the signer key file of the
	// audit log's checkpoints (`cfa audit keygen`); empty: the API serves
	// recorded checkpoints but signs none.
	CheckpointKeyFile string
}

// FromEnv reads Config from the environment with local defaults.
func FromEnv() Config {
	return Config{
		TemporalAddress:    envOr("TEMPORAL_ADDRESS", DefaultTemporalAddress),
		Namespace:          envOr("TEMPORAL_NAMESPACE", DefaultNamespace),
		DatabaseURL:        envOr("DATABASE_URL", DefaultDatabaseURL),
		SandboxDatabaseURL: os.Getenv("CFA_SANDBOX_DATABASE_URL"),
		MigrateDatabaseURL: migrateURL(),
		Roles: db.Roles{
			Owner:   envOr("CFA_OWNER_ROLE", db.DefaultRoles.Owner),
			Worker:  envOr("CFA_WORKER_ROLE", db.DefaultRoles.Worker),
			Sandbox: envOr("CFA_SANDBOX_ROLE", db.DefaultRoles.Sandbox),
			Admin:   envOr("CFA_SANDBOX_ADMIN_ROLE", db.DefaultRoles.Admin),
		},
		CatalogDir:     os.Getenv("CFA_CATALOG_DIR"),
		PolicyDir:      os.Getenv("CFA_POLICY_DIR"),
		WebhookURL:     os.Getenv("CFA_NOTIFY_WEBHOOK_URL"),
		TTLSweepEvery:  durationOr("CFA_TTL_SWEEP_EVERY", time.Hour),
		BuildID:        os.Getenv("CFA_WORKER_BUILD_ID"),
		DeploymentName: envOr("CFA_WORKER_DEPLOYMENT", "cfa-worker"),
		Promote:        os.Getenv("CFA_WORKER_PROMOTE") == "true",
		MetricsListen:  envOr("CFA_METRICS_LISTEN", metrics.DefaultListen),
		// The API's JWT issuer (ADR 0117).
		JWTIssuer:         os.Getenv("CFA_JWT_ISSUER"),
		JWTPublicKeyFile:  os.Getenv("CFA_JWT_PUBLIC_KEY_FILE"),
		JWTAudience:       os.Getenv("CFA_JWT_AUDIENCE"),
		CheckpointKeyFile: os.Getenv("CFA_CHECKPOINT_KEY"),
	}
}

// MigrateURL is the login that migrates and sets up the roles.
func (c Config) MigrateURL() string {
	if c.MigrateDatabaseURL != "" {
		return c.MigrateDatabaseURL
	}
	return c.DatabaseURL
}

func migrateURL() string {
	if u := os.Getenv("CFA_MIGRATE_DATABASE_URL"); u != "" {
		return u
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultMigrateDatabaseURL
}

// SandboxLogin is how the worker's units connect.
func (c Config) SandboxLogin() db.SandboxLogin {
	return db.SandboxLogin{URL: c.SandboxDatabaseURL, Role: c.Roles.Sandbox}
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
