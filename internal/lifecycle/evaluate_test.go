package lifecycle_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lifecycle"
)

// t0 is the whitepaper's execution timestamp; every test decides there.
var t0 = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)

const unitA = "shape-fiscal-reconciliation"

// clean is an approved fiscal execution with nothing to hold against it:
// four units committed at the first attempt, 1000 ms, 2 DBU.
func clean(id string, at time.Time) lifecycle.Execution {
	return lifecycle.Execution{
		IntentID: id, PromotionUnit: unitA, Domain: "fiscal", DecidedAt: at,
		DecisionState: decision.Approved, DurationMS: 1000, CostDBU: 2,
		Units: 4, Attempts: 4, CommittedUnits: 4,
		KeyUnique: true, PolicyCompliant: true, PIIProtected: true, LayerAdherent: true, Reproducible: true,
	}
}

func hoursAgo(h float64) time.Time { return t0.Add(-time.Duration(h * float64(time.Hour))) }

// twoClean is the history that, with a clean current, meets the gate.
func twoClean() []lifecycle.Execution {
	return []lifecycle.Execution{clean("h1", hoursAgo(48)), clean("h2", hoursAgo(24))}
}

func with(e lifecycle.Execution, edit func(*lifecycle.Execution)) lifecycle.Execution {
	edit(&e)
	return e
}

func evaluate(t *testing.T, current lifecycle.Execution, history ...lifecycle.Execution) lifecycle.Evaluation {
	t.Helper()
	ev, err := lifecycle.Evaluate(lifecycle.DefaultPolicy(), current, history)
	require.NoError(t, err)
	return ev
}

// rolledBack is a panic rollback: nothing committed, four times the usual
// duration and cost.
func rolledBack(id string, at time.Time) lifecycle.Execution {
	return with(clean(id, at), func(e *lifecycle.Execution) {
		e.DecisionState, e.CriticalFailure = decision.RolledBack, true
		e.CommittedUnits, e.Attempts = 0, 8
		e.DurationMS, e.CostDBU = 4000, 8
	})
}

// schemaFaulted is a quarantined run whose four units all drifted schema.
func schemaFaulted(id string, at time.Time) lifecycle.Execution {
	return with(clean(id, at), func(e *lifecycle.Execution) {
		e.DecisionState, e.CommittedUnits, e.SchemaFaultUnits = decision.Quarantined, 0, 4
	})
}

func drifted(e lifecycle.Execution) lifecycle.Execution {
	return with(e, func(e *lifecycle.Execution) { e.DriftReplans = 1 })
}

