package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// Intent sources.
const (
	SourceText      = "text"      // a natural-language intent
	SourceSignature = "signature" // a State Signature submitted directly
	SourceComposite = "composite" // an intent graph (whitepaper 5.4)
)

// Intent is one submitted intent as `cfa list` shows it. Optional fields are
// "" until the flow sets them.
type Intent struct {
	IntentID         string
	WorkflowID       string
	RunID            string
	CorrelationID    string
	Source           string // SourceText or SourceSignature
	Input            string
	SubmittedAt      time.Time
	Status           string
	DecisionState    string // the closed decision_state enum (whitepaper 5.15)
	SignatureHash    string
	ConfirmationMode string
	UpdatedAt        time.Time
}

// UpsertIntent records an intent, or updates it on a retry. SubmittedAt keeps
// its first value; empty optional fields do not erase stored ones.
func (s *Store) UpsertIntent(ctx context.Context, in Intent) (Intent, error) {
	row, err := s.q.UpsertIntent(ctx, dbsqlc.UpsertIntentParams{
		IntentID:         in.IntentID,
		WorkflowID:       in.WorkflowID,
		RunID:            in.RunID,
		CorrelationID:    in.CorrelationID,
		Source:           in.Source,
		Input:            in.Input,
		SubmittedAt:      in.SubmittedAt.UTC().Truncate(time.Microsecond),
		Status:           in.Status,
		DecisionState:    optional(in.DecisionState),
		SignatureHash:    optional(in.SignatureHash),
		ConfirmationMode: optional(in.ConfirmationMode),
	})
	if err != nil {
		return Intent{}, fmt.Errorf("record intent %q: %w: check source (text|signature), status, decision_state and confirmation_mode", in.IntentID, err)
	}
	return intent(row), nil
}

// UpdateIntentStatus sets the status of a recorded intent.
func (s *Store) UpdateIntentStatus(ctx context.Context, intentID, status string) (Intent, error) {
	row, err := s.q.UpdateIntentStatus(ctx, dbsqlc.UpdateIntentStatusParams{Status: status, IntentID: intentID})
	return intentResult("update status of", intentID, row, err)
}

// UpdateIntentDecision records the decision_state of an intent and, when not
// empty, its signature hash and confirmation mode.
func (s *Store) UpdateIntentDecision(ctx context.Context, intentID, decisionState, signatureHash, confirmationMode string) (Intent, error) {
	row, err := s.q.UpdateIntentDecision(ctx, dbsqlc.UpdateIntentDecisionParams{
		DecisionState:    optional(decisionState),
		SignatureHash:    optional(signatureHash),
		ConfirmationMode: optional(confirmationMode),
		IntentID:         intentID,
	})
	return intentResult("record decision of", intentID, row, err)
}

// GetIntent returns one intent, or ErrIntentNotFound.
func (s *Store) GetIntent(ctx context.Context, intentID string) (Intent, error) {
	row, err := s.q.GetIntent(ctx, intentID)
	return intentResult("read", intentID, row, err)
}

// ListIntents returns up to limit intents, most recently submitted first.
func (s *Store) ListIntents(ctx context.Context, limit int) ([]Intent, error) {
	rows, err := s.q.ListIntents(ctx, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list intents: %w", err)
	}
	out := make([]Intent, 0, len(rows))
	for _, r := range rows {
		out = append(out, intent(r))
	}
	return out, nil
}

func intentResult(op, intentID string, row dbsqlc.Intent, err error) (Intent, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return Intent{}, fmt.Errorf("%s intent %q: %w: submit it first or check the id with ListIntents", op, intentID, ErrIntentNotFound)
	}
	if err != nil {
		return Intent{}, fmt.Errorf("%s intent %q: %w", op, intentID, err)
	}
	return intent(row), nil
}

func intent(r dbsqlc.Intent) Intent {
	return Intent{
		IntentID:         r.IntentID,
		WorkflowID:       r.WorkflowID,
		RunID:            r.RunID,
		CorrelationID:    r.CorrelationID,
		Source:           r.Source,
		Input:            r.Input,
		SubmittedAt:      r.SubmittedAt.UTC(),
		Status:           r.Status,
		DecisionState:    deref(r.DecisionState),
		SignatureHash:    deref(r.SignatureHash),
		ConfirmationMode: deref(r.ConfirmationMode),
		UpdatedAt:        r.UpdatedAt.UTC(),
	}
}

// IntentStatusCompleted is the status of an intent that has its decision.
const IntentStatusCompleted = "completed"

// CompleteIntent records the decision of an intent and marks it completed.
func (s *Store) CompleteIntent(ctx context.Context, intentID, decisionState, signatureHash, confirmationMode string) error {
	_, err := s.q.CompleteIntent(ctx, dbsqlc.CompleteIntentParams{
		DecisionState: optional(decisionState), SignatureHash: optional(signatureHash),
		ConfirmationMode: optional(confirmationMode), IntentID: intentID,
	})
	if err != nil {
		return fmt.Errorf("complete intent %q: %w", intentID, err)
	}
	return nil
}
