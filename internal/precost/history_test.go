package precost_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
)

const day = 24 * time.Hour

func runsAt(dbu float64, ages ...time.Duration) []precost.Run {
	out := make([]precost.Run, len(ages))
	for i, a := range ages {
		out[i] = precost.Run{At: now.Add(-a), ActualDBU: dbu, ActualShuffleGB: dbu / 2}
	}
	return out
}

func withHistory(t *testing.T, runs []precost.Run) precost.Estimate {
	t.Helper()
	in := input(t, reconcile(30))
	in.History = runs
	return estimate(t, in)
}

func TestHistoryWindow(t *testing.T) {
	t.Parallel()
	model := reconcileDBU(30)
	tests := []struct {
		name string
		runs []precost.Run
		n    int
	}{
		{"no history is model only", nil, 0},
		{"a run 31 days old is ignored", runsAt(40, 31*day), 0},
		{"a run just past the window is ignored", runsAt(40, precost.HistoryWindow+time.Nanosecond), 0},
		{"a run exactly 30 days old counts", runsAt(40, precost.HistoryWindow), 1},
		{"a run after now is ignored", runsAt(40, -time.Hour), 0},
		{"in and out of the window", runsAt(40, day, 10*day, 45*day, 90*day), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := withHistory(t, tc.runs)
			require.Equal(t, tc.n, e.HistoryRuns)
			if tc.n == 0 {
				require.Equal(t, precost.BasisModel, e.Basis)
				require.InDelta(t, model, e.EstimatedDBU, 1e-9)
				return
			}
			require.Equal(t, precost.BasisHistoryWeighted, e.Basis)
			share := float64(tc.n) / float64(tc.n+precost.HistoryPriorRuns)
			require.InDelta(t, share*40+(1-share)*model, e.EstimatedDBU, 1e-9, "all runs cost 40: the blend is share·40 + (1-share)·model")
			require.InDelta(t, share*20+(1-share)*e.Model.ShuffleGiB, e.EstimatedShuffleGB, 1e-9)
		})
	}
}

func TestConfidenceGrowsWithRuns(t *testing.T) {
	t.Parallel()
	prev := -1.0
	for n := range 12 {
		ages := make([]time.Duration, n)
		for i := range ages {
			ages[i] = time.Duration(i+1) * day
		}
		e := withHistory(t, runsAt(20, ages...))
		require.Greater(t, e.Confidence, prev, "n=%d", n)
		require.GreaterOrEqual(t, e.Confidence, precost.ModelConfidenceFloor)
		require.LessOrEqual(t, e.Confidence, 1.0)
		prev = e.Confidence
	}
	require.InDelta(t, 0.3+0.7*11.0/14, prev, 1e-12, "confidence = floor + (1-floor)·n/(n+3)")
}

func TestRecentRunsWeighMore(t *testing.T) {
	t.Parallel()
	recentHigh := []precost.Run{{At: now.Add(-day), ActualDBU: 40}, {At: now.Add(-20 * day), ActualDBU: 10}}
	recentLow := []precost.Run{{At: now.Add(-day), ActualDBU: 10}, {At: now.Add(-20 * day), ActualDBU: 40}}
	hi, lo := withHistory(t, recentHigh), withHistory(t, recentLow)
	require.Greater(t, hi.EstimatedDBU, lo.EstimatedDBU)
	require.Equal(t, hi.Confidence, lo.Confidence, "confidence counts runs, not their values")

	// The weights by hand: 2^(-age/7 days).
	w1, w20 := math.Exp2(-1.0/7), math.Exp2(-20.0/7)
	avg := (w1*40 + w20*10) / (w1 + w20)
	require.InDelta(t, 0.4*avg+0.6*reconcileDBU(30), hi.EstimatedDBU, 1e-9)
}

func TestHistoryOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	runs := []precost.Run{
		{At: now.Add(-3 * day), ActualDBU: 21.3, ActualShuffleGB: 1},
		{At: now.Add(-day), ActualDBU: 27.9, ActualShuffleGB: 3},
		{At: now.Add(-3 * day), ActualDBU: 19.1, ActualShuffleGB: 2},
		{At: now.Add(-40 * day), ActualDBU: 99},
	}
	reversed := []precost.Run{runs[3], runs[2], runs[1], runs[0]}
	require.Equal(t, withHistory(t, runs), withHistory(t, reversed))
}

func TestDegradedEnvironmentLowersConfidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		state    string
		degraded []string
	}{
		{"committed target", registry.StateCommitted, nil},
		{"stale target", registry.StateStale, []string{"silver_documentos"}},
		{"partially committed target", registry.StatePartiallyCommitted, []string{"silver_documentos"}},
		{"quarantined target", registry.StateQuarantined, []string{"silver_documentos"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := input(t, reconcile(30))
			in.Environment = registry.EnvironmentState{Datasets: []registry.DatasetState{{Name: "silver_documentos", State: tc.state}}}
			e := estimate(t, in)
			require.Equal(t, tc.degraded, e.DegradedDatasets)
			want := precost.ModelConfidenceFloor
			if tc.degraded != nil {
				want *= precost.DegradedConfidenceFactor
			}
			require.InDelta(t, want, e.Confidence, 1e-12)
			require.InDelta(t, reconcileDBU(30), e.EstimatedDBU, 1e-9, "the registry changes confidence, not cost")
		})
	}
}