func TestEveryReasonIsReachable(t *testing.T) {
	cur := clean("cur", t0)
	for _, tc := range []struct {
		name    string
		current lifecycle.Execution
		history []lifecycle.Execution
		want    string
	}{
		{"gate met", cur, twoClean(), lifecycle.ReasonThresholdsMet},
		{"not reproducible", with(cur, func(e *lifecycle.Execution) { e.Reproducible = false }), twoClean(), lifecycle.ReasonNotReproducible},
		{"not reproducible wins over partial", with(cur, func(e *lifecycle.Execution) {
			e.Reproducible, e.DecisionState, e.CommittedUnits = false, decision.PartiallyCommitted, 2
		}), twoClean(), lifecycle.ReasonNotReproducible},
		{"blocked, nothing ran", with(cur, func(e *lifecycle.Execution) {
			e.DecisionState, e.Units, e.Attempts, e.CommittedUnits, e.DurationMS, e.CostDBU = decision.Blocked, 0, 0, 0, 0, 0
		}), twoClean(), lifecycle.ReasonNotExecuted},
		{"approved with no unit", with(cur, func(e *lifecycle.Execution) { e.Units, e.Attempts, e.CommittedUnits = 0, 0, 0 }), twoClean(), lifecycle.ReasonNotExecuted},
		{"partially committed", with(cur, func(e *lifecycle.Execution) {
			e.DecisionState, e.CommittedUnits, e.DriftFaultUnits = decision.PartiallyCommitted, 3, 1
		}), twoClean(), lifecycle.ReasonPartialExecution},
		{"approved with warnings is not promoted", with(cur, func(e *lifecycle.Execution) { e.DecisionState = decision.ApprovedWithWarnings }), twoClean(), lifecycle.ReasonApprovedWithWarnings},
		{"quarantined", schemaFaulted("cur", t0), twoClean(), lifecycle.ReasonPartialExecution},
		{"governance wins over partial", with(cur, func(e *lifecycle.Execution) {
			e.DecisionState, e.PIIProtected = decision.Quarantined, false
		}), twoClean(), lifecycle.ReasonGovernanceViolation},
		{"governance violation in history", cur, []lifecycle.Execution{clean("h1", hoursAgo(48)), with(clean("h2", hoursAgo(24)), func(e *lifecycle.Execution) { e.LayerAdherent = false })}, lifecycle.ReasonGovernanceViolation},
		{"governance wins over drift", with(cur, func(e *lifecycle.Execution) { e.PolicyCompliant = false }), []lifecycle.Execution{drifted(clean("h1", hoursAgo(48))), drifted(clean("h2", hoursAgo(24)))}, lifecycle.ReasonGovernanceViolation},
		{"intent drift", cur, []lifecycle.Execution{clean("h1", hoursAgo(48)), drifted(clean("h2", hoursAgo(24)))}, lifecycle.ReasonIntentDrift},
		{"drift wins over too few", drifted(cur), nil, lifecycle.ReasonIntentDrift},
		{"insufficient executions", cur, twoClean()[:1], lifecycle.ReasonInsufficientExecutions},
		{"warnings count as evidence", cur, []lifecycle.Execution{clean("h1", hoursAgo(48)), with(clean("h2", hoursAgo(24)), func(e *lifecycle.Execution) { e.DecisionState = decision.ApprovedWithWarnings })}, lifecycle.ReasonThresholdsMet},
		{"a promotion candidate counts as approved", with(cur, func(e *lifecycle.Execution) { e.DecisionState = decision.PromotionCandidate }), []lifecycle.Execution{clean("h1", hoursAgo(48)), with(clean("h2", hoursAgo(24)), func(e *lifecycle.Execution) { e.DecisionState = decision.PromotionCandidate })}, lifecycle.ReasonThresholdsMet},
		{"failures do not count as evidence", cur, append(twoClean()[:1], rolledBack("r1", hoursAgo(30))), lifecycle.ReasonInsufficientExecutions},
		{"ifo below threshold", cur, append(twoClean(), clean("h3", hoursAgo(12)), rolledBack("r1", hoursAgo(6)), rolledBack("r2", hoursAgo(3))), lifecycle.ReasonIFoBelowThreshold},
		{"ifs below threshold", cur, append(twoClean(), schemaFaulted("q1", hoursAgo(12)), schemaFaulted("q2", hoursAgo(6))), lifecycle.ReasonIFsBelowThreshold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := evaluate(t, tc.current, tc.history...)
			require.Equal(t, tc.want, ev.Reason)
			eligible := tc.want == lifecycle.ReasonThresholdsMet
			require.Equal(t, eligible, ev.Eligible)
			if eligible {
				require.Equal(t, lifecycle.OutcomeEligible, ev.Outcome)
				require.Equal(t, decision.PromotionCandidate, ev.State(tc.current.DecisionState))
			} else {
				require.Equal(t, lifecycle.OutcomeNotEligible, ev.Outcome)
				require.Equal(t, tc.current.DecisionState, ev.State(tc.current.DecisionState))
			}
		})
	}
}

