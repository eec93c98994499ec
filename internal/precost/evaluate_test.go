package precost_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestThresholds(t *testing.T) {
	t.Parallel()
	unpartitioned := handCatalog(
		catalog.Dataset{Name: "huge", SizeBytes: 8 << 40},
		catalog.Dataset{Name: "out", SizeBytes: 1 << 30},
	)
	hugeScan := signature.Signature{Intent: "scan", Datasets: []signature.Dataset{
		{Name: "huge", Role: signature.RoleSource}, {Name: "out", Role: signature.RoleTarget},
	}}
	tests := []struct {
		name     string
		in       func(t *testing.T) precost.Input
		ceiling  float64
		action   precost.Action
		escalate bool
		days     int // filter hint; 0 = none
	}{
		{"30 days is within budget", func(t *testing.T) precost.Input { return input(t, reconcile(30)) }, 0, precost.ActionProceed, false, 0},
		{"55 days is above 80% of the ceiling", func(t *testing.T) precost.Input { return input(t, reconcile(55)) }, 0, precost.ActionEscalate, true, 0},
		{"unbounded 4TB is over the ceiling: replan with 59 days", func(t *testing.T) precost.Input { return input(t, reconcile(0)) }, 0, precost.ActionForceReplanWithFilter, false, 59},
		{"80 days (5.5's from 2026-01-01) narrows to 59", func(t *testing.T) precost.Input { return input(t, reconcile(80)) }, 0, precost.ActionForceReplanWithFilter, false, 59},
		{"a tighter ceiling asks for fewer days", func(t *testing.T) precost.Input { return input(t, reconcile(30)) }, 10, precost.ActionForceReplanWithFilter, false, 11},
		{"even one day over the ceiling blocks", func(t *testing.T) precost.Input { return input(t, reconcile(30)) }, 0.5, precost.ActionBlock, false, 0},
		{"an unpartitioned source cannot be filtered: block", func(t *testing.T) precost.Input {
			return precost.Input{Signature: hugeScan, Catalog: unpartitioned, Now: now}
		}, 0, precost.ActionBlock, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := estimate(t, tc.in(t))
			v := precost.Evaluate(e, tc.ceiling)
			require.Equal(t, tc.action, v.Action, v.Reason)
			require.Equal(t, tc.escalate, v.Escalate)
			require.NotEmpty(t, v.Reason)
			c := tc.ceiling
			if c == 0 {
				c = precost.DefaultCostCeilingDBU
			}
			require.Equal(t, c, v.CostCeilingDBU)

			switch tc.action {
			case precost.ActionProceed:
				require.Nil(t, v.Fault)
			case precost.ActionEscalate:
				require.Equal(t, confirmation.ModeHumanEscalation, v.Mode)
				require.Nil(t, v.Fault)
			case precost.ActionForceReplanWithFilter:
				requireCeilingFault(t, v.Fault, precost.MandatoryReplan)
				require.Equal(t, &precost.Intervention{Op: precost.OpAddTemporalFilter, Column: "processing_date", LastDays: tc.days}, v.Intervention)
				// The widest window that fits: one more day does not.
				require.LessOrEqual(t, e.Shape.Price(tc.days).DBU, c)
				require.Greater(t, e.Shape.Price(tc.days+1).DBU, c)
				require.InDelta(t, e.Shape.Price(tc.days).DBU, v.HintEstimatedDBU, 1e-12)
			case precost.ActionBlock:
				requireCeilingFault(t, v.Fault, precost.MandatoryBlock)
				require.Nil(t, v.Intervention)
			}
		})
	}
}

func requireCeilingFault(t *testing.T, f *fault.Fault, action string) {
	t.Helper()
	require.NotNil(t, f)
	require.Equal(t, fault.CodePreCostCeilingExceeded, f.Code)
	require.Equal(t, fault.SemanticFaults, f.Family)
	require.Equal(t, fault.StagePreCostEstimator, f.Stage)
	require.True(t, f.DetectedBeforeExecution)
	require.Equal(t, action, f.MandatoryAction)
	require.NotEmpty(t, f.Remediation)
	require.NotEmpty(t, f.Message)
}

