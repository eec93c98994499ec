package projection_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/projection"
)

func TestCheckCertain(t *testing.T) {
	t.Parallel()
	sd := concurrency.DatasetScope("silver_documentos")
	p3 := concurrency.PartitionScope("silver_documentos", "2026-01-03")
	p4 := concurrency.PartitionScope("silver_documentos", "2026-01-04")
	clientes := concurrency.DatasetScope("clientes_anon")
	commitErr := errors.New("commit registry snapshot: connection reset")
	failed001 := projection.MarkFailed("fiscal_reconciliation_001", []concurrency.Scope{p3}, genesis, now, commitErr)
	resolved := failed001
	resolved.Resolved = true
	unknown := projection.MarkFailed("lost_intent", nil, genesis, now.Add(-time.Hour), commitErr)

	cases := []struct {
		name    string
		intent  string
		scopes  []concurrency.Scope
		failed  []projection.FailedProjection
		because []string // intent ids of the blocking markers
	}{
		{"no marker: certain", "next", []concurrency.Scope{sd}, nil, nil},
		{"same partition is blocked", "next", []concurrency.Scope{p3}, []projection.FailedProjection{failed001}, []string{"fiscal_reconciliation_001"}},
		{"the whole dataset covers the failed partition", "next", []concurrency.Scope{sd}, []projection.FailedProjection{failed001}, []string{"fiscal_reconciliation_001"}},
		{"another partition of the dataset is certain", "next", []concurrency.Scope{p4}, []projection.FailedProjection{failed001}, nil},
		{"another dataset is certain", "next", []concurrency.Scope{clientes}, []projection.FailedProjection{failed001}, nil},
		{"a resolved marker no longer blocks", "next", []concurrency.Scope{p3}, []projection.FailedProjection{resolved}, nil},
		{"the failed intent may retry its own projection", "fiscal_reconciliation_001", []concurrency.Scope{p3}, []projection.FailedProjection{failed001}, nil},
		{"a marker without scopes blocks everything", "next", []concurrency.Scope{clientes}, []projection.FailedProjection{unknown}, []string{"lost_intent"}},
		{"blocking markers oldest first", "next", []concurrency.Scope{sd}, []projection.FailedProjection{failed001, unknown}, []string{"lost_intent", "fiscal_reconciliation_001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := projection.CheckCertain(tc.intent, tc.scopes, tc.failed)
			var ids []string
			for _, f := range g.Because {
				ids = append(ids, f.IntentID)
			}
			require.Equal(t, tc.because, ids)
			require.Equal(t, len(tc.because) > 0, g.Blocked)
			if !g.Blocked {
				require.Nil(t, g.Fault)
				return
			}
			require.NotNil(t, g.Fault)
			require.Equal(t, fault.CodeEnvironmentStateUncertain, g.Fault.Code)
			require.Equal(t, fault.EnvironmentalFaults, g.Fault.Family)
			require.Equal(t, fault.StageStateProjection, g.Fault.Stage)
			require.Equal(t, projection.ActionBlockNextIntent, g.Fault.MandatoryAction)
			require.True(t, g.Fault.DetectedBeforeExecution)
			require.Contains(t, g.Fault.Message, projection.ReasonEnvironmentStateUncertain)
			require.Contains(t, g.Fault.Message, "connection reset")
			require.Equal(t, g, projection.CheckCertain(tc.intent, tc.scopes, tc.failed), "deterministic")
		})
	}
}

func TestMarkFailedNormalizesScopes(t *testing.T) {
	t.Parallel()
	p3 := concurrency.PartitionScope("silver_documentos", "2026-01-03")
	m := projection.MarkFailed("i", []concurrency.Scope{p3, concurrency.DatasetScope("a"), p3}, genesis, now, nil)
	require.Equal(t, []concurrency.Scope{concurrency.DatasetScope("a"), p3}, m.Scopes)
	require.Empty(t, m.Cause)
	require.False(t, m.Resolved)
}