func TestFiscalWindowOfThreeDays(t *testing.T) {
	t.Run("three clean executions within 3 days", func(t *testing.T) {
		ev := evaluate(t, clean("cur", t0), clean("h1", hoursAgo(71)), clean("h2", hoursAgo(24)))
		require.Equal(t, lifecycle.Evaluation{
			PromotionUnit: unitA, Domain: "fiscal", Window: "last_3_days",
			WindowStart: t0.Add(-72 * time.Hour), WindowEnd: t0,
			Executions: 3, SuccessfulExecutions: 3,
			IFo: 1, IFs: 1, IFg: 1, IDI: 1,
			Current: lifecycle.Scores{
				IFo: 1, IFs: 1, IFg: 1,
				NormalizedLatency: 1, NormalizedCost: 1, ExecutionStability: 1,
				OutputContractAdherence: 1, SemanticDriftAbsence: 1, DomainInvariantPreservation: 1,
				PolicyCompliance: 1, AbsenceOfPIIExposure: 1, LayerAdherence: 1,
			},
			Eligible: true, Outcome: lifecycle.OutcomeEligible, Reason: lifecycle.ReasonThresholdsMet,
		}, ev)
	})
	t.Run("one of them outside the window", func(t *testing.T) {
		ev := evaluate(t, clean("cur", t0), clean("h1", hoursAgo(73)), clean("h2", hoursAgo(24)))
		require.Equal(t, 2, ev.Executions)
		require.Equal(t, lifecycle.ReasonInsufficientExecutions, ev.Reason)
	})
	t.Run("the start is inclusive", func(t *testing.T) {
		ev := evaluate(t, clean("cur", t0), clean("h1", hoursAgo(72)), clean("h2", hoursAgo(24)))
		require.Equal(t, 3, ev.Executions)
		require.True(t, ev.Eligible)
	})
	t.Run("executions decided after the current are not evidence", func(t *testing.T) {
		ev := evaluate(t, clean("cur", t0), clean("h1", hoursAgo(24)), clean("later", t0.Add(time.Second)))
		require.Equal(t, 2, ev.Executions)
		require.Equal(t, lifecycle.ReasonInsufficientExecutions, ev.Reason)
	})
	t.Run("master_data keeps 30 days", func(t *testing.T) {
		md := func(e lifecycle.Execution) lifecycle.Execution {
			return with(e, func(e *lifecycle.Execution) { e.Domain = "master_data" })
		}
		ev := evaluate(t, md(clean("cur", t0)), md(clean("h1", hoursAgo(29*24))), md(clean("h2", hoursAgo(73))))
		require.Equal(t, "last_30_days", ev.Window)
		require.Equal(t, 3, ev.Executions)
		require.True(t, ev.Eligible)
	})
}

func TestCriticalFailureDragsIFo(t *testing.T) {
	history := append(twoClean(), clean("h3", hoursAgo(12)), rolledBack("r1", hoursAgo(6)))
	// r1 against the median of three 1000 ms / 2 DBU runs: latency and
	// cost 0.25, stability 0 → IFo 0.1667; with four clean runs at 1:
	// (4 + 0.1667) / 5 = 0.8333.
	ev := evaluate(t, clean("cur", t0), history...)
	require.Equal(t, 0.8333, ev.IFo)
	require.Equal(t, 1.0, ev.Current.IFo)
	require.Equal(t, 4, ev.SuccessfulExecutions)
	require.True(t, ev.Eligible)

	// A second one: (4 + 2 × 0.1667) / 6 = 0.7222 < 0.75.
	ev = evaluate(t, clean("cur", t0), append(history, rolledBack("r2", hoursAgo(3)))...)
	require.Equal(t, 0.7222, ev.IFo)
	require.Equal(t, 1.0, ev.IFs)
	require.Equal(t, lifecycle.ReasonIFoBelowThreshold, ev.Reason)
}

