package db

import (
	"context"
	"encoding/json"
	"errors"
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

// Sweep is a committed TTL sweep: when it swept, the snapshot that marked
// datasets stale ("" when none) and its transitions, as the caller encoded
// them.
type Sweep struct {
	SweepID     string
	SweptAt     time.Time
	VersionID   string
	Transitions json.RawMessage
}

// SweepOf returns the sweep committed under sweepID, or nil if none was.
func (s *Store) SweepOf(ctx context.Context, sweepID string) (*Sweep, error) {
	row, err := s.q.GetSweep(ctx, sweepID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read TTL sweep %s: %w", sweepID, err)
	}
	return sweepOf(row), nil
}

func sweepOf(row dbsqlc.TtlSweep) *Sweep {
	out := &Sweep{SweepID: row.SweepID, SweptAt: row.SweptAt.UTC(), Transitions: row.Transitions}
	if row.VersionID != nil {
		out.VersionID = row.VersionID.String()
	}
	return out
}

// CommitSweep commits a TTL sweep in one transaction: the sweep's record,
// the snapshot that marks datasets stale (when any) and the escalations to
// record. A sweep already committed under the same id (a retry after the
// commit) changes nothing and returns the sweep recorded then.
func (s *Store) CommitSweep(ctx context.Context, sw Sweep, parentVersionID string, changed []registry.DatasetState, escalations []Escalation) (Sweep, error) {
	if sw.SweepID == "" || len(sw.Transitions) == 0 {
		return Sweep{}, fmt.Errorf("commit TTL sweep: give the sweep an id and its transitions (a JSON array, [] for none)")
	}
	var recorded *Sweep
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		params := dbsqlc.RecordSweepParams{SweepID: sw.SweepID, SweptAt: sw.SweptAt.UTC().Truncate(time.Microsecond), Transitions: sw.Transitions}
		if len(changed) > 0 {
			id, err := parseVersion("version_id", sw.VersionID)
			if err != nil {
				return err
			}
			params.VersionID = &id
		}
		n, err := q.RecordSweep(ctx, params)
		if err != nil {
			return fmt.Errorf("record TTL sweep %s: %w", sw.SweepID, err)
		}
		if n == 0 {
			row, err := q.GetSweep(ctx, sw.SweepID)
			if err != nil {
				return fmt.Errorf("read TTL sweep %s: %w", sw.SweepID, err)
			}
			recorded = sweepOf(row)
			return errSweepRecorded
		}
		if len(changed) > 0 {
			parent, err := parseVersion("parent_version_id", parentVersionID)
			if err != nil {
				return err
			}
			if err := q.LockSnapshotWriters(ctx); err != nil {
				return fmt.Errorf("lock registry for writing: %w", err)
			}
			if _, err = commitSnapshot(ctx, q, *params.VersionID, parent, changed, nil, "ttl_sweep", ""); err != nil {
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
	if errors.Is(err, errSweepRecorded) {
		return *recorded, nil
	}
	if err != nil {
		return Sweep{}, fmt.Errorf("commit TTL sweep: %w", err)
	}
	if len(changed) == 0 {
		sw.VersionID = ""
	}
	sw.SweptAt = sw.SweptAt.UTC().Truncate(time.Microsecond)
	return sw, nil
}

var errSweepRecorded = errors.New("TTL sweep already committed")
