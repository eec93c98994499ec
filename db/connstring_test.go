package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
)

// TestUnparsableDatabaseURLHoldsNoPassword is finding 6 of issue 10: every
// entry point that parses DATABASE_URL reports a string pgx rejects without
// printing its password (pgx masks it only on a best-effort basis).
func TestUnparsableDatabaseURLHoldsNoPassword(t *testing.T) {
	t.Parallel()
	const secret = "Pl4ntedS3cret"
	ctx := context.Background()
	for _, url := range []string{
		"host=127.0.0.1 port=abc user=postgres password = " + secret + " dbname=cfa",
		"postgres://postgres:" + secret + "/x@127.0.0.1:5432/cfa",
		"postgres://postgres:" + secret + "%zz@127.0.0.1:5432/cfa_test",
	} {
		for name, call := range map[string]func() error{
			"MigrateURL":       func() error { return db.MigrateURL(ctx, url, db.DefaultRoles) },
			"Open":             func() error { _, err := db.Open(ctx, url, db.SandboxLogin{}); return err },
			"EnsureDatabase":   func() error { return db.EnsureDatabase(ctx, url) },
			"RecreateDatabase": func() error { return db.RecreateDatabase(ctx, url) },
		} {
			err := call()
			require.ErrorContains(t, err, "not a valid Postgres connection string", "%s(%q)", name, url)
			require.NotContains(t, err.Error(), secret, name)
		}
	}
}
