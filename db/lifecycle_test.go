package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lifecycle"
)

// TestSkillExecutionsWindowIdempotenceAndWriteOnce: the window returns one
// unit's evidence in [since, until], oldest first; a retried record keeps
// the first evaluation; rows refuse updates and deletes.
func TestSkillExecutionsWindowIdempotenceAndWriteOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	unit, other := strings.Repeat("1a", 32), strings.Repeat("2b", 32)
	now := time.Date(2026, 3, 22, 12, 0, 0, 0, time.UTC)
	record := func(id, u string, at time.Time, eligible bool) lifecycle.Evaluation {
		t.Helper()
		_, err := testStore.UpsertIntent(ctx, db.Intent{IntentID: id, WorkflowID: id, Source: db.SourceText,
			Input: "reconcile", Status: "completed", SubmittedAt: at})
		require.NoError(t, err)
		ex := lifecycle.Execution{IntentID: id, PromotionUnit: u, Domain: "fiscal", DecidedAt: at, DecisionState: decision.Approved,
			Units: 3, Attempts: 3, CommittedUnits: 3, KeyUnique: true, PolicyCompliant: true, PIIProtected: true, LayerAdherent: true, Reproducible: true}
		ev, err := testStore.RecordSkillExecution(ctx, ex, lifecycle.Evaluation{PromotionUnit: u, Eligible: eligible, Reason: "first"})
		require.NoError(t, err)
		return ev
	}
	record("skill-old", unit, now.Add(-4*24*time.Hour), false)
	record("skill-a", unit, now.Add(-2*time.Hour), false)
	record("skill-b", unit, now.Add(-time.Hour), true)
	record("skill-other", other, now.Add(-time.Hour), false)

	got, err := testStore.SkillExecutions(ctx, unit, now.Add(-3*24*time.Hour), now)
	require.NoError(t, err)
	require.Len(t, got, 2, "the 4-day-old execution is outside last_3_days, the other unit is not mixed in")
	require.Equal(t, "skill-a", got[0].IntentID)
	require.Equal(t, "skill-b", got[1].IntentID)
	require.True(t, got[1].KeyUnique)

	// A retry with another evaluation returns the stored one.
	again, err := testStore.RecordSkillExecution(ctx, got[1], lifecycle.Evaluation{PromotionUnit: unit, Eligible: false, Reason: "second"})
	require.NoError(t, err)
	require.True(t, again.Eligible)
	require.Equal(t, "first", again.Reason)

	none, err := testStore.SkillEvaluation(ctx, "never-ran")
	require.NoError(t, err)
	require.Nil(t, none)

	_, err = testDB.Pool.Exec(ctx, `UPDATE skill_executions SET eligible = false WHERE intent_id = 'skill-b'`)
	require.ErrorContains(t, err, "write-once")
	_, err = testDB.Pool.Exec(ctx, `DELETE FROM skill_executions WHERE intent_id = 'skill-b'`)
	require.ErrorContains(t, err, "write-once")
	_, err = testStore.RecordSkillExecution(ctx, lifecycle.Execution{IntentID: "skill-a", PromotionUnit: "not-a-hash", DecisionState: decision.Approved, DecidedAt: now},
		lifecycle.Evaluation{})
	require.ErrorContains(t, err, "skill_executions_promotion_unit_check")
}
