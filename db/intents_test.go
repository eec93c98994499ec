package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
)

func TestIntents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(dbtest.New(t, "db_intents").Pool) // an empty list of its own
	base := time.Date(2026, 3, 22, 14, 0, 0, 0, time.UTC)

	for i, id := range []string{"fiscal_reconciliation_001", "fiscal_reconciliation_002", "publish_clientes_003"} {
		_, err := s.UpsertIntent(ctx, db.Intent{
			IntentID: id, WorkflowID: "cfa-" + id, RunID: "run-1", CorrelationID: "session_4f9a2c",
			Source: db.SourceText, Input: "reconcile fiscal documents", Status: "running",
			SubmittedAt: base.Add(time.Duration(i) * time.Minute),
		})
		require.NoError(t, err)
	}

	// A retried submission updates the run but keeps submitted_at.
	got, err := s.UpsertIntent(ctx, db.Intent{
		IntentID: "fiscal_reconciliation_001", WorkflowID: "cfa-fiscal_reconciliation_001", RunID: "run-2",
		Source: db.SourceText, Input: "reconcile fiscal documents", Status: "running", SubmittedAt: base.Add(time.Hour),
	})
	require.NoError(t, err)
	require.Equal(t, "run-2", got.RunID)
	require.Equal(t, base, got.SubmittedAt)

	got, err = s.UpdateIntentDecision(ctx, "fiscal_reconciliation_001", "partially_committed", "sha256:abc", "hard_required")
	require.NoError(t, err)
	require.Equal(t, "partially_committed", got.DecisionState)
	got, err = s.UpdateIntentStatus(ctx, "fiscal_reconciliation_001", "completed")
	require.NoError(t, err)
	require.Equal(t, "completed", got.Status)
	require.Equal(t, "sha256:abc", got.SignatureHash)
	require.Equal(t, "hard_required", got.ConfirmationMode)

	read, err := s.GetIntent(ctx, "fiscal_reconciliation_001")
	require.NoError(t, err)
	require.Equal(t, got, read)

	list, err := s.ListIntents(ctx, 2)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "publish_clientes_003", list[0].IntentID, "newest first")
	require.Equal(t, "fiscal_reconciliation_002", list[1].IntentID)
}

func TestIntentErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		is   error
		want string
	}{
		{"get unknown", func() error { _, err := testStore.GetIntent(ctx, "nope"); return err }, db.ErrIntentNotFound, ""},
		{"status of unknown", func() error { _, err := testStore.UpdateIntentStatus(ctx, "nope", "x"); return err }, db.ErrIntentNotFound, ""},
		{"decision outside the enum", func() error {
			_, err := testStore.UpsertIntent(ctx, db.Intent{IntentID: "bad_decision", WorkflowID: "w", Source: db.SourceText,
				Input: "x", Status: "running", SubmittedAt: time.Now(), DecisionState: "maybe"})
			return err
		}, nil, "intents_decision_state_check"},
		{"unknown source", func() error {
			_, err := testStore.UpsertIntent(ctx, db.Intent{IntentID: "bad_source", WorkflowID: "w", Source: "email",
				Input: "x", Status: "running", SubmittedAt: time.Now()})
			return err
		}, nil, "intents_source_check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}
