// Package policy implements the Policy Engine (whitepaper 5.3):
//
//	"Applies all governance, safety, and FinOps rules before execution. It
//	is the layer that guarantees that the system never executes what it
//	should not."
//
//	"Possible Policy Engine outcomes: approve, replan (with declared
//	mandatory interventions), or block."
//
//	"Policy Engine rules are expressed declaratively — condition plus
//	action — and versioned with the policy_bundle_version."
//
//	replan_policy:
//	  max_attempts: 3
//	  on_max_exceeded:
//	    action: block
//	    decision_state: blocked
//	    reason: max_replan_attempts_exceeded
//
// Rules live in policies/ (one YAML file per policy type: Privacy Wall,
// FinOps Guard, Contract Enforcement, Execution Safety). Conditions are CEL
// over typed facts derived from the signature and environment_state
// (NewFacts, FactNames), compiled once at Load. Evaluate gives one verdict;
// Apply runs the closed set of interventions in Go; Govern is the bounded
// replan loop. Everything here is pure: no I/O after Load, no clock.
package policy
