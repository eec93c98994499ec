package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/contextualflux/cfa/internal/partialexecution"
)

func TestPermissionOutsideScope(t *testing.T) {
	t.Parallel()
	sources := []string{"clientes", "nfe"}
	cases := []struct {
		msg  string
		want bool
	}{
		{"permission denied for table nfe", false},              // a source: the permission was revoked
		{"permission denied for table silver_documentos", true}, // the target itself: never granted
		{"permission denied for table produtos", true},          // unrelated
		{"permission denied for schema gold", false},            // not a table: not judged here
		{"deadlock detected", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, permissionOutsideScope(c.msg, sources), c.msg)
	}
	require.False(t, permissionOutsideScope("permission denied for table x", nil), "without the plan's sources nothing is judged forbidden")
}

func TestClassify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A real refused connection: nothing listens on port 1.
	_, connErr := pgconn.Connect(ctx, "postgres://cfa@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=2")
	var ce *pgconn.ConnectError
	require.ErrorAs(t, connErr, &ce)
	pgErr := func(code string) error {
		return fmt.Errorf("execute unit 2026-01-03 of intent i: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: "boom"})
	}
	sources := []string{"clientes", "nfe"}
	cases := []struct {
		name string
		err  error
		want partialexecution.Trigger // "" for a retryable error returned as is
	}{
		{"permission revoked on a source", fmt.Errorf("unit: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for table nfe"}), partialexecution.TriggerExternalPermissionRevoked},
		{"permission outside the plan", fmt.Errorf("unit: %w", &pgconn.PgError{Code: "42501", Message: "permission denied for table produtos"}), partialexecution.TriggerForbiddenOperation},
		{"disk_full", pgErr("53100"), partialexecution.TriggerStorageQuotaExceeded},
		{"out_of_memory", pgErr("53200"), partialexecution.TriggerStorageQuotaExceeded},
		{"io_error", pgErr("58030"), partialexecution.TriggerStorageQuotaExceeded},
		{"admin_shutdown (pg_terminate_backend)", fmt.Errorf("unit: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}), partialexecution.TriggerConnectionLost},
		{"crash_shutdown", pgErr("57P02"), partialexecution.TriggerConnectionLost},
		{"cannot_connect_now", pgErr("57P03"), partialexecution.TriggerConnectionLost},
		{"connection_exception", pgErr("08000"), partialexecution.TriggerConnectionLost},
		{"connection_failure", pgErr("08006"), partialexecution.TriggerConnectionLost},
		{"connect error", fmt.Errorf("unit: %w", connErr), partialexecution.TriggerConnectionLost},
		{"EOF", fmt.Errorf("unit: %w", io.EOF), partialexecution.TriggerConnectionLost},
		{"unexpected EOF", fmt.Errorf("unit: %w", io.ErrUnexpectedEOF), partialexecution.TriggerConnectionLost},
		{"conn closed", fmt.Errorf("unit: %w", pgconn.ErrConnClosed), partialexecution.TriggerConnectionLost},
		{"connection reset", fmt.Errorf("unit: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), partialexecution.TriggerConnectionLost},
		{"deadlock is retried", pgErr("40P01"), ""},
		{"statement timeout is retried", pgErr("57014"), ""},
		{"too_many_connections is retried", pgErr("53300"), ""},
		{"unique violation is retried", pgErr("23505"), ""},
		{"a plain error is retried", errors.New("boom"), ""},
	}
	for _, c := range cases {
		got := classify(ctx, c.err, sources...)
		var ae *temporal.ApplicationError
		if c.want == "" {
			require.Same(t, c.err, got, c.name)
			require.False(t, errors.As(got, &ae), c.name)
			continue
		}
		require.ErrorAs(t, got, &ae, c.name)
		require.Equal(t, ErrEnvironmental, ae.Type(), c.name)
		require.True(t, ae.NonRetryable(), c.name)
		var f EnvironmentalFault
		require.NoError(t, ae.Details(&f), c.name)
		require.Equal(t, c.want, f.Trigger, c.name)
	}
}
