package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
)

// TestWorkerStartupErrorHoldsNoPassword is finding 6 of issue 10: the error
// NewWorker (what worker.Run and cmd/cfa-worker call) returns for a
// DATABASE_URL it cannot use names the database without its password,
// whatever the form of the string. Port 1 refuses at once, so no Postgres
// is needed.
func TestWorkerStartupErrorHoldsNoPassword(t *testing.T) {
	t.Parallel()
	const secret = "Pl4ntedS3cret"
	for _, tc := range []struct {
		name, databaseURL, want string
	}{
		{"keyword form, unreachable",
			"host=127.0.0.1 port=1 user=postgres password=" + secret + " dbname=cfa",
			"open Postgres at host=127.0.0.1 port=1 user=postgres password=xxxxx dbname=cfa: cannot reach Postgres at 127.0.0.1:1/cfa"},
		{"keyword form with spaces around =, unparsable port",
			"host=127.0.0.1 port=abc user=postgres password = " + secret + " dbname=cfa",
			"parse database URL host=127.0.0.1 port=abc user=postgres password=xxxxx dbname=cfa: not a valid Postgres connection string"},
		{"keyword form with an unclosed quote",
			"host=127.0.0.1 port=1 password='" + secret,
			"not a valid Postgres connection string"},
		{"URL, unreachable",
			"postgres://postgres:" + secret + "@127.0.0.1:1/cfa?sslmode=disable",
			"open Postgres at postgres://postgres:xxxxx@127.0.0.1:1/cfa?sslmode=disable: cannot reach Postgres"},
		{"unparsable URL: a slash in the password",
			"postgres://postgres:" + secret + "/x@127.0.0.1:1/cfa",
			"not a valid Postgres connection string"},
		{"unparsable URL: a bad percent escape in the password",
			"postgres://postgres:" + secret + "%zz@127.0.0.1:1/cfa",
			"not a valid Postgres connection string"},
		{"unparsable URL: a password in the port",
			"postgres://postgres@127.0.0.1:" + secret + "/cfa",
			"not a valid Postgres connection string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := app.NewWorker(context.Background(), app.Config{DatabaseURL: tc.databaseURL}, zap.NewNop(), extension.Points{})
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), secret)
			require.NotContains(t, err.Error(), secret[:6], "not even part of it")
		})
	}
}
