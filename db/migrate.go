package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/contextualflux/cfa/internal/redact"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations returns the numbered SQL migrations embedded in the binary.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory exists
	}
	return sub
}

// NewMigrationProvider returns a goose provider over the embedded migrations.
// Closing the provider closes its database/sql handle, not the pool.
// Concurrent migrators (workers starting together, test packages) serialise
// on a Postgres advisory lock.
func NewMigrationProvider(pool *pgxpool.Pool) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), Migrations(),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load embedded migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration as the pool's role. It is safe
// to call on every start. A deployment migrates with MigrateURL, as the
// owner role; this is for tests of the migrations themselves.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	p, err := NewMigrationProvider(pool)
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database %s: %w: fix the failing migration or the database, then retry", describe(pool), err)
	}
	return nil
}

// migrationVersions lists the versions of the embedded migrations, from
// their file names (NNNN_name.sql), in order.
func migrationVersions() ([]int64, error) {
	entries, err := fs.ReadDir(Migrations(), ".")
	if err != nil {
		return nil, fmt.Errorf("list embedded migrations: %w", err)
	}
	var out []int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("embedded migration %s: name it NNNN_what.sql", e.Name())
		}
		out = append(out, v)
	}
	return out, nil
}

// connect opens and pings a pool so a wrong URL fails here, with a hint.
func connect(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, parseError(databaseURL)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Postgres at %s: %w: start it or set DATABASE_URL", describeConfig(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach Postgres at %s: %w: start it or set DATABASE_URL", describeConfig(cfg), err)
	}
	return pool, nil
}

// parseError reports a connection string pgx cannot parse without quoting
// it or wrapping pgx's error: pgx masks passwords on a best-effort basis
// only (a keyword form with spaces around '=' or a broken URL prints them),
// and an error's whole chain is printed by loggers and recorded by Temporal.
func parseError(databaseURL string) error {
	return fmt.Errorf("parse database URL %s: not a valid Postgres connection string: "+
		"use postgres://user@host:port/db?sslmode=disable (percent-encode / ? # @ : %% in a password) "+
		"or the keyword form host=H port=P user=U password=PW dbname=D", redact.URL(databaseURL))
}

// describe names a pool's server and database without its password.
func describe(pool *pgxpool.Pool) string { return describeConfig(pool.Config()) }

func describeConfig(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}
