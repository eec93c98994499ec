package registry_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/registry"
)

func TestCloneSharesNothing(t *testing.T) {
	orig := registry.EnvironmentState{VersionID: "v", Datasets: []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}},
	}}
	c := orig.Clone()
	require.Equal(t, orig, c)
	c.Datasets[0].State = registry.StateCommitted
	c.Datasets[0].PendingPartitions[0] = "changed"
	c.Datasets[0].QuarantinedUnits[0] = "changed"
	require.Equal(t, registry.StatePartiallyCommitted, orig.Datasets[0].State)
	require.Equal(t, []string{"2026-01-03"}, orig.Datasets[0].PendingPartitions)
	require.Equal(t, []string{"2026-01-03"}, orig.Datasets[0].QuarantinedUnits)
}
