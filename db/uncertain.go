package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// ProjectionFailure is an unresolved failed projection (I4).
type ProjectionFailure struct {
	IntentID        string
	Scopes          []string
	ParentVersionID string
	Cause           string
	FailedAt        time.Time
}

// RecordProjectionFailure marks an intent's projection as failed; once.
func (s *Store) RecordProjectionFailure(ctx context.Context, f ProjectionFailure) error {
	scopes := f.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	// The marker and its CFS gate, LOCKED until `cfa registry resolve`
	// (docs/adr/0150), in one transaction.
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if err := q.RecordProjectionFailure(ctx, dbsqlc.RecordProjectionFailureParams{
			IntentID: f.IntentID, Scopes: scopes, ParentVersionID: f.ParentVersionID, Cause: f.Cause, FailedAt: f.FailedAt.UTC(),
		}); err != nil {
			return err
		}
		return openProjectionFailureGate(ctx, q, f.IntentID, scopes, f.FailedAt.UTC())
	})
	if err != nil {
		return fmt.Errorf("record the failed projection of intent %s: %w", f.IntentID, err)
	}
	return nil
}

// OpenProjectionFailures lists the markers not resolved yet, oldest first.
func (s *Store) OpenProjectionFailures(ctx context.Context) ([]ProjectionFailure, error) {
	rows, err := s.q.OpenProjectionFailures(ctx)
	if err != nil {
		return nil, fmt.Errorf("list failed projections: %w", err)
	}
	out := make([]ProjectionFailure, len(rows))
	for i, r := range rows {
		out[i] = ProjectionFailure{IntentID: r.IntentID, Scopes: r.Scopes, ParentVersionID: r.ParentVersionID, Cause: r.Cause, FailedAt: r.FailedAt.UTC()}
	}
	return out, nil
}
