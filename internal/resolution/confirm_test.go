package resolution_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
)

// TestCostedFiresTheCostTriggersAtNormalization (docs/adr/0134): the
// resolved signature is priced with the Pre-cost Estimator's model from
// the catalog's sizes and its window, and the confirmation mode chosen
// again with it: a full scan of nfe (4TB) escalates, a 7-day window does
// not; no time, no estimate.
func TestCostedFiresTheCostTriggersAtNormalization(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		text    string
		in      resolution.CostInput
		fires   bool    // both cost triggers
		minDBU  float64 // the estimate is at least
		maxDBU  float64 // and at most
		ceiling float64
	}{
		{"a full scan of nfe", "aggregate nfe by uf", resolution.CostInput{Now: now}, true, 300, 400, 50},
		{"nfe over the last 7 days", "aggregate nfe by uf last 7 days", resolution.CostInput{Now: now}, false, 1, 10, 50},
		{"a small dataset in full", autoRead, resolution.CostInput{Now: now}, false, 0.1, 2, 50},
		{"nfe over 7 days against a ceiling of 5", "aggregate nfe by uf last 7 days", resolution.CostInput{Now: now, CostCeilingDBU: 5}, true, 1, 10, 5},
		{"no time: not estimated", "aggregate nfe by uf", resolution.CostInput{}, false, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := resolved(t, tc.text, registry.EnvironmentState{})
			got, err := resolution.Costed(res, shipped, registry.EnvironmentState{}, tc.in)
			require.NoError(t, err)
			require.GreaterOrEqual(t, got.EstimatedCostDBU, tc.minDBU)
			require.LessOrEqual(t, got.EstimatedCostDBU, tc.maxDBU)
			require.Equal(t, tc.ceiling, got.CostCeilingDBU)
			if tc.fires {
				require.Equal(t, confirmation.ModeHumanEscalation, got.ConfirmationMode)
				require.Contains(t, got.ConfirmationTriggers, confirmation.TriggerPreCostNearCeiling)
				require.Contains(t, got.ConfirmationTriggers, confirmation.TriggerHighEstimatedCost)
				return
			}
			require.NotContains(t, got.ConfirmationTriggers, confirmation.TriggerPreCostNearCeiling)
			require.NotContains(t, got.ConfirmationTriggers, confirmation.TriggerHighEstimatedCost)
			require.Equal(t, res.ConfirmationMode, got.ConfirmationMode, "nothing else changes")
			again := resolution.Reconfirm(got, registry.EnvironmentState{})
			require.Equal(t, got.ConfirmationMode, again.ConfirmationMode, "the estimate is kept when the mode is chosen again")
		})
	}
}

// TestASoftIntentWithARegistryConstraintIsHardRequired (docs/adr/0134):
// the constraints the registry injects are a soft mode's conflicts, known
// at normalization.
func TestASoftIntentWithARegistryConstraintIsHardRequired(t *testing.T) {
	t.Parallel()
	const ingest = "ingerir vendas_diarias" // a bronze write: soft
	free := resolved(t, ingest, registry.EnvironmentState{})
	require.Equal(t, confirmation.ModeSoft, free.ConfirmationMode)
	for _, st := range []registry.DatasetState{
		{Name: "vendas_diarias", State: registry.StatePartiallyCommitted, PublishAllowed: true},
		{Name: "vendas_diarias", State: registry.StateQuarantined, PublishAllowed: true},
		{Name: "vendas_diarias", State: registry.StateCommitted, PublishAllowed: false},
	} {
		env := registry.EnvironmentState{VersionID: "v9", Datasets: []registry.DatasetState{st}}
		r := resolved(t, ingest, env)
		require.NotEmpty(t, r.EnvironmentConstraintsInjected)
		require.Equal(t, confirmation.ModeHardRequired, r.ConfirmationMode, st)
		require.Contains(t, r.ConfirmationTriggers, confirmation.TriggerSoftConflictConstraint, st)
	}
}
