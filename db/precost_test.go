package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
)

func TestCostHistoryWindowAndIdempotence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hash := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	now := time.Date(2026, 3, 22, 12, 0, 0, 0, time.UTC)
	runs := []struct {
		hash string
		run  db.CostRun
	}{
		{hash, db.CostRun{IntentID: "i-recent", ExecutedAt: now.Add(-24 * time.Hour), ActualDBU: 12, ActualShuffleGB: 3}},
		{hash, db.CostRun{IntentID: "i-old", ExecutedAt: now.Add(-31 * 24 * time.Hour), ActualDBU: 99}},
		{hash, db.CostRun{IntentID: "i-mid", ExecutedAt: now.Add(-10 * 24 * time.Hour), ActualDBU: 10}},
		{other, db.CostRun{IntentID: "i-other", ExecutedAt: now.Add(-time.Hour), ActualDBU: 1}},
	}
	for _, r := range runs {
		require.NoError(t, testStore.RecordCost(ctx, r.hash, r.run))
	}
	// A retried activity records the same execution again: nothing changes.
	require.NoError(t, testStore.RecordCost(ctx, hash, db.CostRun{IntentID: "i-recent", ExecutedAt: now, ActualDBU: 500}))

	got, err := testStore.CostHistory(ctx, hash, now, 30*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, got, 2, "the 31-day-old run is outside last_30_days, the other hash is not mixed in")
	require.Equal(t, "i-recent", got[0].IntentID)
	require.InDelta(t, 12.0, got[0].ActualDBU, 0)
	require.Equal(t, "i-mid", got[1].IntentID)
}

func TestRecordCostRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	err := testStore.RecordCost(ctx, "not-a-hash", db.CostRun{IntentID: "i", ExecutedAt: time.Now(), ActualDBU: 1})
	require.ErrorContains(t, err, "precost_history_intent_signature_hash_check")
	err = testStore.RecordCost(ctx, strings.Repeat("ef", 32), db.CostRun{IntentID: "i", ExecutedAt: time.Now(), ActualDBU: -1})
	require.ErrorContains(t, err, "actual_dbu")
}
