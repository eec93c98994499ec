package db

import (
	"context"
	"fmt"
	"time"

	"github.com/contextualflux/cfa/db/dbsqlc"
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
	out := make([]Escalation, len(rows))
	for i, r := range rows {
		out[i] = Escalation{Dataset: r.Dataset, Since: r.Since.UTC(), EscalatedAt: r.EscalatedAt.UTC(), ReviewedAt: r.ReviewedAt, ReviewedBy: deref(r.ReviewedBy)}
	}
	return out, nil
}

// ReviewEscalation records the manual review of a dataset's open escalations.
func (s *Store) ReviewEscalation(ctx context.Context, dataset, by string) (int64, error) {
	n, err := s.q.ReviewEscalation(ctx, dbsqlc.ReviewEscalationParams{Dataset: dataset, ReviewedBy: &by})
	if err != nil {
		return 0, fmt.Errorf("review TTL escalation of %s: %w", dataset, err)
	}
	return n, nil
}