func TestSchemaFaultDragsIFs(t *testing.T) {
	// A run whose every unit drifted schema: output_contract_adherence 0,
	// IFs (0 + 1 + 1) / 3 = 0.6667.
	ev := evaluate(t, clean("cur", t0), append(twoClean(), schemaFaulted("q1", hoursAgo(12)))...)
	require.Equal(t, 0.9167, ev.IFs) // (3 + 0.6667) / 4
	require.True(t, ev.Eligible)

	ev = evaluate(t, clean("cur", t0), append(twoClean(), schemaFaulted("q1", hoursAgo(12)), schemaFaulted("q2", hoursAgo(6)))...)
	require.Equal(t, 0.8667, ev.IFs) // (3 + 2 × 0.6667) / 5
	require.Less(t, ev.IFs, 0.90)
	require.Equal(t, 0.8667, ev.IFo) // stability 0 on both faulted runs
	require.Equal(t, lifecycle.ReasonIFsBelowThreshold, ev.Reason)

	// In the current execution, per unit.
	ev = evaluate(t, with(clean("cur", t0), func(e *lifecycle.Execution) {
		e.DecisionState, e.SchemaFaultUnits, e.DriftFaultUnits, e.KeyUnique = decision.ApprovedWithWarnings, 1, 2, false
	}), twoClean()...)
	require.Equal(t, 0.75, ev.Current.OutputContractAdherence)
	require.Equal(t, 0.5, ev.Current.SemanticDriftAbsence)
	require.Equal(t, 0.0, ev.Current.DomainInvariantPreservation)
	require.Equal(t, 0.4167, ev.Current.IFs)
}

func TestOneGovernanceViolationIsEnough(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*lifecycle.Execution)
		field func(lifecycle.Scores) float64
	}{
		{"policy_compliance", func(e *lifecycle.Execution) { e.PolicyCompliant = false }, func(s lifecycle.Scores) float64 { return s.PolicyCompliance }},
		{"absence_of_pii_exposure", func(e *lifecycle.Execution) { e.PIIProtected = false }, func(s lifecycle.Scores) float64 { return s.AbsenceOfPIIExposure }},
		{"layer_adherence", func(e *lifecycle.Execution) { e.LayerAdherent = false }, func(s lifecycle.Scores) float64 { return s.LayerAdherence }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nine clean runs do not outvote one violation.
			var history []lifecycle.Execution
			for i := range 8 {
				history = append(history, clean(fmt.Sprintf("h%d", i), hoursAgo(float64(i+1))))
			}
			history = append(history, with(clean("bad", hoursAgo(60)), tc.edit))
			ev := evaluate(t, clean("cur", t0), history...)
			require.Equal(t, 0.0, ev.IFg)
			require.Equal(t, 1.0, ev.Current.IFg)
			require.Equal(t, lifecycle.ReasonGovernanceViolation, ev.Reason)

			ev = evaluate(t, with(clean("cur", t0), tc.edit), twoClean()...)
			require.Equal(t, 0.0, ev.Current.IFg)
			require.Equal(t, 0.0, tc.field(ev.Current))
			require.Equal(t, 1.0, ev.Current.IFo) // governance does not leak into the other indices
			require.Equal(t, 1.0, ev.Current.IFs)
		})
	}
}

