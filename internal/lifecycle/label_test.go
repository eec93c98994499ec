package lifecycle_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
)

// eligibleNow is a clean current execution with two clean ones before it:
// the gate holds.
func eligibleNow(t *testing.T) lifecycle.Evaluation {
	t.Helper()
	ev := evaluate(t, clean("cur", t0), twoClean()...)
	require.True(t, ev.Eligible, "fixture: %s", ev.Reason)
	return ev
}

// notEnoughYet is a clean execution with one before it: two of three.
func notEnoughYet(t *testing.T) lifecycle.Evaluation {
	t.Helper()
	ev := evaluate(t, clean("cur", t0), clean("h1", hoursAgo(24)))
	require.False(t, ev.Eligible, "fixture")
	require.Equal(t, lifecycle.ReasonInsufficientExecutions, ev.Reason, "fixture")
	return ev
}

func TestLabel(t *testing.T) {
	t.Parallel()
	th := lifecycle.DefaultPolicy().Thresholds
	approved := decision.Decision{State: decision.Approved, DecidedBy: string(decision.AuthorityRuntimeValidation), Reason: "all units committed",
		Faults: []fault.Fault{{Code: "ADVISORY"}}}

	t.Run("eligible becomes promotion_candidate decided by the promotion engine", func(t *testing.T) {
		t.Parallel()
		ev := eligibleNow(t)
		d := lifecycle.Label(approved, ev, th)
		require.Equal(t, decision.PromotionCandidate, d.State)
		require.Equal(t, lifecycle.StagePromotionEngine, d.DecidedBy)
		require.Equal(t, fmt.Sprintf("thresholds_met: IFo %.2f >= 0.75, IFs %.2f >= 0.90, IFg 1 over 3 successful executions in last_3_days", ev.IFo, ev.IFs), d.Reason)
		require.Equal(t, approved.Faults, d.Faults, "the decision's faults are kept")
		require.True(t, decision.Succeeded(d.State))
	})
	t.Run("not eligible leaves the decision unchanged", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, approved, lifecycle.Label(approved, notEnoughYet(t), th))
	})
	t.Run("a vetoed evaluation leaves the decision unchanged", func(t *testing.T) {
		t.Parallel()
		ev := eligibleNow(t).WithSignal(lifecycle.Signal{Name: "revenue_impact", Veto: true})
		require.Equal(t, approved, lifecycle.Label(approved, ev, th))
	})
	t.Run("the thresholds given are the ones reported", func(t *testing.T) {
		t.Parallel()
		d := lifecycle.Label(approved, eligibleNow(t), lifecycle.Thresholds{IFo: 0.5, IFs: 0.6, IFg: 1})
		require.Contains(t, d.Reason, ">= 0.50")
		require.Contains(t, d.Reason, ">= 0.60")
	})
}

func TestEvaluationWithSignal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		ev       func(*testing.T) lifecycle.Evaluation
		signals  []lifecycle.Signal
		eligible bool
		outcome  string
		reason   string // "" = the evaluation's own reason is kept
	}{
		{"a veto with a reason makes an eligible execution not eligible", eligibleNow,
			[]lifecycle.Signal{{Name: "revenue_impact", Value: 0.1, Veto: true, Reason: "no business value"}},
			false, lifecycle.OutcomeNotEligible, "custom_promotion_signal_veto: revenue_impact: no business value"},
		{"a veto without a reason names the signal", eligibleNow,
			[]lifecycle.Signal{{Name: "revenue_impact", Veto: true}},
			false, lifecycle.OutcomeNotEligible, "custom_promotion_signal_veto: revenue_impact"},
		{"a signal without veto keeps an eligible execution eligible", eligibleNow,
			[]lifecycle.Signal{{Name: "revenue_impact", Value: 0.9, Reason: "used daily"}},
			true, lifecycle.OutcomeEligible, ""},
		{"no signal makes an ineligible execution eligible", notEnoughYet,
			[]lifecycle.Signal{{Name: "revenue_impact", Value: 1e9, Reason: "critical"}},
			false, lifecycle.OutcomeNotEligible, ""},
		{"a veto of an ineligible execution keeps the gate's reason", notEnoughYet,
			[]lifecycle.Signal{{Name: "revenue_impact", Veto: true, Reason: "no"}},
			false, lifecycle.OutcomeNotEligible, ""},
		{"the first veto is the reason, every signal is recorded", eligibleNow,
			[]lifecycle.Signal{{Name: "cost_owner", Value: 1}, {Name: "revenue_impact", Veto: true, Reason: "a"}, {Name: "risk", Veto: true, Reason: "b"}},
			false, lifecycle.OutcomeNotEligible, "custom_promotion_signal_veto: revenue_impact: a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := tc.ev(t)
			ev := before
			for _, s := range tc.signals {
				ev = ev.WithSignal(s)
			}
			require.Equal(t, tc.signals, ev.Signals, "every signal is recorded, in order")
			require.Equal(t, tc.eligible, ev.Eligible)
			require.Equal(t, tc.outcome, ev.Outcome)
			want := tc.reason
			if want == "" {
				want = before.Reason
			}
			require.Equal(t, want, ev.Reason)
			// The gate's scores are not touched.
			require.Equal(t, before.IFo, ev.IFo)
			require.Equal(t, before.IFs, ev.IFs)
			require.Equal(t, before.IFg, ev.IFg)
			require.Equal(t, before.Executions, ev.Executions)
			if tc.eligible {
				require.Equal(t, decision.PromotionCandidate, ev.State(decision.Approved))
			} else {
				require.Equal(t, decision.Approved, ev.State(decision.Approved))
			}
		})
	}
}
