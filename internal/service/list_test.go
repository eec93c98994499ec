package service

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestListQuery(t *testing.T) {
	base := "WorkflowType IN ('IntentWorkflow', 'CompositeIntentWorkflow')"
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    ListFilter
		want string
		bad  string
	}{
		{name: "all", want: base},
		{name: "pending", f: ListFilter{Pending: true}, want: base + " AND ExecutionStatus = 'Running' AND CfaConfirmationMode IS NOT NULL"},
		{name: "decision, dataset, submitter", f: ListFilter{DecisionState: "approved", Dataset: "silver_documentos", SubmittedBy: "airflow"},
			want: base + " AND CfaDecisionState = 'approved' AND CfaTargetDataset = 'silver_documentos' AND CfaSubmittedBy = 'airflow'"},
		{name: "time", f: ListFilter{StartedAfter: day, StartedBefore: day.Add(24 * time.Hour)},
			want: base + " AND StartTime > '2026-12-01T00:00:00Z' AND StartTime < '2026-12-02T00:00:00Z'"},
		{name: "a quote cannot close the value", f: ListFilter{Dataset: "x' OR 'a'='a"}, bad: "dataset"},
		{name: "backslash", f: ListFilter{SubmittedBy: `a\`}, bad: "submitter"},
		{name: "reversed times", f: ListFilter{StartedAfter: day, StartedBefore: day}, bad: "started_after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ListQuery(tc.f)
			if tc.bad != "" {
				var in *InputError
				require.True(t, errors.As(err, &in), "%v", err)
				require.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, q)
		})
	}
}

// The same key from the same submitter always names the same intent; any
// other submitter or key, another.
func TestIdempotentID(t *testing.T) {
	a := idempotentID("intent-", "airflow", "nightly")
	require.Equal(t, a, idempotentID("intent-", "airflow", "nightly"))
	require.NotEqual(t, a, idempotentID("intent-", "dagster", "nightly"))
	require.NotEqual(t, a, idempotentID("intent-", "airflow", "nightly2"))
	require.NotEqual(t, idempotentID("intent-", "airflow", ""), idempotentID("intent-", "airflow", ""), "no key: a fresh id")
}
