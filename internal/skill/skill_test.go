package skill_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/skill"
)

// row is one expected transition, written out here independently of the
// package's table so that a change to either is caught.
type row struct {
	from    skill.State
	trigger skill.Trigger
	to      skill.State
}

// whitepaper are the transitions the whitepaper states: every row of the
// 5.12 trigger table ("active" is persisted_active), the IDI rules of 5.11,
// the direct demotion on a critical violation, and the lifecycle's own
// promotion path (gate, candidate -> active, deprecated -> retired).
var whitepaper = []struct {
	name string
	row
}{
	// 5.12 trigger table.
	{"5.12 schema drift: watchlist → deprecated", row{skill.Watchlist, skill.SchemaDrift, skill.Deprecated}},
	{"5.12 policy change: active → demoted", row{skill.PersistedActive, skill.PolicyChange, skill.Demoted}},
	{"5.12 degraded IFs: active → watchlist", row{skill.PersistedActive, skill.DegradedIFs, skill.Watchlist}},
	{"5.12 high cost: active → watchlist", row{skill.PersistedActive, skill.HighCost, skill.Watchlist}},
	{"5.12 low reuse: watchlist → deprecated", row{skill.Watchlist, skill.LowReuse, skill.Deprecated}},
	{"5.12 catalog incompatibility: active → retired", row{skill.PersistedActive, skill.CatalogIncompatibility, skill.Retired}},
	// 5.11 IDI.
	{"5.11 IDI < 0.75: directly to the watchlist", row{skill.PersistedActive, skill.IDIDrift, skill.Watchlist}},
	{"5.11 IDI < 0.50: immediate demotion", row{skill.PersistedActive, skill.IDISevereDrift, skill.Demoted}},
	{"5.11 IDI < 0.50: no observation window (from the watchlist too)", row{skill.Watchlist, skill.IDISevereDrift, skill.Demoted}},
	// 5.12 States note.
	{"5.12 critical violation: persisted_active → demoted bypassing the watchlist", row{skill.PersistedActive, skill.CriticalViolation, skill.Demoted}},
	// 5.12 promotion gate and the landing page's lifecycle.
	{"gate passed: ephemeral → promotion_candidate", row{skill.Ephemeral, skill.GatePassed, skill.PromotionCandidate}},
	{"promoted: promotion_candidate → persisted_active", row{skill.PromotionCandidate, skill.Promoted, skill.PersistedActive}},
	{"retire: deprecated → retired", row{skill.Deprecated, skill.Retire, skill.Retired}},
}

// additions are the transitions docs/adr/0121 adds, each with its reason
// there.
var additions = []struct {
	name string
	row
}{
	{"a candidate whose evidence soured is not promoted", row{skill.PromotionCandidate, skill.GateFailed, skill.Ephemeral}},
	{"an unused active skill goes under observation first", row{skill.PersistedActive, skill.LowReuse, skill.Watchlist}},
	{"the watchlist ends when the gate holds again", row{skill.Watchlist, skill.Recovered, skill.PersistedActive}},
	{"the watchlist is no shelter from a policy change", row{skill.Watchlist, skill.PolicyChange, skill.Demoted}},
	{"the watchlist is no shelter from a critical violation", row{skill.Watchlist, skill.CriticalViolation, skill.Demoted}},
	{"a demoted skill earns promotion again on fresh evidence", row{skill.Demoted, skill.GatePassed, skill.PromotionCandidate}},
	{"an operator retires a demoted skill", row{skill.Demoted, skill.Retire, skill.Retired}},
	{"catalog incompatibility retires an ephemeral skill", row{skill.Ephemeral, skill.CatalogIncompatibility, skill.Retired}},
	{"catalog incompatibility retires a candidate", row{skill.PromotionCandidate, skill.CatalogIncompatibility, skill.Retired}},
	{"catalog incompatibility retires a watchlisted skill", row{skill.Watchlist, skill.CatalogIncompatibility, skill.Retired}},
	{"catalog incompatibility retires a demoted skill", row{skill.Demoted, skill.CatalogIncompatibility, skill.Retired}},
	{"catalog incompatibility retires a deprecated skill", row{skill.Deprecated, skill.CatalogIncompatibility, skill.Retired}},
}

// TestTransitionTable: every transition the whitepaper states and every
// addition of ADR 0121 leads where it says.
func TestTransitionTable(t *testing.T) {
	t.Parallel()
	for _, group := range [][]struct {
		name string
		row
	}{whitepaper, additions} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				to, err := skill.Transition(tc.from, tc.trigger)
				require.NoError(t, err)
				require.Equal(t, tc.to, to)
				require.Contains(t, skill.Allowed(tc.from), tc.trigger)
			})
		}
	}
}

