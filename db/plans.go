package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// ErrPlanNotFound: the intent has no recorded planning (it was blocked
// before step 8, or is still running).
var ErrPlanNotFound = errors.New("no execution plan recorded")

// PlanRecord is what steps 8–10 produced for one intent, each part as the
// JSON the activities encoded. Plan, Artifacts and StaticReport are nil when
// the flow stopped before that stage.
type PlanRecord struct {
	IntentID      string
	SignatureHash string
	PlanHash      string // "" when the planner refused
	Plan          []byte
	PreCost       []byte
	Artifacts     []byte
	CodeHash      string
	StaticPassed  *bool
	StaticReport  []byte
	DryRun        bool
	ReadOnly      bool // a read-only intent: nothing to plan
	RecordedAt    time.Time
}

// RecordPlan stores the planning of one cycle of an intent (one signature)
// once; a retry is a no-op, and the database refuses to change or delete
// the record afterwards.
func (s *Store) RecordPlan(ctx context.Context, r PlanRecord) error {
	err := s.q.RecordExecutionPlan(ctx, dbsqlc.RecordExecutionPlanParams{
		IntentID: r.IntentID, IntentSignatureHash: r.SignatureHash, PlanHash: optional(r.PlanHash),
		Plan: r.Plan, Precost: r.PreCost, Artifacts: r.Artifacts, CodeHash: optional(r.CodeHash),
		StaticPassed: r.StaticPassed, StaticReport: r.StaticReport, DryRun: r.DryRun, ReadOnly: r.ReadOnly,
	})
	if err != nil {
		return fmt.Errorf("record execution plan of intent %q: %w", r.IntentID, err)
	}
	return nil
}

// GetPlan returns the latest recorded planning of an intent, or
// ErrPlanNotFound.
func (s *Store) GetPlan(ctx context.Context, intentID string) (PlanRecord, error) {
	row, err := s.q.GetExecutionPlan(ctx, intentID)
	return planRecord(intentID, row, err)
}

// GetPlanOfSignature returns the planning of an intent's signature: the
// plan and code its execution runs.
func (s *Store) GetPlanOfSignature(ctx context.Context, intentID, signatureHash string) (PlanRecord, error) {
	row, err := s.q.GetExecutionPlanOfSignature(ctx, dbsqlc.GetExecutionPlanOfSignatureParams{IntentID: intentID, IntentSignatureHash: signatureHash})
	return planRecord(intentID, row, err)
}

func planRecord(intentID string, row dbsqlc.ExecutionPlan, err error) (PlanRecord, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return PlanRecord{}, fmt.Errorf("read execution plan of intent %q: %w: the intent was decided before planning (see `cfa status %s`) or is still running",
			intentID, ErrPlanNotFound, intentID)
	}
	if err != nil {
		return PlanRecord{}, fmt.Errorf("read execution plan of intent %q: %w", intentID, err)
	}
	return PlanRecord{
		IntentID: row.IntentID, SignatureHash: row.IntentSignatureHash, PlanHash: deref(row.PlanHash),
		Plan: row.Plan, PreCost: row.Precost, Artifacts: row.Artifacts, CodeHash: deref(row.CodeHash),
		StaticPassed: row.StaticPassed, StaticReport: row.StaticReport, DryRun: row.DryRun, ReadOnly: row.ReadOnly, RecordedAt: row.RecordedAt.UTC(),
	}, nil
}
