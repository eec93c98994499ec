package denylist_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/examples/extensions/denylist"
	"github.com/contextualflux/cfa/extension"
)

// The flow tests (examples/extensions) run the validator in the workflow;
// this one checks its faults alone, without Postgres.
func TestDenylistOneFaultPerDeniedDataset(t *testing.T) {
	v := denylist.New([]string{"nfe", "CLIENTES", "", "gold_faturamento_uf"}, "under embargo")
	require.Equal(t, denylist.Name, v.Name())
	require.Equal(t, []string{"clientes", "gold_faturamento_uf", "nfe"}, v.Denied())
	sig := extension.Signature{Datasets: []extension.SignatureDataset{
		{Name: "nfe", Role: "source"}, {Name: "clientes", Role: "source"}, {Name: "vendas_diarias", Role: "source"},
		{Name: "nfe", Role: "target"},
	}}
	faults, err := v.Validate(context.Background(), sig, extension.EnvironmentState{})
	require.NoError(t, err)
	require.Len(t, faults, 2)
	for i, name := range []string{"nfe", "clientes"} {
		require.Equal(t, denylist.Code, faults[i].Code)
		require.Contains(t, faults[i].Message, name)
		require.Empty(t, faults[i].Family, "left to the core")
		require.Empty(t, faults[i].Stage, "left to the core")
		require.Empty(t, faults[i].MandatoryAction, "left to the core")
		require.Empty(t, faults[i].Rule, "left to the core")
	}
	faults, err = v.Validate(context.Background(), extension.Signature{Datasets: []extension.SignatureDataset{{Name: "vendas_diarias"}}}, extension.EnvironmentState{})
	require.NoError(t, err)
	require.Empty(t, faults)
}
