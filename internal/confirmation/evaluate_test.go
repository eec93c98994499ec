package confirmation_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
)

// safe is a high-confidence, unambiguous, read-only intent over
// non-sensitive data: nothing fires.
func safe() confirmation.Input {
	return confirmation.Input{ConfidenceScore: 0.95, AmbiguityLevel: "low", ReadOnly: true, PublishAllowed: true}
}

func with(f func(*confirmation.Input)) confirmation.Input {
	in := safe()
	f(&in)
	return in
}

func TestEvaluateTriggers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       confirmation.Input
		mode     confirmation.Mode
		triggers []confirmation.Trigger
	}{
		{"aggregate of non-sensitive data read-only is auto", safe(), confirmation.ModeAuto, nil},

		// 5.1b escalation triggers, firing and not.
		{"low confidence with PII escalates", with(func(in *confirmation.Input) { in.ConfidenceScore, in.ContainsPII = 0.6, true }),
			confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerLowConfidencePII, confirmation.TriggerPIIDetected, confirmation.TriggerLowConfidence}},
		{"confidence at 0.65 with PII does not escalate", with(func(in *confirmation.Input) { in.ConfidenceScore, in.ContainsPII = 0.65, true }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerPIIDetected, confirmation.TriggerMediumConfidence}},
		{"low confidence without PII is hard", with(func(in *confirmation.Input) { in.ConfidenceScore = 0.5 }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerLowConfidence}},
		{"two competing interpretations escalate", with(func(in *confirmation.Input) { in.CompetingInterpretations, in.AmbiguityLevel = 2, "high" }),
			confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerCompetingInterpretations, confirmation.TriggerRelevantAmbiguity}},
		{"one interpretation does not escalate", with(func(in *confirmation.Input) { in.CompetingInterpretations = 1 }),
			confirmation.ModeAuto, nil},
		{"silver write while publish blocked escalates", with(func(in *confirmation.Input) { in.ReadOnly, in.SilverWrite, in.PublishAllowed = false, true, false }),
			confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerSilverWritePublishBlocked, confirmation.TriggerSilverWrite}},
		{"silver write with publish allowed is hard", with(func(in *confirmation.Input) { in.ReadOnly, in.SilverWrite = false, true }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerSilverWrite}},
		{"publish blocked is ignored for reads", with(func(in *confirmation.Input) { in.PublishAllowed = false }),
			confirmation.ModeAuto, nil},
		{"gold write always escalates", with(func(in *confirmation.Input) { in.ReadOnly, in.GoldWrite = false, true }),
			confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerGoldWrite}},
		{"cost above 80% of ceiling escalates", with(func(in *confirmation.Input) { in.EstimatedCost, in.CostCeilingDBU = 81, 100 }),
			confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerPreCostNearCeiling, confirmation.TriggerHighEstimatedCost}},
		{"cost at 80% of ceiling is only high", with(func(in *confirmation.Input) { in.EstimatedCost, in.CostCeilingDBU = 80, 100 }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerHighEstimatedCost}},
		{"cost at half the ceiling fires nothing", with(func(in *confirmation.Input) { in.EstimatedCost, in.CostCeilingDBU = 50, 100 }),
			confirmation.ModeAuto, nil},
		{"unknown ceiling fires nothing", with(func(in *confirmation.Input) { in.EstimatedCost = 1e9 }),
			confirmation.ModeAuto, nil},

		// 5.1 table criteria.
		{"PII detected is hard", with(func(in *confirmation.Input) { in.ContainsPII = true }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerPIIDetected}},
		{"high ambiguity is hard", with(func(in *confirmation.Input) { in.AmbiguityLevel = "high" }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerRelevantAmbiguity}},
		{"unknown ambiguity fails closed", with(func(in *confirmation.Input) { in.AmbiguityLevel = "" }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerRelevantAmbiguity}},
		{"stale dataset is hard", with(func(in *confirmation.Input) { in.StaleDataset = true }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerStaleDataset}},
		{"medium confidence read is soft", with(func(in *confirmation.Input) { in.ConfidenceScore = 0.8 }),
			confirmation.ModeSoft, []confirmation.Trigger{confirmation.TriggerMediumConfidence}},
		{"confidence at 0.85 is high", with(func(in *confirmation.Input) { in.ConfidenceScore = 0.85 }),
			confirmation.ModeAuto, nil},
		{"medium ambiguity is soft", with(func(in *confirmation.Input) { in.AmbiguityLevel = "medium" }),
			confirmation.ModeSoft, []confirmation.Trigger{confirmation.TriggerMediumAmbiguity}},
		{"bronze write is soft", with(func(in *confirmation.Input) { in.ReadOnly = false }),
			confirmation.ModeSoft, []confirmation.Trigger{confirmation.TriggerBronzeWrite}},
		{"NaN confidence counts as zero", with(func(in *confirmation.Input) { in.ConfidenceScore = math.NaN() }),
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerLowConfidence}},

		// The whitepaper's reconcile-and-persist example.
		{"reconcile nfe with clientes into silver is hard", confirmation.Input{ConfidenceScore: 0.9, AmbiguityLevel: "low", ContainsPII: true, SilverWrite: true, PublishAllowed: true},
			confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerPIIDetected, confirmation.TriggerSilverWrite}},
		{"every trigger at once keeps rule order", confirmation.Input{ConfidenceScore: 0.1, AmbiguityLevel: "high", CompetingInterpretations: 3, ContainsPII: true, SilverWrite: true, GoldWrite: true, StaleDataset: true, EstimatedCost: 99, CostCeilingDBU: 100},
			confirmation.ModeHumanEscalation, []confirmation.Trigger{
				confirmation.TriggerLowConfidencePII, confirmation.TriggerCompetingInterpretations, confirmation.TriggerSilverWritePublishBlocked,
				confirmation.TriggerGoldWrite, confirmation.TriggerPreCostNearCeiling, confirmation.TriggerPIIDetected, confirmation.TriggerSilverWrite,
				confirmation.TriggerHighEstimatedCost, confirmation.TriggerRelevantAmbiguity, confirmation.TriggerStaleDataset, confirmation.TriggerLowConfidence,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := confirmation.Evaluate(tc.in)
			require.Equal(t, tc.mode, got.Mode)
			require.Equal(t, tc.triggers, got.Triggers)
		})
	}
}

func TestModeRank(t *testing.T) {
	t.Parallel()
	require.False(t, confirmation.ModeSoft.NeedsHuman())
	require.True(t, confirmation.ModeHardRequired.NeedsHuman())
	require.Less(t, confirmation.ModeAuto.Rank(), confirmation.ModeHumanEscalation.Rank())
}
