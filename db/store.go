package db

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// Sentinel errors a caller branches on.
var (
	// ErrStaleParent: the parent given to CommitSnapshot is no longer the
	// latest committed snapshot (another projection committed first). Re-read
	// the registry and replan (whitepaper 5.9, stale_environment_state).
	ErrStaleParent = errors.New("registry snapshot parent is no longer the latest committed")
	// ErrSnapshotNotFound: no committed snapshot has that version_id.
	ErrSnapshotNotFound = errors.New("registry snapshot not found")
	// ErrAuditConflict: an event with the same intent_id and seq was already
	// recorded with different content; the workflow is not deterministic.
	ErrAuditConflict = errors.New("audit event already recorded with different content")
	// ErrAuditOutOfOrder: the event's seq-1 is not recorded yet for its
	// intent; append an intent's events in seq order (no_event_reordering).
	ErrAuditOutOfOrder = errors.New("audit event out of causal order")
	// ErrIntentNotFound: no intent has that intent_id.
	ErrIntentNotFound = errors.New("intent not found")
)

// Store is the Postgres-backed Context Registry, Audit Trail and intent index.
// It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries

	// The sandbox login units run on (sandbox.go), opened on first use.
	sandboxMu  sync.Mutex
	sandboxCfg *pgxpool.Config
	sandboxErr error
	sandbox    *pgxpool.Pool

	// Concurrent appends share audit_append calls (auditappend.go).
	appendOnce    sync.Once
	groupAppender *groupAppender
}

// Open connects to databaseURL, the worker's login, and checks that
// Postgres answers; units will run on the sandbox login (not connected
// yet: CheckSandbox connects). It does not migrate: the owner runs
// MigrateURL, and CheckSchema says whether it has.
func Open(ctx context.Context, databaseURL string, sandbox SandboxLogin) (*Store, error) {
	pool, err := connect(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	cfg, err := sandboxConfig(pool.Config(), sandbox)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := New(pool)
	s.sandboxCfg, s.sandboxErr = cfg, nil
	return s, nil
}

// New returns a Store over an existing pool; Close closes that pool. Units
// run on the pool's server and database as DefaultRoles.Sandbox, with no
// password.
func New(pool *pgxpool.Pool) *Store {
	s := &Store{pool: pool, q: dbsqlc.New(pool)}
	s.sandboxCfg, s.sandboxErr = sandboxConfig(pool.Config(), SandboxLogin{})
	return s
}

// Ping checks that Postgres answers (a readiness probe).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping Postgres at %s: %w", describe(s.pool), err)
	}
	return nil
}

// Close closes the pool and the sandbox login's.
func (s *Store) Close() {
	s.pool.Close()
	s.sandboxMu.Lock()
	defer s.sandboxMu.Unlock()
	if s.sandbox != nil {
		s.sandbox.Close()
	}
}

// inTx runs fn in a transaction with the given options, committing if fn
// returns nil and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(q *dbsqlc.Queries) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w: check that Postgres is up", describe(s.pool), err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit
	if err := fn(s.q.WithTx(tx)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// readOnlySnapshot is the isolation of every registry read: one stable
// snapshot of the database for all its statements (read_mode: snapshot_consistent).
var readOnlySnapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
