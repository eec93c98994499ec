// Package decision implements the Decision Engine (whitepaper 5.14): it
// consolidates every authority's outcome into one decision_state, invariants
// vetoing first, then ordered_authority resolved by strictest_outcome.
package decision

import "fmt"

// State is the closed decision_state enum of whitepaper 5.14/5.15.
type State string

// The decision_state enum; no ad hoc states.
const (
	Approved             State = "approved"
	ApprovedWithWarnings State = "approved_with_warnings"
	Replanned            State = "replanned"
	Blocked              State = "blocked"
	PartiallyCommitted   State = "partially_committed"
	Quarantined          State = "quarantined"
	RolledBack           State = "rolled_back"
	PromotionCandidate   State = "promotion_candidate"
)

// States lists the enum in declaration order.
var States = []State{Approved, ApprovedWithWarnings, Replanned, Blocked, PartiallyCommitted, Quarantined, RolledBack, PromotionCandidate}

// Succeeded reports whether s lets what depends on the intent go on: a
// complete execution, with or without warnings, or one labelled a
// promotion candidate (step 18).
func Succeeded(s State) bool {
	return s == Approved || s == ApprovedWithWarnings || s == PromotionCandidate
}

// Parse returns the State named s, or an error naming the allowed values.
func Parse(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("decision_state %q is not in the closed enum %v", s, States)
}
