package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/redact"
)

// DefaultDemoDatabaseURL is the demo's own database; scripts/demo.sh uses
// it unless CFA_DEMO_DATABASE_URL names another.
const DefaultDemoDatabaseURL = "postgres://postgres@127.0.0.1:5432/cfa_demo?sslmode=disable"

// checkDemoDatabase refuses a database that is not the demo's own: the demo
// seeds the registry, resets the data plane and fills the history tables,
// which must never happen to an operator's database. The rule is
// db.RecreateDatabase's: the name ends in _demo (or _test).
func checkDemoDatabase(databaseURL string) error {
	name, err := databaseName(databaseURL)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(name, "_demo") && !strings.HasSuffix(name, "_test") {
		return fmt.Errorf("DATABASE_URL names database %q: the demo runs only on a database of its own, whose name ends in _demo; "+
			"make demo uses %s (set CFA_DEMO_DATABASE_URL to change it)", name, DefaultDemoDatabaseURL)
	}
	return nil
}

func databaseName(databaseURL string) (string, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgx's error may quote the password: name the value redacted only.
		return "", fmt.Errorf("parse DATABASE_URL %s: not a valid Postgres connection string; use postgres://user@host:port/dbname", redact.URL(databaseURL))
	}
	return cfg.Database, nil
}

// checkFresh refuses a database that already holds intents: every run
// starts from an empty one, so its figures (pre-cost feedback, the skills'
// evidence) are the same every time.
func checkFresh(ctx context.Context, store *db.Store, databaseURL string) error {
	rows, err := store.ListIntents(ctx, 1)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		name, _ := databaseName(databaseURL)
		return fmt.Errorf("database %q already holds intents from an earlier run; the demo starts from an empty database: "+
			"run `cfa-demo reset-database` before the worker starts (make demo does)", name)
	}
	return nil
}

func (c *cli) resetDatabaseCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reset-database",
		Short: "Drop and recreate the demo's own database (a name ending in _demo), set up the roles and migrate it",
		Long: `Drop the database CFA_MIGRATE_DATABASE_URL (or DATABASE_URL) names, with every
session still connected to it, create it empty, set up the database roles
(cfa_owner, cfa_worker, cfa_sandbox; docs/roles.md) and apply the migrations
as cfa_owner. It needs a superuser's login; the worker then runs as
cfa_worker. Run it before the worker starts: make demo and make bench-e2e
do. It refuses a database whose name does not end in _demo (or _test), so
an operator's database is never dropped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := c.cfg.MigrateURL()
			if err := checkDemoDatabase(url); err != nil {
				return err
			}
			if err := db.RecreateDatabase(cmd.Context(), url); err != nil {
				return err
			}
			if err := db.SetupRoles(cmd.Context(), url, c.cfg.Roles); err != nil {
				return err
			}
			if err := db.MigrateURL(cmd.Context(), url, c.cfg.Roles); err != nil {
				return err
			}
			name, _ := databaseName(url)
			return c.emit(map[string]string{"database": name, "state": "recreated, roles set up, migrated"}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "database %s recreated, roles set up (worker %s, sandbox %s), migrated as %s\n", name, c.cfg.Roles.Worker, c.cfg.Roles.Sandbox, c.cfg.Roles.Owner)
				return err
			})
		},
	}
}
