package skill_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// TestArtifactServesLaterRunsOfEveryUnitKind: a promoted micro_batch or
// cross_dataset_atomic plan is served to a later run, its time windows and
// its parts rebound to that run's window, byte-identical to the plan the
// run makes (docs/adr/0137, 0138).
func TestArtifactServesLaterRunsOfEveryUnitKind(t *testing.T) {
	t.Parallel()
	reconcile := func(edit func(*signature.Signature)) signature.Signature {
		s := plannertest.Reconciliation(plannertest.Catalog())
		s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 1}
		edit(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		sig  signature.Signature
	}{
		{"micro_batch", reconcile(func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "6h" })},
		{"cross_dataset_atomic", reconcile(func(s *signature.Signature) {
			s.CrossDatasetAtomic = true
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			promoted, h, p := run(t, tc.sig, "reg_1", "2026-03-22")
			art, err := skill.NewArtifact("intent-1", promoted, h, p, json.RawMessage(`[{"backend":"postgres"}]`), "c0de")
			require.NoError(t, err)
			_, _, fresh := run(t, tc.sig, "reg_9", "2026-04-30")
			require.NotEqual(t, p.Hash, fresh.Hash)
			served, err := art.Rebind(fresh)
			require.NoError(t, err)
			want, err := json.Marshal(fresh)
			require.NoError(t, err)
			got, err := json.Marshal(served)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}
