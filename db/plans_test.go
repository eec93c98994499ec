package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
)

func TestExecutionPlanIsWriteOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := testStore.UpsertIntent(ctx, db.Intent{IntentID: "plan-once", WorkflowID: "plan-once", Source: db.SourceText,
		Input: "x", SubmittedAt: time.Now(), Status: "running"})
	require.NoError(t, err)

	passed := true
	rec := db.PlanRecord{
		IntentID: "plan-once", SignatureHash: strings.Repeat("ab", 32), PlanHash: strings.Repeat("cd", 32),
		Plan: []byte(`{"steps": [], "b": 1, "a": 2}`), PreCost: []byte(`{"estimated_dbu":1}`),
		Artifacts: []byte(`[]`), CodeHash: strings.Repeat("ef", 32), StaticPassed: &passed, StaticReport: []byte(`{"passed":true}`),
	}
	require.NoError(t, testStore.RecordPlan(ctx, rec))
	// A retried activity: no error, nothing changes.
	again := rec
	again.Plan = []byte(`{"other":true}`)
	require.NoError(t, testStore.RecordPlan(ctx, again))

	got, err := testStore.GetPlan(ctx, "plan-once")
	require.NoError(t, err)
	require.Equal(t, string(rec.Plan), string(got.Plan), "json keeps the bytes as hashed, key order included")
	require.Equal(t, rec.CodeHash, got.CodeHash)
	require.True(t, *got.StaticPassed)

	_, err = testDB.Pool.Exec(ctx, `UPDATE execution_plans SET dry_run = true WHERE intent_id = 'plan-once'`)
	require.ErrorContains(t, err, "write-once")
	_, err = testDB.Pool.Exec(ctx, `DELETE FROM execution_plans WHERE intent_id = 'plan-once'`)
	require.ErrorContains(t, err, "write-once")

	_, err = testStore.GetPlan(ctx, "never-planned")
	require.ErrorIs(t, err, db.ErrPlanNotFound)

	// A stale environment replans the intent under a new signature: that
	// cycle's planning is kept beside the first, and is the latest.
	next := rec
	next.SignatureHash, next.PlanHash, next.Plan = strings.Repeat("12", 32), strings.Repeat("34", 32), []byte(`{"cycle":2}`)
	require.NoError(t, testStore.RecordPlan(ctx, next))
	got, err = testStore.GetPlan(ctx, "plan-once")
	require.NoError(t, err)
	require.Equal(t, next.SignatureHash, got.SignatureHash)
	first, err := testStore.GetPlanOfSignature(ctx, "plan-once", rec.SignatureHash)
	require.NoError(t, err)
	require.Equal(t, string(rec.Plan), string(first.Plan))
	_, err = testStore.GetPlanOfSignature(ctx, "plan-once", strings.Repeat("99", 32))
	require.ErrorIs(t, err, db.ErrPlanNotFound)
}

func TestExecutionPlanConstraints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := testStore.UpsertIntent(ctx, db.Intent{IntentID: "plan-bad", WorkflowID: "plan-bad", Source: db.SourceText,
		Input: "x", SubmittedAt: time.Now(), Status: "running"})
	require.NoError(t, err)
	cases := []struct {
		name string
		rec  db.PlanRecord
		want string
	}{
		{"unknown intent", db.PlanRecord{IntentID: "ghost", SignatureHash: strings.Repeat("ab", 32), PreCost: []byte(`{}`)}, "foreign key"},
		{"plan without hash", db.PlanRecord{IntentID: "plan-bad", SignatureHash: strings.Repeat("ab", 32), PreCost: []byte(`{}`), Plan: []byte(`{}`)}, "check"},
		{"bad signature hash", db.PlanRecord{IntentID: "plan-bad", SignatureHash: "x", PreCost: []byte(`{}`)}, "intent_signature_hash"},
		{"report without verdict", db.PlanRecord{IntentID: "plan-bad", SignatureHash: strings.Repeat("ab", 32), PreCost: []byte(`{}`), StaticReport: []byte(`{}`)}, "check"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorContains(t, testStore.RecordPlan(ctx, c.rec), c.want)
		})
	}
}
