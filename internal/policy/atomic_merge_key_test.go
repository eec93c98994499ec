package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestSetMergeKeyOfAnAtomicIntent: set_merge_key on targets whose catalog
// keys differ fails a plain intent (split it) and gives each target of a
// cross_dataset_atomic one its own key (docs/adr/0138).
func TestSetMergeKeyOfAnAtomicIntent(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := signature.Signature{Intent: "reconciliation_and_persist", Operations: []string{signature.OpJoin},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource}, {Name: "clientes", Role: signature.RoleSource},
			{Name: "clientes_anon", Role: signature.RoleTarget}, {Name: "silver_documentos", Role: signature.RoleTarget},
		}}
	iv := []policy.Intervention{{Op: policy.OpSetMergeKey}}
	_, err := policy.Apply(sig, iv, cat)
	require.ErrorIs(t, err, policy.ErrInterventionFailed)
	require.ErrorContains(t, err, "differs from another target's")

	sig.CrossDatasetAtomic = true
	got, err := policy.Apply(sig, iv, cat)
	require.NoError(t, err)
	require.Equal(t, "cliente_id", got.Constraints.MergeKey, "the first target's")
	require.True(t, got.Constraints.MergeKeyRequired)
	require.Equal(t, "cliente_id", got.Datasets[2].MergeKey)
	require.Equal(t, "nfe_id", got.Datasets[3].MergeKey)
}
