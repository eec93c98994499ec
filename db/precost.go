package db

import (
	"context"
	"fmt"
	"time"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// CostRun is the real cost of one execution of a signature (whitepaper 5.5
// feedback_loop: update_on post_execution, key intent_signature_hash).
type CostRun struct {
	IntentID        string
	ExecutedAt      time.Time
	ActualDBU       float64
	ActualShuffleGB float64
}

// RecordCost stores the real cost of an execution. It is idempotent per
// (intent, signature hash), so a retried activity adds nothing.
func (s *Store) RecordCost(ctx context.Context, signatureHash string, run CostRun) error {
	err := s.q.RecordPrecostRun(ctx, dbsqlc.RecordPrecostRunParams{
		IntentSignatureHash: signatureHash, IntentID: run.IntentID, ExecutedAt: run.ExecutedAt.UTC(),
		ActualDbu: run.ActualDBU, ActualShuffleGb: run.ActualShuffleGB,
	})
	if err != nil {
		return fmt.Errorf("record cost of intent %s (signature %s): %w", run.IntentID, signatureHash, err)
	}
	return nil
}

// CostHistory returns the runs of signatureHash in (now-window, now], most
// recent first: execution_history_by_signature_hash for the estimator.
func (s *Store) CostHistory(ctx context.Context, signatureHash string, now time.Time, window time.Duration) ([]CostRun, error) {
	rows, err := s.q.PrecostRunsSince(ctx, dbsqlc.PrecostRunsSinceParams{
		IntentSignatureHash: signatureHash, Since: now.Add(-window).UTC(), Until: now.UTC(),
	})
	if err != nil {
		return nil, fmt.Errorf("read cost history of signature %s: %w", signatureHash, err)
	}
	out := make([]CostRun, len(rows))
	for i, r := range rows {
		out[i] = CostRun{IntentID: r.IntentID, ExecutedAt: r.ExecutedAt.UTC(), ActualDBU: r.ActualDbu, ActualShuffleGB: r.ActualShuffleGb}
	}
	return out, nil
}
