package decision

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/fault"
)

// SubDecision is the outcome of one sub-intent of a composite intent
// (whitepaper 5.4). A sub-intent that never ran because a dependency failed
// is Skipped and counts as blocked.
type SubDecision struct {
	ID      string        `json:"id"`
	State   State         `json:"decision_state,omitempty"`
	Skipped bool          `json:"skipped,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Faults  []fault.Fault `json:"faults,omitempty"`
}

// Decided is the outcome of a sub-intent that reached a decision, with the
// reason the composite's trail and decision give for it.
func Decided(id string, state State, reason string, faults []fault.Fault) SubDecision {
	return SubDecision{ID: id, State: state, Faults: faults, Reason: fmt.Sprintf("sub-intent %s: %s (%s)", id, state, reason)}
}

// Consolidate decides a composite intent from its sub-intents with
// strictest_outcome: the parent is only as good as its worst branch, since
// the composite promised all of them (docs/adr/0076). DecidedBy is
// "sub_intent:<id>" of the strictest one, the first by id on a tie, or
// "sub_intents" when every one was approved.
func Consolidate(subs []SubDecision) (Decision, error) {
	if len(subs) == 0 {
		return Decision{}, fmt.Errorf("consolidate: a composite intent needs at least one sub-intent decision")
	}
	sorted := slices.Clone(subs)
	slices.SortStableFunc(sorted, func(a, b SubDecision) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	var (
		best   SubDecision
		rank   = -1
		faults []fault.Fault
	)
	for _, s := range sorted {
		st := s.State
		if s.Skipped {
			st = Blocked
		}
		if _, ok := strictness[st]; !ok {
			return Decision{}, fmt.Errorf("consolidate: sub-intent %s has %q, which is not a decision_state; use one of %v", s.ID, s.State, States)
		}
		faults = append(faults, s.Faults...)
		if Strictness(st) > rank {
			best, rank = s, Strictness(st)
			best.State = st
		}
	}
	if best.State == Approved {
		return Decision{State: Approved, DecidedBy: "sub_intents", Reason: fmt.Sprintf("all %d sub-intents approved", len(subs))}, nil
	}
	reason := best.Reason
	if reason == "" {
		reason = fmt.Sprintf("sub-intent %s: %s", best.ID, best.State)
	}
	return Decision{State: best.State, DecidedBy: "sub_intent:" + best.ID, Reason: reason, Faults: faults}, nil
}
