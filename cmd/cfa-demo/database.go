package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
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

// replicaDatabaseURL is the demo's second database, where section (v)
// syncs the context plane: databaseURL with the same server and login and
// the database cfa_replica_demo for cfa_demo (NAME_demo gives
// NAME_replica_demo, a name RecreateDatabase accepts). reset-database
// --replica recreates it from the admin URL; run derives it from the
// worker's, so both name the same database.
func replicaDatabaseURL(databaseURL string) (string, error) {
	if err := checkDemoDatabase(databaseURL); err != nil {
		return "", err
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("derive the replica's URL from %s: give the demo's database as a postgres:// URL", redact.URL(databaseURL))
	}
	name := strings.TrimPrefix(u.Path, "/")
	switch {
	case strings.HasSuffix(name, "_demo"):
		name = strings.TrimSuffix(name, "_demo") + "_replica_demo"
	default: // _test
		name = strings.TrimSuffix(name, "_test") + "_replica_test"
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
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
	var replica bool
	cmd := &cobra.Command{
		Use:   "reset-database",
		Short: "Drop and recreate the demo's own database (a name ending in _demo), set up the roles and migrate it",
		Long: `Drop the database CFA_MIGRATE_DATABASE_URL (or DATABASE_URL) names, with every
session still connected to it, create it empty, set up the database roles
(cfa_owner, cfa_worker, cfa_sandbox; docs/roles.md) and apply the migrations
as cfa_owner. It needs a superuser's login; the worker then runs as
cfa_worker. Run it before the worker starts: make demo and make bench-e2e
do. It refuses a database whose name does not end in _demo (or _test), so
an operator's database is never dropped. With --replica it does the same
to the demo's second database, NAME_replica_demo on the same server (make
demo syncs the context plane into it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := c.cfg.MigrateURL()
			if err := checkDemoDatabase(url); err != nil {
				return err
			}
			urls := []string{url}
			if replica {
				r, err := replicaDatabaseURL(url)
				if err != nil {
					return err
				}
				urls = append(urls, r)
			}
			var done []map[string]string
			for _, u := range urls {
				if err := c.recreate(cmd.Context(), u); err != nil {
					return err
				}
				name, _ := databaseName(u)
				done = append(done, map[string]string{"database": name, "state": "recreated, roles set up, migrated"})
			}
			var v any = done[0]
			if replica {
				v = done
			}
			return c.emit(v, func(w io.Writer) error {
				for _, d := range done {
					if _, err := fmt.Fprintf(w, "database %s recreated, roles set up (worker %s, sandbox %s), migrated as %s\n", d["database"], c.cfg.Roles.Worker, c.cfg.Roles.Sandbox, c.cfg.Roles.Owner); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&replica, "replica", false, "also recreate the demo's second database (NAME_replica_demo), where make demo syncs the context plane")
	return cmd
}

// recreate drops and creates the database url names, sets up the roles and
// migrates it.
func (c *cli) recreate(ctx context.Context, url string) error {
	if err := db.RecreateDatabase(ctx, url); err != nil {
		return err
	}
	if err := db.SetupRoles(ctx, url, c.cfg.Roles); err != nil {
		return err
	}
	return db.MigrateURL(ctx, url, c.cfg.Roles)
}
