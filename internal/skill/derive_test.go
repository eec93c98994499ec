package skill_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/skill"
)

var t0 = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)

// clean is an approved fiscal execution with nothing against it.
func clean(id string, hoursAgo float64) lifecycle.Execution {
	return lifecycle.Execution{
		IntentID: id, PromotionUnit: "unit", Domain: "fiscal", DecidedAt: t0.Add(-time.Duration(hoursAgo * float64(time.Hour))),
		DecisionState: decision.Approved, DurationMS: 1000, CostDBU: 2, Units: 4, Attempts: 4, CommittedUnits: 4,
		KeyUnique: true, PolicyCompliant: true, PIIProtected: true, LayerAdherent: true, Reproducible: true,
	}
}

func with(e lifecycle.Execution, edit func(*lifecycle.Execution)) lifecycle.Execution {
	edit(&e)
	return e
}

func evaluate(t *testing.T, cur lifecycle.Execution, history ...lifecycle.Execution) lifecycle.Evaluation {
	t.Helper()
	ev, err := lifecycle.Evaluate(lifecycle.DefaultPolicy(), cur, history)
	require.NoError(t, err)
	return ev
}

func triggersOf(fs []skill.Finding) []skill.Trigger {
	var out []skill.Trigger
	for _, f := range fs {
		out = append(out, f.Trigger)
	}
	return out
}

func derive(t *testing.T, ev lifecycle.Evaluation) []skill.Finding {
	t.Helper()
	fs, err := skill.Derive(ev, lifecycle.DefaultPolicy())
	require.NoError(t, err)
	for _, f := range fs {
		require.NotEmpty(t, f.Reason, f.Trigger)
	}
	return fs
}