func TestIDI(t *testing.T) {
	h1, h2, cur := clean("h1", hoursAgo(48)), clean("h2", hoursAgo(24)), clean("cur", t0)
	for _, tc := range []struct {
		name      string
		current   lifecycle.Execution
		history   []lifecycle.Execution
		idi       float64
		lifecycle string
		reason    string
	}{
		{"none drifted", cur, []lifecycle.Execution{h1, h2}, 1, "", lifecycle.ReasonThresholdsMet},
		{"1 of 4 is still stable", cur, []lifecycle.Execution{h1, h2, drifted(clean("h3", hoursAgo(12)))}, 0.75, "", lifecycle.ReasonThresholdsMet},
		{"1 of 3: watchlist", cur, []lifecycle.Execution{h1, drifted(h2)}, 0.6667, lifecycle.LifecycleWatchlist, lifecycle.ReasonIntentDrift},
		{"2 of 3: demoted", cur, []lifecycle.Execution{drifted(h1), drifted(h2)}, 0.3333, lifecycle.LifecycleDemoted, lifecycle.ReasonIntentDrift},
		{"the current drifted too", drifted(cur), []lifecycle.Execution{h1, drifted(h2)}, 0.3333, lifecycle.LifecycleDemoted, lifecycle.ReasonIntentDrift},
		{"2 of 4: exactly 0.50 is watchlist", cur, []lifecycle.Execution{h1, drifted(h2), drifted(clean("h3", hoursAgo(12)))}, 0.5, lifecycle.LifecycleWatchlist, lifecycle.ReasonIntentDrift},
		{"the signal holds whatever the reason", with(cur, func(e *lifecycle.Execution) { e.Reproducible = false }), []lifecycle.Execution{drifted(h1), drifted(h2)}, 0.3333, lifecycle.LifecycleDemoted, lifecycle.ReasonNotReproducible},
		{"a drift replan counts once however many", cur, []lifecycle.Execution{h1, with(h2, func(e *lifecycle.Execution) { e.DriftReplans = 3 })}, 0.6667, lifecycle.LifecycleWatchlist, lifecycle.ReasonIntentDrift},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := evaluate(t, tc.current, tc.history...)
			require.Equal(t, tc.idi, ev.IDI)
			require.Equal(t, tc.lifecycle, ev.Lifecycle)
			require.Equal(t, tc.reason, ev.Reason)
		})
	}
}

func TestMedianBaseline(t *testing.T) {
	// earlier builds the history: durations (ms) and costs (DBU) of clean
	// runs decided an hour apart before t0.
	earlier := func(ms []int64, dbu []float64) []lifecycle.Execution {
		var h []lifecycle.Execution
		for i := range ms {
			h = append(h, with(clean(fmt.Sprintf("h%d", i), hoursAgo(float64(len(ms)-i))), func(e *lifecycle.Execution) {
				e.DurationMS, e.CostDBU = ms[i], dbu[i]
			}))
		}
		return h
	}
	at := func(ms int64, dbu float64) lifecycle.Execution {
		return with(clean("cur", t0), func(e *lifecycle.Execution) { e.DurationMS, e.CostDBU = ms, dbu })
	}
	for _, tc := range []struct {
		name          string
		current       lifecycle.Execution
		history       []lifecycle.Execution
		latency, cost float64
	}{
		{"twice the median scores 0.5", at(2000, 8), earlier([]int64{1000, 1000, 3000}, []float64{2, 4, 6}), 0.5, 0.5},
		{"even sample: mean of the middle two", at(400, 3), earlier([]int64{100, 300}, []float64{1, 2}), 0.5, 0.5},
		{"faster than the median caps at 1", at(500, 1), earlier([]int64{1000, 1000, 1000}, []float64{2, 2, 2}), 1, 1},
		{"four times: 0.25", at(4000, 2), earlier([]int64{1000}, []float64{2}), 0.25, 1},
		{"no earlier run", at(9000, 90), nil, 1, 1},
		{"nothing to measure", at(0, 0), earlier([]int64{1000}, []float64{2}), 1, 1},
		{"a zero baseline and a cost: worse than the baseline", at(1000, 1), earlier([]int64{1000}, []float64{0}), 1, 0},
		{"three times: rounded to four decimals", at(3000, 6), earlier([]int64{1000}, []float64{2}), 0.3333, 0.3333},
		{"runs with no unit are no baseline", at(2000, 4), append(earlier([]int64{1000}, []float64{2}), with(clean("empty", hoursAgo(0.5)), func(e *lifecycle.Execution) {
			e.DecisionState, e.Units, e.Attempts, e.CommittedUnits, e.DurationMS, e.CostDBU = decision.Blocked, 0, 0, 0, 10, 0.01
		})), 0.5, 0.5},
		{"a run at the same instant sorting after is no baseline", at(2000, 4), append(earlier([]int64{1000}, []float64{2}), with(clean("zzz", t0), func(e *lifecycle.Execution) {
			e.DurationMS, e.CostDBU = 10, 0.01
		})), 0.5, 0.5},
		{"a run at the same instant sorting before is", at(2000, 4), append(earlier([]int64{1000}, []float64{2}), with(clean("aaa", t0), func(e *lifecycle.Execution) {
			e.DurationMS, e.CostDBU = 3000, 6
		})), 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := evaluate(t, tc.current, tc.history...)
			require.Equal(t, tc.latency, ev.Current.NormalizedLatency)
			require.Equal(t, tc.cost, ev.Current.NormalizedCost)
		})
	}

	t.Run("every run in the window is scored against its own past", func(t *testing.T) {
		// h0 1000 (no past: 1), h1 2000 vs 1000 (0.5), cur 1000 vs 1500 (1).
		// IFo: h0 1, h1 (0.5 + 1 + 1)/3 = 0.8333, cur 1 → 0.9444.
		ev := evaluate(t, at(1000, 2), earlier([]int64{1000, 2000}, []float64{2, 2})...)
		require.Equal(t, 0.9444, ev.IFo)
	})
}

