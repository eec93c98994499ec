package skill

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// State is a skill's lifecycle state (whitepaper 5.12).
type State string

// The states, in lifecycle order. docs/adr/0121 defines each.
const (
	// Ephemeral: the skill has executed just in time (JIT) and has not
	// passed the promotion gate. Every skill is born ephemeral.
	Ephemeral State = "ephemeral"
	// PromotionCandidate: an execution passed the promotion gate (IFo >= T1,
	// IFs >= T2, IFg = 1, min_executions in the window); the skill waits to
	// be promoted by the system or a human.
	PromotionCandidate State = "promotion_candidate"
	// PersistedActive: promoted; its artifact is persisted and served.
	PersistedActive State = "persisted_active"
	// Watchlist: still persisted and served, under observation: its
	// indices fell (degraded IFs, high cost), its intent drifted (IDI <
	// 0.75) or it is not reused. It recovers or leaves service.
	Watchlist State = "watchlist"
	// Demoted: out of service (policy change, critical violation, severe
	// drift); its intents run just in time again and may earn promotion
	// again on fresh evidence.
	Demoted State = "demoted"
	// The deprecated state: out of service for good (schema drift, low reuse), kept
	// until it is retired.
	Deprecated State = "deprecated"
	// Retired: final. The history stays; no trigger applies.
	Retired State = "retired"
)

var states = []State{Ephemeral, PromotionCandidate, PersistedActive, Watchlist, Demoted, Deprecated, Retired}

// States returns every state, in lifecycle order.
func States() []State { return slices.Clone(states) }

var stateDescriptions = map[State]string{
	Ephemeral:          "executed just in time; has not passed the promotion gate",
	PromotionCandidate: "passed the promotion gate; waits to be promoted",
	PersistedActive:    "promoted: persisted and served",
	Watchlist:          "persisted and served, under observation",
	Demoted:            "out of service; may earn promotion again on fresh evidence",
	Deprecated:         "out of service, waiting to be retired",
	Retired:            "final: out of service for good",
}

// Description says what a skill in state s is ("" for an unknown state).
func (s State) Description() string { return stateDescriptions[s] }

// Trigger is what moves a skill from one state to another.
type Trigger string

// The triggers. The first six are the rows of the 5.12 table; the IDI
// ones are 5.11's; critical_violation is 5.12's direct demotion; the rest
// are the lifecycle's own (docs/adr/0121).
const (
	// SchemaDrift: the output contract diverges from the declared contract
	// (5.12: watchlist → deprecated).
	SchemaDrift Trigger = "schema_drift"
	// PolicyChange: the current policy invalidates the skill (5.12: active
	// → demoted).
	PolicyChange Trigger = "policy_change"
	// DegradedIFs: a recurring drop of IFs below T2 (5.12: active →
	// watchlist).
	DegradedIFs Trigger = "degraded_ifs"
	// HighCost: a consistently low IFo (5.12: active → watchlist).
	HighCost Trigger = "high_cost"
	// LowReuse: the skill was not used for N periods (5.12: watchlist →
	// deprecated).
	LowReuse Trigger = "low_reuse"
	// CatalogIncompatibility: a dataset or the domain was removed from the
	// catalog (5.12: active → retired).
	CatalogIncompatibility Trigger = "catalog_incompatibility"
	// IDIDrift: IDI below 0.75, drift detected (5.11: the skill goes
	// directly to the watchlist).
	IDIDrift Trigger = "idi_drift"
	// IDISevereDrift: IDI below 0.50, severe drift (5.11: immediate
	// demotion with no observation window).
	IDISevereDrift Trigger = "idi_severe_drift"
	// CriticalViolation: a critical contract or governance violation (5.12:
	// persisted_active → demoted directly, bypassing the watchlist).
	CriticalViolation Trigger = "critical_violation"
	// GatePassed: an execution passed the promotion gate (5.12
	// promotion_policy.gate).
	GatePassed Trigger = "gate_passed"
	// GateFailed: a candidate's evidence no longer meets the gate.
	GateFailed Trigger = "gate_failed"
	// Promoted: the system or a human promoted a candidate.
	Promoted Trigger = "promoted"
	// Recovered: a watchlisted skill's evaluation passes the promotion gate
	// again.
	Recovered Trigger = "recovered"
	// Retire: a deprecated skill's notice period ended, or an operator
	// retires a demoted one.
	Retire Trigger = "retire"
)

