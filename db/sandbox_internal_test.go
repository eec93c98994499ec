package db

import (
	"crypto/tls"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// The default sandbox login is the worker's server and database as the
// sandbox role, with none of the worker's credentials.
func TestSandboxConfigTakesNoneOfTheWorkersCredentials(t *testing.T) {
	t.Parallel()
	worker, err := pgxpool.ParseConfig("postgres://cfa_worker:s3cret@db.example:5433/cfa?sslmode=require")
	require.NoError(t, err)
	worker.ConnConfig.TLSConfig.Certificates = []tls.Certificate{{}}

	cfg, err := sandboxConfig(worker, SandboxLogin{})
	require.NoError(t, err)
	require.Equal(t, DefaultRoles.Sandbox, cfg.ConnConfig.User)
	require.Empty(t, cfg.ConnConfig.Password)
	require.Equal(t, "db.example", cfg.ConnConfig.Host)
	require.Equal(t, uint16(5433), cfg.ConnConfig.Port)
	require.Equal(t, "cfa", cfg.ConnConfig.Database)
	require.NotNil(t, cfg.ConnConfig.TLSConfig, "TLS stays on")
	require.Empty(t, cfg.ConnConfig.TLSConfig.Certificates, "not the worker's client certificate")
	require.Len(t, worker.ConnConfig.TLSConfig.Certificates, 1, "the worker's config is untouched")
	require.Equal(t, "s3cret", worker.ConnConfig.Password)

	cfg, err = sandboxConfig(worker, SandboxLogin{Role: "units"})
	require.NoError(t, err)
	require.Equal(t, "units", cfg.ConnConfig.User)

	cfg, err = sandboxConfig(worker, SandboxLogin{URL: "postgres://cfa_sandbox:other@db.example:5433/cfa"})
	require.NoError(t, err)
	require.Equal(t, "other", cfg.ConnConfig.Password)

	_, err = sandboxConfig(worker, SandboxLogin{URL: "postgres://cfa_worker@db.example:5433/cfa"})
	require.ErrorIs(t, err, ErrSandboxLogin, "units never log in as the worker")
	_, err = sandboxConfig(worker, SandboxLogin{URL: "postgres://u:s3cret/x@db.example/cfa"})
	require.ErrorContains(t, err, "not a valid Postgres connection string")
	require.NotContains(t, err.Error(), "s3cret")
}
