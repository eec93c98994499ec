package db

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/contextualflux/cfa/internal/dataplane"
)

// EnsureDatabase creates the database named in databaseURL when it does not
// exist yet, connecting to the server's `postgres` database to do so.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return parseError(databaseURL)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("cannot reach Postgres at %s:%d: %w; start it (scripts/ensure-postgres.sh) or set DATABASE_URL", cfg.Host, cfg.Port, err)
	}
	name := cfg.Database
	admin := cfg.Copy()
	admin.Database = "postgres"
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to database postgres to create %q: %w", name, err)
	}
	defer aconn.Close(ctx)
	if _, err := aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a concurrent creator won
			return nil
		}
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// RecreateDatabase drops the database named in databaseURL, with every
// session still connected to it, and creates it empty. It is for databases
// that belong to one run (the demo's): it refuses names that do not end in
// _demo or _test, so an operator's database cannot be dropped by mistake.
func RecreateDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return parseError(databaseURL)
	}
	name := cfg.Database
	if !strings.HasSuffix(name, "_demo") && !strings.HasSuffix(name, "_test") {
		return fmt.Errorf("recreate database %q: refused, only a database whose name ends in _demo or _test is dropped; point the URL at one", name)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("cannot reach Postgres at %s:%d to recreate %q: %w; start it (scripts/ensure-postgres.sh)", cfg.Host, cfg.Port, name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	if err := DropSandboxRolesOf(ctx, conn, name); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// DropSandboxRolesOf drops the per-plan sandbox roles of database dbName,
// which no longer exists: roles are the server's and outlive it. conn must
// be a superuser's (or a CREATEROLE role's).
func DropSandboxRolesOf(ctx context.Context, conn *pgx.Conn, dbName string) error {
	rows, err := conn.Query(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1", dataplane.SandboxRolePrefix(dbName))
	if err != nil {
		return fmt.Errorf("list the sandbox roles of %q: %w", dbName, err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list the sandbox roles of %q: %w", dbName, err)
	}
	for _, r := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			return fmt.Errorf("drop sandbox role %s of %q: %w", r, dbName, err)
		}
	}
	return nil
}
