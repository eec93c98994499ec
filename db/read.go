package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

// EnsureReadRole has the read role of a read's sources made (by
// cfa_ensure_sandbox_role, ADR 0114), grants it SELECT on them and returns
// its name (docs/adr/0132).
func (s *Store) EnsureReadRole(ctx context.Context, cat *catalog.Catalog, sources []string) (string, error) {
	return dataplane.EnsureReadRole(ctx, s.pool, cat, sources)
}

// ReadRun is one attempt of a read's query in the sandbox.
type ReadRun struct {
	Read dataplane.Read
	// Role is the read's role (EnsureReadRole); the query runs as it.
	Role string
	// Query is the statically validated SELECT.
	Query string
	// MaxRows is how many rows to fetch at most: the row limit plus the
	// one that tells a truncated result.
	MaxRows int
	// Heartbeat is called every HeartbeatEvery while the query runs.
	Heartbeat      func()
	HeartbeatEvery time.Duration
}

// RunRead runs a read's query on the sandbox login (ADR 0114) in a READ
// ONLY transaction, as the read's role, with its statement timeout, and
// returns its rows as JSON values. The transaction is rolled back: a read
// leaves nothing behind. The database's error is returned wrapped, so a
// caller can classify it (permission, connection, a refused statement).
func (s *Store) RunRead(ctx context.Context, r ReadRun) ([][]any, error) {
	sandbox, err := s.sandboxPool(ctx)
	if err != nil {
		return nil, fmt.Errorf("read of intent %s: %w", r.Read.IntentID, err)
	}
	tx, err := sandbox.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("read of intent %s: begin: %w", r.Read.IntentID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := dataplane.BeginRead(ctx, tx, r.Role, r.Read); err != nil {
		return nil, fmt.Errorf("read of intent %s: %w", r.Read.IntentID, err)
	}
	if r.Heartbeat != nil && r.HeartbeatEvery > 0 {
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(r.HeartbeatEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					r.Heartbeat()
				}
			}
		}()
	}
	rows, err := dataplane.QueryRows(ctx, tx, r.Query, r.MaxRows)
	if err != nil {
		return nil, fmt.Errorf("read of intent %s: %w", r.Read.IntentID, err)
	}
	return rows, nil
}