// TestNoOtherTransition: over every state × trigger pair, exactly the
// rows above succeed; every other pair is refused with an error naming the
// state, the trigger and the triggers the state allows.
func TestNoOtherTransition(t *testing.T) {
	t.Parallel()
	want := map[[2]string]skill.State{}
	for _, group := range [][]struct {
		name string
		row
	}{whitepaper, additions} {
		for _, tc := range group {
			k := [2]string{string(tc.from), string(tc.trigger)}
			require.NotContains(t, want, k, "duplicate row %v", k)
			want[k] = tc.to
		}
	}
	require.Len(t, skill.States(), 7)
	require.Len(t, skill.Triggers(), 14)
	succeeded := 0
	for _, from := range skill.States() {
		for _, trig := range skill.Triggers() {
			to, err := skill.Transition(from, trig)
			expected, ok := want[[2]string{string(from), string(trig)}]
			if ok {
				require.NoError(t, err, "%s --%s-->", from, trig)
				require.Equal(t, expected, to, "%s --%s-->", from, trig)
				succeeded++
				continue
			}
			require.ErrorIs(t, err, skill.ErrRefused, "%s --%s--> must be refused", from, trig)
			require.Empty(t, to)
			var refused *skill.RefusedError
			require.True(t, errors.As(err, &refused))
			require.Equal(t, from, refused.From)
			require.Equal(t, trig, refused.Trigger)
			require.Equal(t, skill.Allowed(from), refused.Allowed)
			require.Contains(t, err.Error(), string(from))
			require.Contains(t, err.Error(), string(trig))
			for _, a := range refused.Allowed {
				require.Contains(t, err.Error(), string(a))
			}
		}
	}
	require.Equal(t, len(want), succeeded)
	require.Len(t, skill.Table(), len(want), "the table has exactly the rows above")
}

func TestTableRowsAreUniqueAndSourced(t *testing.T) {
	t.Parallel()
	adr := 0
	seen := map[[2]string]bool{}
	for _, r := range skill.Table() {
		k := [2]string{string(r.From), string(r.Trigger)}
		require.False(t, seen[k], "two rows for %v", k)
		seen[k] = true
		require.NotEqual(t, r.From, r.To, "%v loops", k)
		require.NotEmpty(t, r.Source)
		if r.Source == skill.SourceADR {
			adr++
		}
	}
	require.Equal(t, len(additions), adr, "every addition is marked as the ADR's")
	for _, tr := range skill.Triggers() {
		require.NotEmpty(t, tr.Description(), tr)
	}
	for _, st := range skill.States() {
		require.NotEmpty(t, st.Description(), st)
	}
}

func TestRetiredIsFinalAndEveryOtherStateReachable(t *testing.T) {
	t.Parallel()
	require.True(t, skill.Final(skill.Retired))
	require.Empty(t, skill.Allowed(skill.Retired))
	_, err := skill.Transition(skill.Retired, skill.GatePassed)
	require.EqualError(t, err, "skill transition refused: trigger gate_passed does not apply to a retired skill: retired is final, no trigger applies")

	// From ephemeral, every state is reachable and every non-final
	// state can reach retired.
	reach := func(from skill.State) map[skill.State]bool {
		seen := map[skill.State]bool{from: true}
		queue := []skill.State{from}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, tr := range skill.Allowed(s) {
				to, err := skill.Transition(s, tr)
				require.NoError(t, err)
				if !seen[to] {
					seen[to] = true
					queue = append(queue, to)
				}
			}
		}
		return seen
	}
	all := reach(skill.Ephemeral)
	for _, s := range skill.States() {
		require.True(t, all[s], "%s is unreachable from ephemeral", s)
		require.True(t, reach(s)[skill.Retired], "%s cannot reach retired", s)
	}
}

func TestErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	_, err := skill.Transition(skill.PersistedActive, skill.SchemaDrift)
	require.EqualError(t, err, "skill transition refused: trigger schema_drift does not apply to a persisted_active skill; "+
		"from persisted_active the triggers are degraded_ifs, high_cost, idi_drift, low_reuse, policy_change, critical_violation, idi_severe_drift, catalog_incompatibility")

	_, err = skill.Transition("active", skill.HighCost)
	require.ErrorIs(t, err, skill.ErrUnknownState)
	require.EqualError(t, err, `unknown skill state "active": use one of ephemeral, promotion_candidate, persisted_active, watchlist, demoted, deprecated, retired`)

	_, err = skill.Transition(skill.PersistedActive, "demote")
	require.ErrorIs(t, err, skill.ErrUnknownTrigger)
	require.ErrorContains(t, err, `unknown skill trigger "demote": use one of schema_drift, policy_change,`)

	s, err := skill.ParseState("watchlist")
	require.NoError(t, err)
	require.Equal(t, skill.Watchlist, s)
	tr, err := skill.ParseTrigger("idi_severe_drift")
	require.NoError(t, err)
	require.Equal(t, skill.IDISevereDrift, tr)
}

func TestServing(t *testing.T) {
	t.Parallel()
	var serving []skill.State
	for _, s := range skill.States() {
		if skill.Serving(s) {
			serving = append(serving, s)
		}
	}
	require.Equal(t, []skill.State{skill.PersistedActive, skill.Watchlist}, serving)
}

// TestStateAndTriggerNamesAreTheWhitepapers: the values are the
// whitepaper's words, snake_case.
func TestStateAndTriggerNamesAreTheWhitepapers(t *testing.T) {
	t.Parallel()
	got := fmt.Sprint(skill.States())
	require.Equal(t, "[ephemeral promotion_candidate persisted_active watchlist demoted deprecated retired]", got)
	names := make([]string, 0, len(skill.Triggers()))
	for _, tr := range skill.Triggers() {
		names = append(names, string(tr))
	}
	require.Equal(t, []string{"schema_drift", "policy_change", "degraded_ifs", "high_cost", "low_reuse", "catalog_incompatibility"}, names[:6],
		"the 5.12 table's triggers, in its order")
	require.True(t, slices.IsSortedFunc(skill.Table(), func(a, b skill.Rule) int {
		return slices.Index(skill.States(), a.From) - slices.Index(skill.States(), b.From)
	}), "the table is ordered by from-state")
	for _, n := range names {
		require.Equal(t, strings.ToLower(n), n)
	}
}