func TestExecutionStability(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		units, attempts, commited int
		critical                  bool
		want                      float64
	}{
		{"first try, all committed", 4, 4, 4, false, 1},
		{"one retry", 4, 5, 4, false, 0.8},
		{"one unit left uncommitted after a retry", 4, 5, 3, false, 0.6},
		{"critical failure", 4, 4, 4, true, 0},
		{"rounded", 3, 3, 2, false, 0.6667},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := evaluate(t, with(clean("cur", t0), func(e *lifecycle.Execution) {
				e.Units, e.Attempts, e.CommittedUnits, e.CriticalFailure = tc.units, tc.attempts, tc.commited, tc.critical
			}))
			require.Equal(t, tc.want, ev.Current.ExecutionStability)
		})
	}
	ev := evaluate(t, with(clean("cur", t0), func(e *lifecycle.Execution) {
		e.DecisionState, e.Units, e.Attempts, e.CommittedUnits, e.KeyUnique = decision.Blocked, 0, 0, 0, true
	}))
	require.Equal(t, lifecycle.Scores{
		IFo: 0.6667, NormalizedLatency: 1, NormalizedCost: 1,
		IFg: 1, PolicyCompliance: 1, AbsenceOfPIIExposure: 1, LayerAdherence: 1,
	}, ev.Current, "no unit: no stability and no IFs evidence, not even key_unique")
}

// mixedHistory has every kind of entry Evaluate must sort out: ties on
// decided_at, faults, drift, other units, entries outside the window and
// after the current, and the current itself.
func mixedHistory() (lifecycle.Execution, []lifecycle.Execution) {
	cur := with(clean("cur", t0), func(e *lifecycle.Execution) { e.DurationMS, e.CostDBU = 1300, 2.7 })
	var h []lifecycle.Execution
	for i := range 40 {
		e := clean(fmt.Sprintf("h%02d", i), hoursAgo(float64(i%12)*5)) // ties: h00, h12, h24, h36 at t0
		e.DurationMS = int64(500 + 97*i%1100)
		e.CostDBU = float64(1+i%7) / 3
		e.Attempts = e.Units + i%3
		switch i % 9 {
		case 1:
			e.DriftReplans = 1
		case 4:
			e.DecisionState, e.CommittedUnits, e.DriftFaultUnits = decision.PartiallyCommitted, 3, 1
		case 7:
			e = schemaFaulted(e.IntentID, e.DecidedAt)
		case 8:
			e.DecisionState = decision.ApprovedWithWarnings
		}
		h = append(h, e)
	}
	h = append(h,
		with(clean("other", hoursAgo(1)), func(e *lifecycle.Execution) { e.PromotionUnit, e.PIIProtected = "shape-other", false }),
		clean("old", hoursAgo(100)),
		rolledBack("after", t0.Add(time.Minute)),
		cur,
	)
	return cur, h
}

