package precost_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/precost"
)

func TestBlockVote(t *testing.T) {
	t.Parallel()
	overEvenOneDay := precost.Evaluate(estimate(t, input(t, reconcile(30))), 0.5)
	require.Equal(t, precost.ActionBlock, overEvenOneDay.Action, "fixture")
	require.NotNil(t, overEvenOneDay.Fault, "fixture: a ceiling block carries its fault")
	unusable := precost.Evaluate(precost.Estimate{EstimatedDBU: math.NaN()}, 0)
	require.Equal(t, precost.ActionBlock, unusable.Action, "fixture")
	require.Nil(t, unusable.Fault, "fixture: an unusable estimate carries no fault")
	badCeiling := precost.Evaluate(precost.Estimate{EstimatedDBU: 1}, -5)
	require.Equal(t, precost.ActionBlock, badCeiling.Action, "fixture")

	cases := []struct {
		name     string
		v        precost.Verdict
		fallback bool
	}{
		{"the verdict's own fault", overEvenOneDay, false},
		{"no fault: PRE_COST_CEILING_EXCEEDED", unusable, true},
		{"an invalid ceiling: PRE_COST_CEILING_EXCEEDED", badCeiling, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := precost.BlockVote(tc.v)
			require.Equal(t, decision.AuthorityPreCostEstimator, v.Authority)
			require.Equal(t, decision.Blocked, v.Outcome)
			require.Equal(t, tc.v.Reason, v.Reason)
			require.NotEmpty(t, v.Reason)
			require.Len(t, v.Faults, 1)
			f := v.Faults[0]
			if !tc.fallback {
				require.Equal(t, *tc.v.Fault, f)
				return
			}
			require.Equal(t, fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
				Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "block", Message: tc.v.Reason}, f)
		})
	}
}
