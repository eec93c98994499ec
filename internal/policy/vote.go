package policy

import (
	"slices"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Vote is the Policy Engine's vote for step 17 (ordered_authority, first):
// blocked, approved_with_warnings (the warnings' faults reach the decision,
// docs/adr/0098) or approved; a proposed replan (replan_mode propose) is
// by's replanned vote.
func (g Governance) Vote(by decision.Authority) decision.Vote {
	v := decision.Vote{Authority: by, Outcome: decision.Approved, Reason: g.Reason, Faults: g.Faults}
	switch {
	case g.Decision == decision.Blocked:
		v.Outcome = decision.Blocked
	case g.Decision == decision.Replanned:
		v.Outcome = decision.Replanned
	case len(g.Warnings) > 0:
		v.Outcome = decision.ApprovedWithWarnings
		v.Faults = append(v.Faults, g.Warnings...)
	}
	return v
}

// CostReplanVote is the vote of a governance run the Pre-cost Estimator's
// replan started, when that run ends the flow: a block is the Policy
// Engine's when a rule blocked the narrowed signature, else the
// estimator's (its intervention failed or the replans ran out); a proposed
// replan is the estimator's.
func (g Governance) CostReplanVote() decision.Vote {
	if g.Decision == decision.Blocked && g.Reason == ReasonPolicyBlock {
		return g.Vote(decision.AuthorityPolicyEngine)
	}
	return g.Vote(decision.AuthorityPreCostEstimator)
}

// CodeExternalComplianceRefused is the code of an external validator's
// fault that names none.
const CodeExternalComplianceRefused = "EXTERNAL_COMPLIANCE_REFUSED"

// ExternalRulePrefix names an external_compliance_validator as a fired rule.
const ExternalRulePrefix = "external_compliance_validator:"

// ExternalFault completes a fault an external_compliance_validator
// returned: a semantic fault of the policy_engine, detected before
// execution, that blocks, naming the validator as its rule.
func ExternalFault(validator string, f fault.Fault) fault.Fault {
	if f.Code == "" {
		f.Code = CodeExternalComplianceRefused
	}
	if f.Family == "" {
		f.Family = fault.SemanticFaults
	}
	if !f.Severity.Valid() {
		f.Severity = fault.SeverityHigh
	}
	f.Stage = fault.StagePolicyEngine
	f.DetectedBeforeExecution = true
	if f.MandatoryAction == "" {
		f.MandatoryAction = string(Block)
	}
	if f.Rule == "" {
		f.Rule = ExternalRulePrefix + validator
	} else {
		f.Rule = ExternalRulePrefix + validator + ":" + f.Rule
	}
	return f
}

// BlockedBy blocks an approved governance with an external validator's
// faults: its last attempt becomes a block that fired the validator, as a
// contract_enforcement rule (the validator enforces a contract kept outside
// the bundle).
func BlockedBy(g Governance, faults []fault.Fault) Governance {
	g.Decision, g.Reason = decision.Blocked, ReasonPolicyBlock
	g.Faults = append(slices.Clone(g.Faults), faults...)
	g.Warnings = nil
	if n := len(g.Attempts); n > 0 {
		g.Attempts = slices.Clone(g.Attempts) // g is the caller's: change copies
		ev := &g.Attempts[n-1].Evaluation
		ev.Outcome = Block
		ev.Faults = append(slices.Clone(ev.Faults), faults...)
		ev.Fired = slices.Clone(ev.Fired)
		for _, f := range faults {
			ev.Fired = append(ev.Fired, FiredRule{Name: f.Rule, PolicyType: ContractEnforcement, Action: Block, Severity: f.Severity, FaultCode: f.Code})
		}
	}
	return g
}
