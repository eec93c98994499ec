// Package skill is the skill registry's lifecycle (whitepaper 5.12 "Skill
// Lifecycle Management", with the IDI rules of 5.11): the states a skill is
// in, the triggers that move it, and the one table of transitions between
// them. It is pure: no clock, no SQL, no Temporal. The store (db/skills.go)
// records each transition, append-only, and audits it; this package says
// whether a transition exists and where it leads.
//
// A skill is the promotion unit: every execution of one governed signature,
// keyed by Key (docs/adr/0121): the signature's shape hash (ADR 0095) with
// the registry-injected publish_blocked constraint cleared too.
//
// The states (docs/adr/0121 says what each means):
//
//	ephemeral            executed just in time; no promotion yet
//	promotion_candidate  passed the promotion gate; awaits promotion
//	persisted_active     promoted: persisted and served
//	watchlist            persisted and served, under observation
//	demoted              out of service; may earn promotion again
//	deprecated           out of service, on its way to retirement
//	retired              final
//
// The transitions are Table: every row of the 5.12 trigger table, the IDI
// rules of 5.11, the direct persisted_active → demoted on a critical
// violation, the lifecycle's own (gate_passed, promoted, recovered) and the
// additions ADR 0121 justifies one by one. Transition refuses every other
// pair, naming the triggers the state allows.
//
// Derive reads a step-18 evaluation (lifecycle.Evaluation) and returns the
// triggers it supports in a fixed precedence order, most severe first; Next
// picks the first one the skill's state allows, so one evaluation moves a
// skill at most once, and the same evaluation always moves it the same way
// (I8).
package skill
