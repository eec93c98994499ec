package runtimevalidation_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	rv "github.com/contextualflux/cfa/internal/runtimevalidation"
)

func report(t *testing.T, l rv.Limits, m rv.UnitMetrics) rv.UnitReport {
	t.Helper()
	r, err := rv.Validate(l, contract, m)
	require.NoError(t, err)
	return r
}

// fiscal is the whitepaper's 5.8 run: three partitions, 2026-01-03 fails on
// shuffle in every one of its three attempts.
func fiscal(t *testing.T) []rv.UnitReport {
	t.Helper()
	l := rv.DefaultLimits()
	var out []rv.UnitReport
	for _, k := range []string{"2026-01-01", "2026-01-02"} {
		out = append(out, report(t, l, healthy(k)))
	}
	for attempt := 1; attempt <= 3; attempt++ {
		m := healthy("2026-01-03")
		m.Attempt = attempt
		m.ShuffleMB = 730
		out = append(out, report(t, l, m))
	}
	return out
}

func TestAggregate(t *testing.T) {
	t.Parallel()
	l := rv.DefaultLimits()
	recovered := func(t *testing.T) []rv.UnitReport {
		first := healthy("2026-01-02")
		first.NullRatio["cpf_hash"] = 0.2
		second := healthy("2026-01-02")
		second.Attempt = 2
		return []rv.UnitReport{report(t, l, healthy("2026-01-01")), report(t, l, first), report(t, l, second)}
	}
	expensive := func(t *testing.T) []rv.UnitReport {
		var out []rv.UnitReport
		for _, k := range []string{"2026-01-01", "2026-01-02", "2026-01-03"} {
			m := healthy(k)
			m.CostDBU = 20 // 60 DBU in all, each unit under the 50 DBU ceiling
			out = append(out, report(t, l, m))
		}
		return out
	}
	tests := []struct {
		name     string
		reports  func(t *testing.T) []rv.UnitReport
		passed   bool
		failed   []string
		totals   rv.Totals
		warnings []string
		vote     decision.State
	}{
		{"5.8 example: the third partition fails after three attempts", fiscal, false, []string{"2026-01-03"},
			rv.Totals{Units: 3, Attempts: 5, RowsOut: 360_000, ShuffleMB: 120*2 + 730*3, CostDBU: 4.5 * 5, DurationMS: 42_000 * 5},
			nil, decision.ApprovedWithWarnings},
		{"a retry that passes decides the unit", recovered, true, nil,
			rv.Totals{Units: 2, Attempts: 3, RowsOut: 240_000, ShuffleMB: 360, CostDBU: 13.5, DurationMS: 126_000},
			nil, decision.Approved},
		{"the cost ceiling is an execution budget and only warns", expensive, true, nil,
			rv.Totals{Units: 3, Attempts: 3, RowsOut: 360_000, ShuffleMB: 360, CostDBU: 60, DurationMS: 126_000},
			[]string{rv.CodeCostCeilingExceeded}, decision.ApprovedWithWarnings},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := rv.Aggregate(l, tc.reports(t))
			require.NoError(t, err)
			require.Equal(t, tc.passed, rep.Passed)
			var failed []string
			for _, u := range rep.Failed() {
				failed = append(failed, u.Key)
			}
			require.Equal(t, tc.failed, failed)
			require.Equal(t, tc.totals, rep.Totals)
			var codes []string
			for _, w := range rep.Warnings {
				codes = append(codes, w.Code)
				require.Equal(t, rv.ActionWarn, w.MandatoryAction)
				require.Equal(t, string(rv.RuleCostCeilingDBU), w.Rule)
			}
			require.Equal(t, tc.warnings, codes)
			v := rep.Vote()
			require.Equal(t, decision.AuthorityRuntimeValidation, v.Authority)
			require.Equal(t, tc.vote, v.Outcome)
			require.NotEmpty(t, v.Reason)
			_, err = decision.Decide(decision.Input{Votes: []decision.Vote{v}})
			require.NoError(t, err, "the vote must be acceptable to the Decision Engine")
		})
	}
}

func TestAggregateKeepsTheLatestAttempt(t *testing.T) {
	t.Parallel()
	rep, err := rv.Aggregate(rv.DefaultLimits(), fiscal(t))
	require.NoError(t, err)
	require.Len(t, rep.Units, 3)
	require.Equal(t, []string{"2026-01-01", "2026-01-02", "2026-01-03"}, []string{rep.Units[0].Key, rep.Units[1].Key, rep.Units[2].Key})
	last := rep.Units[2]
	require.Equal(t, 3, last.Attempt)
	p, ok := last.Primary()
	require.True(t, ok)
	require.Equal(t, rv.CodeShuffleLimitExceeded, p.Code)
	require.Contains(t, rep.Vote().Reason, "silver_documentos/2026-01-03: RUNTIME_SHUFFLE_LIMIT_EXCEEDED")
}

func TestAggregateIgnoresInputOrder(t *testing.T) {
	t.Parallel()
	reports := fiscal(t)
	want, err := rv.Aggregate(rv.DefaultLimits(), reports)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		shuffled := slices.Clone(reports)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := rv.Aggregate(rv.DefaultLimits(), shuffled)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestAggregateRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		limits  func(*rv.Limits)
		reports func(t *testing.T) []rv.UnitReport
		err     string
		is      error
	}{
		{"no reports", nil, func(*testing.T) []rv.UnitReport { return nil }, "no unit reports", rv.ErrInvalidMetrics},
		{"invalid limits", func(l *rv.Limits) { l.CostCeilingDBU = 0 }, fiscal, "cost_ceiling_dbu", rv.ErrInvalidLimits},
		{"one attempt twice", nil, func(t *testing.T) []rv.UnitReport {
			r := report(t, rv.DefaultLimits(), healthy("2026-01-01"))
			return []rv.UnitReport{r, r}
		}, "two reports for attempt 1", rv.ErrInvalidMetrics},
		{"a report edited after Validate", nil, func(t *testing.T) []rv.UnitReport {
			r := report(t, rv.DefaultLimits(), healthy("2026-01-01"))
			r.Key = "2026-01-09"
			return []rv.UnitReport{r}
		}, "carries the metrics of", rv.ErrInvalidMetrics},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := rv.DefaultLimits()
			if tc.limits != nil {
				tc.limits(&l)
			}
			_, err := rv.Aggregate(l, tc.reports(t))
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
		})
	}
}