var triggers = []Trigger{
	SchemaDrift, PolicyChange, DegradedIFs, HighCost, LowReuse, CatalogIncompatibility,
	IDIDrift, IDISevereDrift, CriticalViolation,
	GatePassed, GateFailed, Promoted, Recovered, Retire,
}

// Triggers returns every trigger: the 5.12 table's, the IDI ones, the
// critical violation, then the lifecycle's own.
func Triggers() []Trigger { return slices.Clone(triggers) }

var descriptions = map[Trigger]string{
	SchemaDrift:            "the output contract diverges from the declared contract",
	PolicyChange:           "the current policy invalidates the skill",
	DegradedIFs:            "recurring drop of IFs below T2",
	HighCost:               "consistently low IFo",
	LowReuse:               "the skill was not used for N periods",
	CatalogIncompatibility: "a dataset or the domain was removed from the catalog",
	IDIDrift:               "IDI below the watchlist limit (0.75): drift detected",
	IDISevereDrift:         "IDI below the demotion limit (0.50): severe drift, no observation window",
	CriticalViolation:      "a critical contract or governance violation (IFg < 1)",
	GatePassed:             "an execution passed the promotion gate",
	GateFailed:             "the candidate's evidence no longer meets the promotion gate",
	Promoted:               "promoted by the system or a human",
	Recovered:              "the indices are back above the thresholds: the promotion gate holds again",
	Retire:                 "the deprecation period ended, or an operator retired the skill",
}

// Description says what t means, in the whitepaper's words where it has
// them ("" for an unknown trigger).
func (t Trigger) Description() string { return descriptions[t] }

// Where a rule of the table comes from.
const (
	SourceTable    = "whitepaper 5.12 trigger table"
	SourceIDI      = "whitepaper 5.11 IDI"
	SourceCritical = "whitepaper 5.12 direct demotion"
	SourceGate     = "whitepaper 5.12 promotion gate"
	SourceLanding  = "landing page lifecycle: candidate -> active -> watchlist -> deprecated -> retired"
	SourceADR      = "docs/adr/0121 (addition)"
)

// Rule is one transition: from a state, a trigger leads to a state.
type Rule struct {
	From    State   `json:"from"`
	Trigger Trigger `json:"trigger"`
	To      State   `json:"to"`
	// Source is where the rule comes from (Source* constants); an
	// addition beyond the whitepaper is justified in docs/adr/0121.
	Source string `json:"source"`
}

// rules is the whole transition table, by from-state in lifecycle order.
// Nothing else moves a skill.
var rules = []Rule{
	{Ephemeral, GatePassed, PromotionCandidate, SourceGate},
	{Ephemeral, CatalogIncompatibility, Retired, SourceADR},

	{PromotionCandidate, Promoted, PersistedActive, SourceLanding},
	{PromotionCandidate, GateFailed, Ephemeral, SourceADR},
	{PromotionCandidate, CatalogIncompatibility, Retired, SourceADR},

	{PersistedActive, DegradedIFs, Watchlist, SourceTable},
	{PersistedActive, HighCost, Watchlist, SourceTable},
	{PersistedActive, IDIDrift, Watchlist, SourceIDI},
	{PersistedActive, LowReuse, Watchlist, SourceADR},
	{PersistedActive, PolicyChange, Demoted, SourceTable},
	{PersistedActive, CriticalViolation, Demoted, SourceCritical},
	{PersistedActive, IDISevereDrift, Demoted, SourceIDI},
	{PersistedActive, CatalogIncompatibility, Retired, SourceTable},

	{Watchlist, SchemaDrift, Deprecated, SourceTable},
	{Watchlist, LowReuse, Deprecated, SourceTable},
	{Watchlist, Recovered, PersistedActive, SourceADR},
	{Watchlist, IDISevereDrift, Demoted, SourceIDI},
	{Watchlist, PolicyChange, Demoted, SourceADR},
	{Watchlist, CriticalViolation, Demoted, SourceADR},
	{Watchlist, CatalogIncompatibility, Retired, SourceADR},

	{Demoted, GatePassed, PromotionCandidate, SourceADR},
	{Demoted, Retire, Retired, SourceADR},
	{Demoted, CatalogIncompatibility, Retired, SourceADR},

	{Deprecated, Retire, Retired, SourceLanding},
	{Deprecated, CatalogIncompatibility, Retired, SourceADR},
}

