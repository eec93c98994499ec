package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/registry"
)

// Escalation is one state escalated to manual review by the TTL policy.
type Escalation struct {
	Dataset     string
	Since       time.Time
	EscalatedAt time.Time
	ReviewedAt  *time.Time
	ReviewedBy  string
}

// RecordEscalation stores an escalation once (a retried sweep adds nothing).
func (s *Store) RecordEscalation(ctx context.Context, dataset string, since time.Time) error {
	if err := s.q.RecordEscalation(ctx, dbsqlc.RecordEscalationParams{Dataset: dataset, Since: since.UTC().Truncate(time.Microsecond)}); err != nil {
		return fmt.Errorf("record TTL escalation of %s: %w", dataset, err)
	}
	return nil
}

// Escalations lists every escalation, reviewed or not.
func (s *Store) Escalations(ctx context.Context) ([]Escalation, error) {
	rows, err := s.q.ListEscalations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list TTL escalations: %w", err)
	}
	return escalationsOf(rows), nil
}

func escalationsOf(rows []dbsqlc.TtlEscalation) []Escalation {
	out := make([]Escalation, len(rows))
	for i, r := range rows {
		out[i] = Escalation{Dataset: r.Dataset, Since: r.Since.UTC(), EscalatedAt: r.EscalatedAt.UTC(), ReviewedAt: r.ReviewedAt, ReviewedBy: deref(r.ReviewedBy)}
	}
	return out
}

// ReviewedEscalations returns the reviewed escalations of datasets only,
// for the TTL check of one intent (not the whole table).
func (s *Store) ReviewedEscalations(ctx context.Context, datasets []string) ([]Escalation, error) {
	rows, err := s.q.ReviewedEscalationsOf(ctx, datasets)
	if err != nil {
		return nil, fmt.Errorf("list reviewed TTL escalations of %v: %w", datasets, err)
	}
	return escalationsOf(rows), nil
}

// ReviewEscalation records the manual review of a dataset's open escalations.
func (s *Store) ReviewEscalation(ctx context.Context, dataset, by string) (int64, error) {
	n, err := s.q.ReviewEscalation(ctx, dbsqlc.ReviewEscalationParams{Dataset: dataset, ReviewedBy: &by})
	if err != nil {
		return 0, fmt.Errorf("review TTL escalation of %s: %w", dataset, err)
	}
	return n, nil
}

// CommitSweep commits a TTL sweep in one transaction: the snapshot that
// marks datasets stale (when any) and the escalations to record. A retry
// after a commit finds the snapshot by its version id and records nothing
// twice.
func (s *Store) CommitSweep(ctx context.Context, parentVersionID, versionID string, changed []registry.DatasetState, escalations []Escalation) (registry.EnvironmentState, error) {
	var env registry.EnvironmentState
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if len(changed) > 0 {
			id, err := parseVersion("version_id", versionID)
			if err != nil {
				return err
			}
			parent, err := parseVersion("parent_version_id", parentVersionID)
			if err != nil {
				return err
			}
			if err := q.LockSnapshotWriters(ctx); err != nil {
				return fmt.Errorf("lock registry for writing: %w", err)
			}
			if env, err = commitSnapshot(ctx, q, id, parent, changed, nil, "ttl_sweep", ""); err != nil {
				return err
			}
		}
		for _, e := range escalations {
			if err := q.RecordEscalation(ctx, dbsqlc.RecordEscalationParams{Dataset: e.Dataset, Since: e.Since.UTC().Truncate(time.Microsecond)}); err != nil {
				return fmt.Errorf("record TTL escalation of %s: %w", e.Dataset, err)
			}
		}
		return nil
	})
	if err != nil {
		return registry.EnvironmentState{}, fmt.Errorf("commit TTL sweep: %w", err)
	}
	return env, nil
}