func TestThresholdBoundaries(t *testing.T) {
	t.Parallel()
	at := func(dbu float64) precost.Estimate { return precost.Estimate{EstimatedDBU: dbu} }
	tests := []struct {
		name    string
		e       precost.Estimate
		ceiling float64
		action  precost.Action
	}{
		{"exactly 80% does not escalate", at(40), 50, precost.ActionProceed},
		{"just above 80% escalates", at(40.0001), 50, precost.ActionEscalate},
		{"exactly the ceiling escalates, not replans", at(50), 50, precost.ActionEscalate},
		{"zero ceiling means 50", at(45), 0, precost.ActionEscalate},
		{"negative ceiling blocks", at(1), -5, precost.ActionBlock},
		{"NaN ceiling blocks", at(1), math.NaN(), precost.ActionBlock},
		{"NaN estimate blocks", at(math.NaN()), 50, precost.ActionBlock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.action, precost.Evaluate(tc.e, tc.ceiling).Action)
		})
	}
}

// The flag and the Confirmation Orchestrator agree: feeding the estimate
// into confirmation.Input fires the 5.1b pre-cost trigger exactly when
// Evaluate escalates (or replans: the estimate is above 80% then too).
func TestEscalateAgreesWithConfirmation(t *testing.T) {
	t.Parallel()
	for days := 1; days <= 80; days++ {
		e := estimate(t, input(t, reconcile(days)))
		v := precost.Evaluate(e, e.CostCeilingDBU)
		res := confirmation.Evaluate(confirmation.Input{ConfidenceScore: 1, AmbiguityLevel: "low", ReadOnly: true,
			EstimatedCost: v.EstimatedDBU, CostCeilingDBU: v.CostCeilingDBU})
		fired := res.Mode == confirmation.ModeHumanEscalation
		require.Equal(t, v.Escalate || v.Action == precost.ActionForceReplanWithFilter, fired, "days=%d dbu=%.2f", days, e.EstimatedDBU)
	}
}

// The hint is a policy intervention: applied by policy.Apply, the replanned
// signature's model estimate fits the ceiling.
func TestHintFeedsPolicyApply(t *testing.T) {
	t.Parallel()
	cat := fiscalCatalog(t)
	sig := reconcile(0)
	v := precost.Evaluate(estimate(t, input(t, sig)), 0)
	require.Equal(t, precost.ActionForceReplanWithFilter, v.Action)
	require.Equal(t, policy.OpAddTemporalFilter, v.Intervention.Op)

	next, err := policy.Apply(sig, []policy.Intervention{{Op: v.Intervention.Op, LastDays: v.Intervention.LastDays}}, cat)
	require.NoError(t, err)
	require.Equal(t, v.Intervention.Column, next.Constraints.TemporalFilter.Column)
	require.Equal(t, 1, next.Replan, "counts toward the 3 replans")
	after := precost.Evaluate(estimate(t, input(t, next)), 0)
	require.Equal(t, precost.ActionEscalate, after.Action, "59 days lands just under the ceiling, above 80 percent of it")
	require.InDelta(t, v.HintEstimatedDBU, after.EstimatedDBU, 1e-9)
}

// History that runs above the model carries into the hint: the replan has
// no history of its own, and the model is known to underestimate.
func TestHintScalesWithHistory(t *testing.T) {
	t.Parallel()
	in := input(t, reconcile(45))
	modelOnly := precost.Evaluate(estimate(t, in), 0)
	require.Equal(t, precost.ActionProceed, modelOnly.Action)

	in.History = []precost.Run{{At: now.Add(-time.Hour), ActualDBU: 120}, {At: now.Add(-2 * day), ActualDBU: 110}, {At: now.Add(-3 * day), ActualDBU: 115}}
	e := estimate(t, in)
	v := precost.Evaluate(e, 0)
	require.Equal(t, precost.ActionForceReplanWithFilter, v.Action)
	ratio := e.EstimatedDBU / e.Model.DBU
	require.LessOrEqual(t, e.Shape.Price(v.Intervention.LastDays).DBU*ratio, 50.0)
	require.Greater(t, e.Shape.Price(v.Intervention.LastDays+1).DBU*ratio, 50.0)
	require.Less(t, v.Intervention.LastDays, 45)
}