// Table returns every transition, by from-state in lifecycle order.
func Table() []Rule { return slices.Clone(rules) }

// Errors a caller branches on.
var (
	// ErrRefused: the trigger does not apply to the skill's state.
	ErrRefused = errors.New("skill transition refused")
	// ErrUnknownState: not one of States.
	ErrUnknownState = errors.New("unknown skill state")
	// ErrUnknownTrigger: not one of Triggers.
	ErrUnknownTrigger = errors.New("unknown skill trigger")
)

// RefusedError is a transition the table does not have. It wraps ErrRefused.
type RefusedError struct {
	From    State
	Trigger Trigger
	// Allowed are the triggers From allows, in table order (none when
	// From is retired).
	Allowed []Trigger
}

func (e *RefusedError) Error() string {
	if len(e.Allowed) == 0 {
		return fmt.Sprintf("%v: trigger %s does not apply to a %s skill: %s is final, no trigger applies", ErrRefused, e.Trigger, e.From, e.From)
	}
	return fmt.Sprintf("%v: trigger %s does not apply to a %s skill; from %s the triggers are %s",
		ErrRefused, e.Trigger, e.From, e.From, join(e.Allowed))
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// ParseState returns s as a State, or an error listing the states.
func ParseState(s string) (State, error) {
	st := State(s)
	if !slices.Contains(states, st) {
		return "", fmt.Errorf("%w %q: use one of %s", ErrUnknownState, s, join(states))
	}
	return st, nil
}

// ParseTrigger returns s as a Trigger, or an error listing the triggers.
func ParseTrigger(s string) (Trigger, error) {
	t := Trigger(s)
	if !slices.Contains(triggers, t) {
		return "", fmt.Errorf("%w %q: use one of %s", ErrUnknownTrigger, s, join(triggers))
	}
	return t, nil
}

// Transition returns the state trigger t leads a skill in state from to.
// An unknown state or trigger is ErrUnknownState or ErrUnknownTrigger; a
// pair the table does not have is a *RefusedError (ErrRefused) naming the
// state, the trigger and the triggers the state allows.
func Transition(from State, t Trigger) (State, error) {
	if _, err := ParseState(string(from)); err != nil {
		return "", err
	}
	if _, err := ParseTrigger(string(t)); err != nil {
		return "", err
	}
	for _, r := range rules {
		if r.From == from && r.Trigger == t {
			return r.To, nil
		}
	}
	return "", &RefusedError{From: from, Trigger: t, Allowed: Allowed(from)}
}

// Allowed returns the triggers that apply to a skill in state from, in
// table order; none for retired or an unknown state.
func Allowed(from State) []Trigger {
	var out []Trigger
	for _, r := range rules {
		if r.From == from {
			out = append(out, r.Trigger)
		}
	}
	return out
}

// Final reports whether no trigger applies to s.
func Final(s State) bool { return len(Allowed(s)) == 0 }

// Serving reports whether a skill in state s is persisted and served:
// persisted_active and watchlist.
func Serving(s State) bool { return s == PersistedActive || s == Watchlist }

func join[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
