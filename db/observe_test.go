package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
)

// TestAppendAuditKeepsTheTraceID: a traced event's trace id is sealed in
// its receipt's context, read back as stored, and a retry of the same
// event is the same event; the same event with another trace id is not.
func TestAppendAuditKeepsTheTraceID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "traced_" + uuid.NewString()
	e := event(intent, 1)
	e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	first, err := testStore.AppendAudit(ctx, e)
	require.NoError(t, err)
	require.Equal(t, e.TraceID, first.TraceID())
	again, err := testStore.AppendAudit(ctx, e)
	require.NoError(t, err)
	require.Equal(t, first, again)
	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Equal(t, []audit.Receipt{first}, got)
	require.NoError(t, audit.Verify(got), "its integrity covers the trace id")

	other := e
	other.TraceID = "00f067aa0ba902b74bf92f3577b34da6"
	_, err = testStore.AppendAudit(ctx, other)
	require.ErrorIs(t, err, db.ErrAuditConflict)
	untraced := e
	untraced.TraceID = ""
	_, err = testStore.AppendAudit(ctx, untraced)
	require.ErrorIs(t, err, db.ErrAuditConflict)
}

// TestOpenEscalations counts the running intents whose last escalation
// event is an unanswered question, over every intent of the database.
func TestOpenEscalations(t *testing.T) {
	ctx := context.Background()
	s := db.New(dbtest.New(t, "db_open_escalations").Pool)
	n, oldest, err := s.OpenEscalations(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.True(t, oldest.IsZero())

	t0 := time.Date(2026, 3, 22, 14, 0, 0, 0, time.UTC)
	intent := func(id, status string, types ...string) {
		t.Helper()
		_, err := s.UpsertIntent(ctx, db.Intent{IntentID: id, WorkflowID: id, Source: db.SourceText, Input: "x", SubmittedAt: t0, Status: status})
		require.NoError(t, err)
		for i, typ := range types {
			e := event(id, int64(i+1))
			e.EventType, e.Timestamp = typ, t0.Add(time.Duration(i)*time.Minute)
			_, err := s.AppendAudit(ctx, e)
			require.NoError(t, err)
		}
	}
	intent("waiting", "running", audit.EventIntentReceived, audit.EventConfirmationRequested)
	intent("answered", "running", audit.EventIntentReceived, audit.EventConfirmationRequested, audit.EventHumanApproved)
	intent("asked-again", "running", audit.EventIntentReceived, audit.EventConfirmationRequested, audit.EventHumanApproved,
		audit.EventPreCostEstimated, audit.EventConfirmationRequested)
	intent("timed-out", "running", audit.EventIntentReceived, audit.EventConfirmationRequested, audit.EventHumanEscalationTimeout)
	intent("decided", "completed", audit.EventIntentReceived, audit.EventConfirmationRequested)
	intent("never-asked", "running", audit.EventIntentReceived)

	n, oldest, err = s.OpenEscalations(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "waiting and asked-again")
	require.Equal(t, t0.Add(time.Minute), oldest, "waiting asked first")
}
