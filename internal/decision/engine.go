package decision

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/fault"
)

// Authority names a participant of ordered_authority (whitepaper 5.14).
type Authority string

// The ordered authorities, in their order of precedence. The whitepaper
// names policy_engine, runtime_validation and partial_failure_policy; the
// stages that can end the flow earlier vote in flow order: the Normalizer
// and the Confirmation Orchestrator before the policy engine
// (docs/adr/0004), the Pre-cost Estimator, the Execution Planner and Static
// Validation after it, before anything runs (docs/adr/0074).
const (
	AuthorityIntentNormalizer Authority = "intent_normalizer"
	AuthorityConfirmation     Authority = "confirmation_orchestrator"
	AuthorityPolicyEngine     Authority = "policy_engine"
	AuthorityPreCostEstimator Authority = "pre_cost_estimator"
	AuthorityExecutionPlanner Authority = "execution_planner"
	AuthorityStaticValidation Authority = "static_validation"
	// AuthorityConcurrencyControl blocks an intent whose scope is held
	// when conflict_resolution is reject (section 10).
	AuthorityConcurrencyControl Authority = "concurrency_control"
	// AuthorityRevalidation blocks when a stale environment would need
	// more replans than the bundle allows (step 12).
	AuthorityRevalidation         Authority = "pre_execution_revalidation"
	AuthorityRuntimeValidation    Authority = "runtime_validation"
	AuthorityPartialFailurePolicy Authority = "partial_failure_policy"
	// AuthoritySandboxMonitor is the whitepaper's detector of
	// Environmental Faults (5.13): it blocks an intent a stage of which
	// could not complete, or that was cancelled outside a wait.
	AuthoritySandboxMonitor Authority = "sandbox_monitor"
)

// authorityOrder is ordered_authority, in flow order.
var authorityOrder = []Authority{
	AuthorityIntentNormalizer, AuthorityConfirmation, AuthorityPolicyEngine,
	AuthorityPreCostEstimator, AuthorityExecutionPlanner, AuthorityStaticValidation,
	AuthorityConcurrencyControl, AuthorityRevalidation,
	AuthorityRuntimeValidation, AuthorityPartialFailurePolicy, AuthoritySandboxMonitor,
}

// strictness ranks states for strictest_outcome. The whitepaper orders
// blocked > quarantined > rolled_back > partially_committed >
// approved_with_warnings > approved and says replanned beats
// partially_committed; docs/adr/0004 places replanned just below blocked.
var strictness = map[State]int{
	Approved:             0,
	PromotionCandidate:   0, // a lifecycle label on an approved execution, never stricter
	ApprovedWithWarnings: 1,
	PartiallyCommitted:   2,
	RolledBack:           3,
	Quarantined:          4,
	Replanned:            5,
	Blocked:              6,
}

// Strictness returns the rank of s under strictest_outcome (higher wins).
func Strictness(s State) int { return strictness[s] }

// Vote is one authority's outcome with the faults behind it.
type Vote struct {
	Authority Authority     `json:"authority"`
	Outcome   State         `json:"outcome"`
	Reason    string        `json:"reason,omitempty"`
	Faults    []fault.Fault `json:"faults,omitempty"`
}

// Input is everything the Decision Engine weighs.
type Input struct {
	// InvariantViolations veto absolutely: any one of them decides blocked
	// (or the state it names) before any authority is heard.
	InvariantViolations []Violation `json:"invariant_violations,omitempty"`
	Votes               []Vote      `json:"votes"`
}

// Violation is a broken invariant (I1–I8) and the state it forces.
type Violation struct {
	Invariant string      `json:"invariant"` // "I1" … "I8"
	Forces    State       `json:"forces"`    // blocked, quarantined or rolled_back
	Fault     fault.Fault `json:"fault"`
}

// Decision is the Decision Engine's output.
type Decision struct {
	State State `json:"decision_state"`
	// DecidedBy is "invariant:<In>" for a veto, else the authority whose
	// outcome was strictest (the earliest in ordered_authority on a tie).
	DecidedBy string        `json:"decided_by"`
	Reason    string        `json:"reason,omitempty"`
	Faults    []fault.Fault `json:"faults,omitempty"`
	// Warnings are the non-blocking alerts (5.14 approved_with_warnings):
	// the messages of the faults of every approved_with_warnings vote, in
	// ordered_authority order, whatever the decision (a stricter outcome
	// still says what was narrowed or flagged on the way).
	Warnings []string `json:"warnings,omitempty"`
}

// Decide applies veto_absolute, then ordered_authority with strictest_outcome.
func Decide(in Input) (Decision, error) {
	if len(in.Votes) == 0 && len(in.InvariantViolations) == 0 {
		return Decision{}, fmt.Errorf("decide: no authority voted and no invariant was checked; pass at least the policy_engine vote")
	}
	if len(in.InvariantViolations) > 0 {
		v := in.InvariantViolations[0]
		for _, o := range in.InvariantViolations[1:] {
			if Strictness(o.Forces) > Strictness(v.Forces) {
				v = o
			}
		}
		faults := make([]fault.Fault, 0, len(in.InvariantViolations))
		for _, o := range in.InvariantViolations {
			faults = append(faults, o.Fault)
		}
		return Decision{State: v.Forces, DecidedBy: "invariant:" + v.Invariant, Reason: v.Fault.Message, Faults: faults}, nil
	}
	votes := slices.Clone(in.Votes)
	for _, v := range votes {
		if _, ok := strictness[v.Outcome]; !ok {
			return Decision{}, fmt.Errorf("decide: %s voted %q, which is not a decision_state; use one of %v", v.Authority, v.Outcome, States)
		}
		if !slices.Contains(authorityOrder, v.Authority) {
			return Decision{}, fmt.Errorf("decide: %q is not an ordered authority; use one of %v", v.Authority, authorityOrder)
		}
	}
	slices.SortStableFunc(votes, func(a, b Vote) int {
		return slices.Index(authorityOrder, a.Authority) - slices.Index(authorityOrder, b.Authority)
	})
	best := votes[0]
	var faults []fault.Fault
	var warnings []string
	for _, v := range votes {
		faults = append(faults, v.Faults...)
		if Strictness(v.Outcome) > Strictness(best.Outcome) {
			best = v
		}
		if v.Outcome == ApprovedWithWarnings {
			warnings = append(warnings, warningsOf(v)...)
		}
	}
	return Decision{State: best.Outcome, DecidedBy: string(best.Authority), Reason: best.Reason, Faults: faults, Warnings: warnings}, nil
}

// warningsOf is what an approved_with_warnings vote warns of: each fault's
// message (its code when it has none), or the vote's reason.
func warningsOf(v Vote) []string {
	if len(v.Faults) == 0 {
		if v.Reason == "" {
			return nil
		}
		return []string{v.Reason}
	}
	out := make([]string, 0, len(v.Faults))
	for _, f := range v.Faults {
		w := f.Message
		if w == "" {
			w = f.Code
		}
		out = append(out, w)
	}
	return out
}