func TestPermutationInvariance(t *testing.T) {
	cur, history := mixedHistory()
	want, err := lifecycle.Evaluate(lifecycle.DefaultPolicy(), cur, history)
	require.NoError(t, err)
	require.Equal(t, 41, want.Executions, "the 40 of the unit, all within 55 h, and the current")
	// Every index off its ceiling, so an order-dependent sum would show.
	require.Less(t, want.IFo, 1.0)
	require.Less(t, want.IFs, 1.0)
	require.Less(t, want.IDI, 1.0)
	require.Less(t, want.Current.NormalizedCost, 1.0)
	r := rand.New(rand.NewPCG(18, 2026))
	for i := range 50 {
		shuffled := append([]lifecycle.Execution(nil), history...)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got, err := lifecycle.Evaluate(lifecycle.DefaultPolicy(), cur, shuffled)
		require.NoError(t, err)
		require.Equal(t, want, got, "shuffle %d", i)
	}
}

func TestOtherUnitsAreIgnored(t *testing.T) {
	cur := clean("cur", t0)
	want := evaluate(t, cur, twoClean()...)
	other := func(e lifecycle.Execution) lifecycle.Execution {
		return with(e, func(e *lifecycle.Execution) { e.PromotionUnit = "shape-lookalike" })
	}
	got := evaluate(t, cur, append(twoClean(),
		other(with(clean("x1", hoursAgo(1)), func(e *lifecycle.Execution) { e.PolicyCompliant = false })),
		other(drifted(rolledBack("x2", hoursAgo(2)))),
		other(lifecycle.Execution{IntentID: "x3", DecidedAt: hoursAgo(3), Units: -1}), // invalid, but not used
	)...)
	require.Equal(t, want, got)
	require.True(t, got.Eligible)
}

func TestCurrentInHistoryCountsOnce(t *testing.T) {
	cur := clean("cur", t0)
	want := evaluate(t, cur, twoClean()...)
	got := evaluate(t, cur, append(twoClean(), cur, cur)...)
	require.Equal(t, want, got)
	require.Equal(t, 3, got.Executions)

	// The argument is the current's evidence, not a stale copy in history.
	stale := with(cur, func(e *lifecycle.Execution) { e.PIIProtected, e.DecidedAt = false, hoursAgo(1) })
	got = evaluate(t, cur, append(twoClean(), stale)...)
	require.Equal(t, want, got)
}