// TestDeriveFromRealEvaluations runs the step-18 evaluation and reads the
// triggers, then where each state goes.
func TestDeriveFromRealEvaluations(t *testing.T) {
	t.Parallel()
	h1, h2 := clean("h1", 48), clean("h2", 24)
	drifted := func(e lifecycle.Execution) lifecycle.Execution {
		return with(e, func(e *lifecycle.Execution) { e.DriftReplans = 1 })
	}
	schemaFaulted := func(id string, hoursAgo float64) lifecycle.Execution {
		return with(clean(id, hoursAgo), func(e *lifecycle.Execution) {
			e.DecisionState, e.CommittedUnits, e.SchemaFaultUnits = decision.Quarantined, 0, 4
		})
	}
	rolledBack := func(id string, hoursAgo float64) lifecycle.Execution {
		return with(clean(id, hoursAgo), func(e *lifecycle.Execution) {
			e.DecisionState, e.CriticalFailure, e.CommittedUnits, e.Attempts, e.DurationMS, e.CostDBU = decision.RolledBack, true, 0, 8, 4000, 8
		})
	}
	type next map[skill.State]skill.State // from → to; a state not listed stays
	for _, tc := range []struct {
		name     string
		ev       lifecycle.Evaluation
		triggers []skill.Trigger
		next     next
	}{
		{"the gate holds", evaluate(t, clean("cur", 0), h1, h2),
			[]skill.Trigger{skill.Recovered, skill.GatePassed},
			next{skill.Ephemeral: skill.PromotionCandidate, skill.Watchlist: skill.PersistedActive, skill.Demoted: skill.PromotionCandidate}},
		{"too few executions: nothing happens", evaluate(t, clean("cur", 0), h1),
			nil, next{}},
		{"IDI 0.6667: watchlist", evaluate(t, clean("cur", 0), h1, drifted(h2)),
			[]skill.Trigger{skill.IDIDrift, skill.GateFailed},
			next{skill.PersistedActive: skill.Watchlist, skill.PromotionCandidate: skill.Ephemeral}},
		{"IDI 0.3333: demoted, from the watchlist too", evaluate(t, clean("cur", 0), drifted(h1), drifted(h2)),
			[]skill.Trigger{skill.IDISevereDrift, skill.IDIDrift, skill.GateFailed},
			next{skill.PersistedActive: skill.Demoted, skill.Watchlist: skill.Demoted, skill.PromotionCandidate: skill.Ephemeral}},
		{"IDI exactly 0.50 is the watchlist, not demotion", evaluate(t, clean("cur", 0), h1, drifted(h2), drifted(clean("h3", 12))),
			[]skill.Trigger{skill.IDIDrift, skill.GateFailed},
			next{skill.PersistedActive: skill.Watchlist, skill.PromotionCandidate: skill.Ephemeral}},
		{"IDI exactly 0.75 is stable", evaluate(t, clean("cur", 0), h1, h2, drifted(clean("h3", 12))),
			[]skill.Trigger{skill.Recovered, skill.GatePassed},
			next{skill.Ephemeral: skill.PromotionCandidate, skill.Watchlist: skill.PersistedActive, skill.Demoted: skill.PromotionCandidate}},
		{"recurring IFs drop: degraded_ifs", evaluate(t, clean("cur", 0), h1, h2, schemaFaulted("q1", 12), schemaFaulted("q2", 6)),
			[]skill.Trigger{skill.DegradedIFs, skill.GateFailed},
			next{skill.PersistedActive: skill.Watchlist, skill.PromotionCandidate: skill.Ephemeral}},
		{"the current run drifted schema: deprecated from the watchlist", evaluate(t, schemaFaulted("cur", 0), h1, h2, schemaFaulted("q1", 12), schemaFaulted("q2", 6)),
			[]skill.Trigger{skill.SchemaDrift, skill.DegradedIFs, skill.GateFailed},
			next{skill.PersistedActive: skill.Watchlist, skill.Watchlist: skill.Deprecated, skill.PromotionCandidate: skill.Ephemeral}},
		{"consistently low IFo: high_cost", evaluate(t, clean("cur", 0), h1, h2, clean("h3", 12), rolledBack("r1", 6), rolledBack("r2", 3)),
			[]skill.Trigger{skill.HighCost, skill.GateFailed},
			next{skill.PersistedActive: skill.Watchlist, skill.PromotionCandidate: skill.Ephemeral}},
		{"one bad run is not recurring", evaluate(t, rolledBack("cur", 0)),
			[]skill.Trigger{skill.GateFailed},
			next{skill.PromotionCandidate: skill.Ephemeral}},
		{"PII exposure: critical violation, bypassing the watchlist", evaluate(t, with(clean("cur", 0), func(e *lifecycle.Execution) { e.PIIProtected = false }), h1, h2),
			[]skill.Trigger{skill.CriticalViolation, skill.GateFailed},
			next{skill.PersistedActive: skill.Demoted, skill.Watchlist: skill.Demoted, skill.PromotionCandidate: skill.Ephemeral}},
		{"a layer violation earlier in the window", evaluate(t, clean("cur", 0), h1, with(h2, func(e *lifecycle.Execution) { e.LayerAdherent = false })),
			[]skill.Trigger{skill.CriticalViolation, skill.GateFailed},
			next{skill.PersistedActive: skill.Demoted, skill.Watchlist: skill.Demoted, skill.PromotionCandidate: skill.Ephemeral}},
		{"the policy in force no longer approves it", evaluate(t, with(clean("cur", 0), func(e *lifecycle.Execution) { e.PolicyCompliant = false }), h1, h2),
			[]skill.Trigger{skill.PolicyChange, skill.GateFailed},
			next{skill.PersistedActive: skill.Demoted, skill.Watchlist: skill.Demoted, skill.PromotionCandidate: skill.Ephemeral}},
		{"a violation and severe drift: the violation is named", evaluate(t, with(drifted(clean("cur", 0)), func(e *lifecycle.Execution) { e.PIIProtected = false }), drifted(h1), h2),
			[]skill.Trigger{skill.CriticalViolation, skill.IDISevereDrift, skill.IDIDrift, skill.GateFailed},
			next{skill.PersistedActive: skill.Demoted, skill.Watchlist: skill.Demoted, skill.PromotionCandidate: skill.Ephemeral}},
		{"not reproducible (I8): a candidate is not promoted", evaluate(t, with(clean("cur", 0), func(e *lifecycle.Execution) { e.Reproducible = false }), h1, h2),
			[]skill.Trigger{skill.GateFailed},
			next{skill.PromotionCandidate: skill.Ephemeral}},
		{"approved with warnings: evidence, not a promotion", evaluate(t, with(clean("cur", 0), func(e *lifecycle.Execution) { e.DecisionState = decision.ApprovedWithWarnings }), h1, h2),
			nil, next{}},
		{"a custom signal's veto", evaluate(t, clean("cur", 0), h1, h2).WithSignal(lifecycle.Signal{Name: "business_value", Veto: true, Reason: "unused report"}),
			[]skill.Trigger{skill.GateFailed},
			next{skill.PromotionCandidate: skill.Ephemeral}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := derive(t, tc.ev)
			require.Equal(t, tc.triggers, triggersOf(fs))
			for _, from := range skill.States() {
				f, to, ok := skill.Next(from, fs)
				want, moves := tc.next[from]
				require.Equal(t, moves, ok, "from %s: %v", from, f)
				if !moves {
					continue
				}
				require.Equal(t, want, to, "from %s", from)
				// The first applicable finding, and a real transition.
				got, err := skill.Transition(from, f.Trigger)
				require.NoError(t, err)
				require.Equal(t, to, got)
			}
		})
	}
}

