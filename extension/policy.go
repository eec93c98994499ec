package extension

import (
	"context"
	"io/fs"
)

// RuleProvider is policy_engine.custom_rule_provider: external declarative
// rules (regulatory, domain).
//
// CFA asks it once, when the worker starts, for rule files in the bundle's
// format (policy_type, rules with condition, action, severity, fault_code,
// and their tests) and a version for them.
//
// The core compiles them with the bundle's own loader (CEL, type-checked,
// cost-bounded, their tests run): a rule that does not compile stops the
// worker with its file and position. The rules join the bundle, and the
// provider's name and version join policy_bundle_version, so every
// signature records exactly which rules governed it (I8).
type RuleProvider interface {
	Name() string
	Version() string
	Rules(ctx context.Context) (fs.FS, error)
}

// ComplianceValidator is policy_engine.external_compliance_validator:
// validation against non-AI legacy systems.
//
// CFA gives it the signature the Policy Engine approved, with its
// execution_context, and the registry snapshot; it returns the faults that
// refuse the intent (none to let it go on). An error is retried by the
// activity's retry policy; the intent does not go on without an answer.
//
// The core blocks an intent with any fault returned (a POLICY_BLOCK event
// with those faults, decided by the policy_engine). On a copy of each
// fault it sets stage policy_engine and detected_before_execution, fills
// code (EXTERNAL_COMPLIANCE_REFUSED), family (semantic_faults), severity
// (high) and mandatory_action (block) when empty, and names the validator
// in the rule: "external_compliance_validator:NAME", followed by ":RULE"
// when the validator named one.
type ComplianceValidator interface {
	Name() string
	Validate(ctx context.Context, sig Signature, env EnvironmentState) ([]Fault, error)
}
