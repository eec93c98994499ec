package activities

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"

	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

// classify turns what the database said into a retryable error or an
// environmental fault. The order matters: a cancelled context first (what
// the database said then is a consequence), then a revoked permission,
// exhausted storage and a lost connection.
func classify(ctx context.Context, err error, sources ...string) error {
	var pg *pgconn.PgError
	if ctx.Err() != nil && workerStopping(ctx) {
		// A worker shutting down (a deploy) is no cancellation of the
		// intent: the attempt is retried on another worker.
		return err
	}
	switch {
	case ctx.Err() != nil:
		return environmental(partialexecution.TriggerExecutionCancelled, "execution cancelled: "+err.Error())
	case errors.As(err, &pg) && pg.Code == "42501":
		if permissionOutsideScope(pg.Message, sources) {
			// The unit touched what its plan does not: I6 over I4.
			return environmental(partialexecution.TriggerForbiddenOperation, "forbidden operation at run time: "+err.Error())
		}
		return environmental(partialexecution.TriggerExternalPermissionRevoked, "permission revoked: "+err.Error())
	case errors.As(err, &pg) && isStorageExhausted(pg.Code):
		return environmental(partialexecution.TriggerStorageQuotaExceeded, "storage exhausted: "+err.Error())
	case isConnectionLost(err):
		return environmental(partialexecution.TriggerConnectionLost, "connection lost: "+err.Error())
	}
	return err // retried by the activity RetryPolicy
}

// rejected reports whether Postgres refused a statement for what it is
// (data exception 22, integrity constraint 23, syntax or access rule 42,
// invalid transaction state 25, 2B/2D/2F), which no retry changes; an
// outage, a deadlock or a serialization failure can be retried.
func rejected(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || len(pg.Code) < 2 {
		return false
	}
	switch pg.Code[:2] {
	case "22", "23", "25", "2B", "2D", "2F", "42":
		return true
	}
	return false
}

// isStorageExhausted: disk_full, out_of_memory, io_error.
func isStorageExhausted(code string) bool {
	return code == "53100" || code == "53200" || code == "58030"
}

// isConnectionLost reports whether the unit's session is gone: the server
// ended it (a backend terminated by pg_terminate_backend reports FATAL
// 57P01 admin_shutdown, with pgx's *pgconn.PgError, before closing the
// socket), it was shutting down or starting, a connection exception (class
// 08), the socket closed under the client (EOF, reset, broken pipe), or no
// connection could be made. The statement's work is lost with the session.
func isConnectionLost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case strings.HasPrefix(pg.Code, "08"): // connection_exception
			return true
		}
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

func (a *Activities) statementTimeout() time.Duration {
	if a.Execution.StatementTimeout > 0 {
		return a.Execution.StatementTimeout
	}
	return 5 * time.Minute
}

func (a *Activities) limits() runtimevalidation.Limits {
	if a.Execution.Limits != nil {
		return *a.Execution.Limits
	}
	return runtimevalidation.DefaultLimits()
}

// ExecutionConfig tunes the sandbox; the zero value is the whitepaper's.
type ExecutionConfig struct {
	StatementTimeout time.Duration
	Limits           *runtimevalidation.Limits
}

// permissionOutsideScope tells a permission the environment took away (on a
// source the plan reads) from an operation the plan never declared (any
// other relation): Postgres says "permission denied for table T".
func permissionOutsideScope(msg string, sources []string) bool {
	const prefix = "permission denied for table "
	i := strings.Index(msg, prefix)
	if i < 0 || len(sources) == 0 {
		return false
	}
	table := strings.Trim(strings.Fields(msg[i+len(prefix):] + " ")[0], `"`)
	for _, s := range sources {
		if s == table || strings.HasSuffix(s, "."+table) {
			return false
		}
	}
	return true
}

func workerStopping(ctx context.Context) bool {
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return true
	default:
		return false
	}
}
