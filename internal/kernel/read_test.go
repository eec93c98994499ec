package kernel_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestPlanRead (docs/adr/0132, 0133): a read is planned with the row limit
// asked and the privacy wall's masks; a read with a supplied plan is
// refused; a signature that neither reads nor writes has nothing to plan.
func TestPlanRead(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	bundle, err := policy.Default()
	require.NoError(t, err)
	signed := func(sig signature.Signature) kernel.Signed {
		h, err := sig.Canonical().Hash()
		require.NoError(t, err)
		return kernel.Signed{Signature: sig, Hash: h}
	}

	sig := plannertest.ReadClientes(cat)
	require.Equal(t, map[string]planner.Mask{"clientes.cpf": planner.MaskSHA256, "clientes.email": planner.MaskRedact},
		kernel.ReadMasks(sig, cat, bundle.Masking))
	require.Nil(t, kernel.ReadMasks(plannertest.Reconciliation(cat), cat, bundle.Masking), "a write has no read masks")

	k, err := kernel.Plan(kernel.PlanInput{Signed: signed(sig), RowLimit: 7, Masking: bundle.Masking}, cat)
	require.NoError(t, err)
	require.Nil(t, k.Refusal)
	require.False(t, k.ReadOnly)
	require.True(t, k.Plan.Read())
	q, _ := k.Plan.QueryStep()
	require.Equal(t, 7, q.Params.Query.Limit)
	require.Equal(t, []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}, planner.Names(q.Columns))

	k, err = kernel.Plan(kernel.PlanInput{Signed: signed(sig), Supplied: k.Plan}, cat)
	require.NoError(t, err)
	require.NotNil(t, k.Refusal)
	require.Equal(t, fault.CodePlanConstraintViolated, k.Refusal.Code)
	require.Contains(t, k.Refusal.Message, "a read plans its own query")

	_, err = kernel.Plan(kernel.PlanInput{Signed: signed(sig), RowLimit: planner.MaxRowLimit + 1}, cat)
	require.ErrorIs(t, err, kernel.ErrInvalidInput)

	none := signature.Signature{Intent: "nothing", ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion}}
	k, err = kernel.Plan(kernel.PlanInput{Signed: signed(none)}, cat)
	require.NoError(t, err)
	require.True(t, k.ReadOnly, "no dataset read or written: nothing to plan")
}