func TestEvaluateErrors(t *testing.T) {
	cur := clean("cur", t0)
	for _, tc := range []struct {
		name    string
		policy  func(*lifecycle.Policy)
		current lifecycle.Execution
		history []lifecycle.Execution
		is      error
		want    []string
	}{
		{"policy", func(p *lifecycle.Policy) { p.MinExecutions = 0 }, cur, nil, lifecycle.ErrInvalidPolicy, []string{"lifecycle evaluation", "min_executions is 0"}},
		{"current", nil, with(cur, func(e *lifecycle.Execution) { e.Attempts = 2 }), nil, lifecycle.ErrInvalidExecution, []string{"current execution", `"cur"`, "attempts 2 < units 4"}},
		{"domain window", func(p *lifecycle.Policy) { p.ByDomain["fiscal"] = "last_3_weeks" }, cur, nil, lifecycle.ErrInvalidPolicy, []string{"evaluation_window.by_domain.fiscal"}},
		{"history entry in the window", nil, cur, append(twoClean(), with(clean("h9", hoursAgo(5)), func(e *lifecycle.Execution) { e.CommittedUnits = 5 })),
			lifecycle.ErrInvalidExecution, []string{"promotion_unit " + unitA, "history execution decided at 2026-03-22T09:30:00Z", `"h9"`, "committed_units 5 > units 4"}},
		{"every bad entry named", nil, cur, []lifecycle.Execution{
			with(clean("b", hoursAgo(2)), func(e *lifecycle.Execution) { e.CostDBU = -1 }),
			with(clean("a", hoursAgo(1)), func(e *lifecycle.Execution) { e.DecisionState = "done" }),
		}, lifecycle.ErrInvalidExecution, []string{`"b": cost_dbu is -1`, `"a": decision_state "done" is not in the closed enum`}},
		{"duplicate intent", nil, cur, append(twoClean(), clean("h1", hoursAgo(3))), lifecycle.ErrInvalidExecution, []string{`"h1": it appears more than once`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := lifecycle.DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			_, err := lifecycle.Evaluate(p, tc.current, tc.history)
			require.ErrorIs(t, err, tc.is)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}

	// An invalid entry outside the window is not used, so not an error.
	_, err := lifecycle.Evaluate(lifecycle.DefaultPolicy(), cur, append(twoClean(), lifecycle.Execution{IntentID: "old", PromotionUnit: unitA, DecidedAt: hoursAgo(500), Units: -3}))
	require.NoError(t, err)
}

func TestExecutionValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*lifecycle.Execution)
		want []string
	}{
		{"clean", func(*lifecycle.Execution) {}, nil},
		{"blocked, nothing ran", func(e *lifecycle.Execution) {
			e.DecisionState, e.Units, e.Attempts, e.CommittedUnits = decision.Blocked, 0, 0, 0
		}, nil},
		{"no intent", func(e *lifecycle.Execution) { e.IntentID = "" }, []string{"intent_id is empty"}},
		{"no unit", func(e *lifecycle.Execution) { e.PromotionUnit = "" }, []string{"promotion_unit is empty", "shape hash"}},
		{"no time", func(e *lifecycle.Execution) { e.DecidedAt = time.Time{} }, []string{"decided_at is zero"}},
		{"no state", func(e *lifecycle.Execution) { e.DecisionState = "" }, []string{`decision_state "" is not in the closed enum`}},
		{"attempts < units", func(e *lifecycle.Execution) { e.Attempts = 3 }, []string{"attempts 3 < units 4"}},
		{"committed > units", func(e *lifecycle.Execution) { e.CommittedUnits = 5 }, []string{"committed_units 5 > units 4"}},
		{"schema faults > units", func(e *lifecycle.Execution) { e.SchemaFaultUnits = 5 }, []string{"schema_fault_units 5 > units 4"}},
		{"drift faults > units", func(e *lifecycle.Execution) { e.DriftFaultUnits = 6 }, []string{"drift_fault_units 6 > units 4"}},
		{"negative duration", func(e *lifecycle.Execution) { e.DurationMS = -1 }, []string{"duration_ms is -1"}},
		{"negative drift replans", func(e *lifecycle.Execution) { e.DriftReplans = -2 }, []string{"drift_replans is -2"}},
		{"negative units", func(e *lifecycle.Execution) { e.Units, e.Attempts, e.CommittedUnits = -1, 0, 0 }, []string{"units is -1"}},
		{"NaN cost", func(e *lifecycle.Execution) { e.CostDBU = math.NaN() }, []string{"cost_dbu is NaN"}},
		{"every problem at once", func(e *lifecycle.Execution) { e.IntentID, e.Attempts = "", 1 }, []string{"intent_id is empty", "attempts 1 < units 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := clean("x", t0)
			tc.edit(&e)
			err := e.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, lifecycle.ErrInvalidExecution)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestEvaluationJSON(t *testing.T) {
	ev := evaluate(t, clean("cur", t0), twoClean()...)
	data, err := json.Marshal(ev)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, k := range []string{"promotion_unit", "window", "window_start", "successful_executions", "ifo", "ifs", "ifg", "idi", "outcome", "reason"} {
		require.Contains(t, m, k)
	}
	require.NotContains(t, m, "lifecycle", "no signal, no key")
	require.Contains(t, m["current"], "normalized_latency")
	require.Contains(t, m["current"], "domain_invariant_preservation")
	require.Equal(t, "thresholds_met", m["reason"])
}