func TestDeriveReasons(t *testing.T) {
	t.Parallel()
	ev := evaluate(t, clean("cur", 0), clean("h1", 48), with(clean("h2", 24), func(e *lifecycle.Execution) { e.DriftReplans = 1 }))
	fs := derive(t, ev)
	require.Equal(t, []skill.Finding{
		{Trigger: skill.IDIDrift, Reason: "IDI 0.6667 < 0.75 over 3 executions in last_3_days"},
		{Trigger: skill.GateFailed, Reason: "IDI 0.6667 < 0.75 over 3 executions in last_3_days"},
	}, fs)

	ev = evaluate(t, clean("cur", 0), clean("h1", 48), clean("h2", 24))
	f, to, ok := skill.Next(skill.Ephemeral, derive(t, ev))
	require.True(t, ok)
	require.Equal(t, skill.PromotionCandidate, to)
	require.Equal(t, "thresholds_met: IFo 1 >= 0.75, IFs 1 >= 0.9, IFg 1, IDI 1, 3 successful executions in last_3_days", f.Reason)
}

// TestDeriveIsDeterministic: the same evaluation gives the same findings,
// in the same order, every time (I8).
func TestDeriveIsDeterministic(t *testing.T) {
	t.Parallel()
	ev := evaluate(t, with(clean("cur", 0), func(e *lifecycle.Execution) { e.PIIProtected, e.DriftReplans, e.SchemaFaultUnits = false, 1, 1 }),
		clean("h1", 48), with(clean("h2", 24), func(e *lifecycle.Execution) { e.DriftReplans = 1 }))
	first := derive(t, ev)
	for i := range 50 {
		require.Equal(t, first, derive(t, ev), "run %d", i)
	}
}

func TestDeriveFollowsThePolicy(t *testing.T) {
	t.Parallel()
	ev := lifecycle.Evaluation{Executions: 5, SuccessfulExecutions: 5, Window: "last_7_days", IFo: 0.8, IFs: 0.95, IFg: 1, IDI: 0.7,
		Current: lifecycle.Scores{IFo: 1, IFs: 1, IFg: 1, OutputContractAdherence: 1, PolicyCompliance: 1, AbsenceOfPIIExposure: 1, LayerAdherence: 1}}
	p := lifecycle.DefaultPolicy()
	fs, err := skill.Derive(ev, p)
	require.NoError(t, err)
	require.Equal(t, []skill.Trigger{skill.IDIDrift, skill.GateFailed}, triggersOf(fs))

	p.IDIWatchlist, p.IDIDemotion = 0.6, 0.4
	p.Thresholds.IFo = 0.85
	fs, err = skill.Derive(ev, p)
	require.NoError(t, err)
	require.Equal(t, []skill.Trigger{skill.HighCost, skill.GateFailed}, triggersOf(fs))

	p.MinExecutions = 6 // five executions are not "consistently"
	fs, err = skill.Derive(ev, p)
	require.NoError(t, err)
	require.Equal(t, []skill.Trigger{skill.GateFailed}, triggersOf(fs))

	p.Thresholds.IFg = 0.5
	_, err = skill.Derive(ev, p)
	require.ErrorIs(t, err, lifecycle.ErrInvalidPolicy)
}

// TestNextAppliesTheMostSevere: whatever the order findings are given in,
// Next takes the first that applies.
func TestNextAppliesTheMostSevere(t *testing.T) {
	t.Parallel()
	fs := []skill.Finding{{Trigger: skill.DegradedIFs}, {Trigger: skill.IDISevereDrift}}
	f, to, ok := skill.Next(skill.PersistedActive, fs)
	require.True(t, ok)
	require.Equal(t, skill.DegradedIFs, f.Trigger, "Next keeps the caller's order; Derive's is by severity")
	require.Equal(t, skill.Watchlist, to)
	f, to, ok = skill.Next(skill.Watchlist, fs)
	require.True(t, ok)
	require.Equal(t, skill.IDISevereDrift, f.Trigger)
	require.Equal(t, skill.Demoted, to)
	_, _, ok = skill.Next(skill.Retired, fs)
	require.False(t, ok)
	_, _, ok = skill.Next(skill.PersistedActive, nil)
	require.False(t, ok)
}

func ExampleNext() {
	ev, _ := lifecycle.Evaluate(lifecycle.DefaultPolicy(), clean("cur", 0), []lifecycle.Execution{
		clean("h1", 48), with(clean("h2", 24), func(e *lifecycle.Execution) { e.DriftReplans = 1 }), with(clean("h3", 12), func(e *lifecycle.Execution) { e.DriftReplans = 1 }),
	})
	fs, _ := skill.Derive(ev, lifecycle.DefaultPolicy())
	f, to, _ := skill.Next(skill.PersistedActive, fs)
	fmt.Println(f.Trigger, "→", to+":", f.Reason)
	// Output: idi_drift → watchlist: IDI 0.5 < 0.75 over 4 executions in last_3_days
}
