package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/lifecycle"
)

// RecordSkillExecution stores one execution's evidence and its evaluation,
// once per intent. On a retry (the row exists) it returns the evaluation
// stored first, so the decision recorded for the intent never changes.
func (s *Store) RecordSkillExecution(ctx context.Context, e lifecycle.Execution, ev lifecycle.Evaluation) (lifecycle.Evaluation, error) {
	evidence, err := json.Marshal(e)
	if err != nil {
		return lifecycle.Evaluation{}, fmt.Errorf("record skill execution of intent %s: encode evidence: %w", e.IntentID, err)
	}
	evaluation, err := json.Marshal(ev)
	if err != nil {
		return lifecycle.Evaluation{}, fmt.Errorf("record skill execution of intent %s: encode evaluation: %w", e.IntentID, err)
	}
	n, err := s.q.RecordSkillExecution(ctx, dbsqlc.RecordSkillExecutionParams{
		IntentID: e.IntentID, PromotionUnit: e.PromotionUnit, Domain: e.Domain, DecidedAt: e.DecidedAt.UTC(),
		DecisionState: string(e.DecisionState), Eligible: ev.Eligible, Evidence: evidence, Evaluation: evaluation,
	})
	if err != nil {
		return lifecycle.Evaluation{}, fmt.Errorf("record skill execution of intent %s: %w", e.IntentID, err)
	}
	if n == 1 {
		return ev, nil
	}
	stored, err := s.SkillEvaluation(ctx, e.IntentID)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	return *stored, nil
}

// SkillEvaluation returns the evaluation recorded for an intent, or nil
// when it was never evaluated (it did not execute).
func (s *Store) SkillEvaluation(ctx context.Context, intentID string) (*lifecycle.Evaluation, error) {
	row, err := s.q.GetSkillExecution(ctx, intentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the skill evaluation of intent %s: %w", intentID, err)
	}
	var ev lifecycle.Evaluation
	if err := json.Unmarshal(row.Evaluation, &ev); err != nil {
		return nil, fmt.Errorf("decode the skill evaluation of intent %s: %w", intentID, err)
	}
	return &ev, nil
}

// SkillExecutions returns the evidence of promotion unit decided in
// [since, until], oldest first.
func (s *Store) SkillExecutions(ctx context.Context, unit string, since, until time.Time) ([]lifecycle.Execution, error) {
	rows, err := s.q.SkillExecutionsInWindow(ctx, dbsqlc.SkillExecutionsInWindowParams{PromotionUnit: unit, Since: since.UTC(), Until: until.UTC()})
	if err != nil {
		return nil, fmt.Errorf("read the executions of skill %s: %w", unit, err)
	}
	out := make([]lifecycle.Execution, len(rows))
	for i, b := range rows {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			return nil, fmt.Errorf("decode an execution of skill %s: %w", unit, err)
		}
	}
	return out, nil
}

// NotReproducible returns the earliest execution of the promotion unit
// whose replay differed (I8), or "" when every one replayed: a skill with
// one is blocked from promotion for good.
func (s *Store) NotReproducible(ctx context.Context, unit string) (string, error) {
	ids, err := s.q.FirstNotReproducible(ctx, unit)
	if err != nil {
		return "", fmt.Errorf("read the reproducibility of skill %s: %w", unit, err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}
