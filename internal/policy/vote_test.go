package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

func governed(t *testing.T, edit func(*signature.Signature)) policy.Governance {
	t.Helper()
	sig := governedSignature()
	edit(&sig)
	g, err := policy.Govern(sig, testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	return g
}

func faultCodes(fs []fault.Fault) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func TestGovernanceVote(t *testing.T) {
	t.Parallel()
	proposed, err := policy.Propose(whitepaperSignature(), testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	require.Equal(t, decision.Replanned, proposed.Decision, "fixture")

	cases := []struct {
		name    string
		g       policy.Governance
		outcome decision.State
		codes   []string
	}{
		{"approved", governed(t, func(*signature.Signature) {}), decision.Approved, nil},
		{"warnings reach the decision", governed(t, func(s *signature.Signature) { s.Constraints.EnforceTypes = false }),
			decision.ApprovedWithWarnings, []string{"CONTRACT_TYPES_NOT_ENFORCED"}},
		{"blocked with the rule's fault", governed(t, func(s *signature.Signature) { s.DeclaredImports = []string{"requests"} }),
			decision.Blocked, []string{"SAFETY_FORBIDDEN_IMPORT"}},
		{"a proposed replan is replanned", proposed, decision.Replanned, faultCodes(proposed.Faults)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, by := range []decision.Authority{decision.AuthorityPolicyEngine, decision.AuthorityPreCostEstimator} {
				v := tc.g.Vote(by)
				require.Equal(t, by, v.Authority)
				require.Equal(t, tc.outcome, v.Outcome)
				require.Equal(t, tc.g.Reason, v.Reason)
				require.Equal(t, tc.codes, faultCodes(v.Faults))
			}
		})
	}
	require.NotEmpty(t, cases[3].codes, "fixture: a proposal carries the replan's faults")
}

// TestGovernanceVoteBlockIgnoresWarnings: a block is decided by its faults;
// warnings of an earlier attempt are not added to them.
func TestGovernanceVoteBlockIgnoresWarnings(t *testing.T) {
	t.Parallel()
	g := policy.Governance{Decision: decision.Blocked, Reason: policy.ReasonPolicyBlock,
		Faults: []fault.Fault{{Code: "A"}}, Warnings: []fault.Fault{{Code: "W"}}}
	v := g.Vote(decision.AuthorityPolicyEngine)
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, []string{"A"}, faultCodes(v.Faults))

	g = policy.Governance{Decision: decision.Approved, Reason: policy.ReasonApproved}
	require.Equal(t, decision.Approved, g.Vote(decision.AuthorityPolicyEngine).Outcome)
	require.Empty(t, g.Vote(decision.AuthorityPolicyEngine).Faults)
}

func TestCostReplanVote(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	cause := fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "replan",
		Message: "120 DBU over the 50 DBU ceiling"}
	filter := []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 7}}
	atLimit := governedSignature()
	atLimit.Replan = b.MaxReplanAttempts
	explicit := governedSignature()
	explicit.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"}
	blockedByRule := governedSignature()
	blockedByRule.DeclaredImports = []string{"requests"}

	cases := []struct {
		name    string
		sig     signature.Signature
		propose bool
		reason  string
		outcome decision.State
		by      decision.Authority
	}{
		{"a rule blocks the narrowed signature: the Policy Engine's block", blockedByRule, false,
			policy.ReasonPolicyBlock, decision.Blocked, decision.AuthorityPolicyEngine},
		{"the replans ran out: the estimator's block", atLimit, false,
			policy.ReasonMaxReplanAttemptsExceeded, decision.Blocked, decision.AuthorityPreCostEstimator},
		{"the filter cannot narrow: the estimator's block", explicit, false,
			policy.ReasonReplanIneffective, decision.Blocked, decision.AuthorityPreCostEstimator},
		{"a proposed replan is the estimator's", governedSignature(), true,
			policy.ReasonReplanProposed, decision.Replanned, decision.AuthorityPreCostEstimator},
		{"an approved replan is the estimator's approval", governedSignature(), false,
			policy.ReasonApproved, decision.Approved, decision.AuthorityPreCostEstimator},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			replan := policy.ReplanWith
			if tc.propose {
				replan = policy.ProposeWith
			}
			g, err := replan(tc.sig, filter, cause, testEnv(), testCatalog(), b)
			require.NoError(t, err)
			require.Equal(t, tc.reason, g.Reason, "fixture")
			v := g.CostReplanVote()
			require.Equal(t, tc.by, v.Authority)
			require.Equal(t, tc.outcome, v.Outcome)
			require.Equal(t, g.Reason, v.Reason)
			if tc.outcome == decision.Blocked {
				require.Equal(t, g.Faults, v.Faults)
			}
		})
	}
}

func TestExternalFault(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   fault.Fault
		want fault.Fault
	}{
		{"an empty fault gets every default", fault.Fault{},
			fault.Fault{Code: policy.CodeExternalComplianceRefused, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
				Stage: fault.StagePolicyEngine, DetectedBeforeExecution: true, MandatoryAction: "block",
				Rule: "external_compliance_validator:legacy_erp"}},
		{"the validator's own fields are kept, the validator and its rule named",
			fault.Fault{Code: "FISCAL_EMBARGO", Family: fault.EnvironmentalFaults, Severity: fault.SeverityCritical,
				MandatoryAction: "quarantine", Rule: "embargo_list", Message: "nfe is embargoed", Remediation: []string{"ask fiscal"}},
			fault.Fault{Code: "FISCAL_EMBARGO", Family: fault.EnvironmentalFaults, Severity: fault.SeverityCritical,
				Stage: fault.StagePolicyEngine, DetectedBeforeExecution: true, MandatoryAction: "quarantine",
				Rule: "external_compliance_validator:legacy_erp:embargo_list", Message: "nfe is embargoed", Remediation: []string{"ask fiscal"}}},
		{"stage and detection are always the core's; an unknown severity is high",
			fault.Fault{Code: "X", Severity: "urgent", Stage: fault.StageExecution, DetectedBeforeExecution: false},
			fault.Fault{Code: "X", Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
				Stage: fault.StagePolicyEngine, DetectedBeforeExecution: true, MandatoryAction: "block",
				Rule: "external_compliance_validator:legacy_erp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, policy.ExternalFault("legacy_erp", tc.in))
		})
	}
}

func TestBlockedByTurnsTheLastAttemptIntoABlock(t *testing.T) {
	t.Parallel()
	// Replanned once, then approved with a warning: two attempts.
	sig := whitepaperSignature()
	sig.Constraints.EnforceTypes = false
	g, err := policy.Govern(sig, testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	require.Equal(t, decision.ApprovedWithWarnings, g.Decision, "fixture")
	require.Len(t, g.Attempts, 2, "fixture")
	firstBefore := g.Attempts[0].Evaluation
	lastFired := len(g.Attempts[1].Evaluation.Fired)
	lastFaults := len(g.Attempts[1].Evaluation.Faults)

	external := []fault.Fault{
		policy.ExternalFault("legacy_erp", fault.Fault{Code: "FISCAL_EMBARGO", Rule: "embargo_list", Severity: fault.SeverityCritical}),
		policy.ExternalFault("legacy_erp", fault.Fault{}),
	}
	b := policy.BlockedBy(g, external)

	require.Equal(t, decision.Blocked, b.Decision)
	require.Equal(t, policy.ReasonPolicyBlock, b.Reason)
	require.Equal(t, external, b.Faults)
	require.Nil(t, b.Warnings, "a blocked intent has no warnings")
	require.Equal(t, g.Final, b.Final, "the signature is what was governed")
	require.Equal(t, g.FinalHash, b.FinalHash)
	require.Len(t, b.Attempts, 2, "no attempt is added")
	require.Equal(t, firstBefore, b.Attempts[0].Evaluation, "earlier attempts are history")

	last := b.Attempts[1].Evaluation
	require.Equal(t, policy.Block, last.Outcome)
	require.Len(t, last.Faults, lastFaults+2)
	require.Equal(t, external, last.Faults[lastFaults:])
	require.Len(t, last.Fired, lastFired+2)
	require.Equal(t, []policy.FiredRule{
		{Name: "external_compliance_validator:legacy_erp:embargo_list", PolicyType: policy.ContractEnforcement, Action: policy.Block,
			Severity: fault.SeverityCritical, FaultCode: "FISCAL_EMBARGO"},
		{Name: "external_compliance_validator:legacy_erp", PolicyType: policy.ContractEnforcement, Action: policy.Block,
			Severity: fault.SeverityHigh, FaultCode: policy.CodeExternalComplianceRefused},
	}, last.Fired[lastFired:])

	v := b.Vote(decision.AuthorityPolicyEngine)
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, []string{"FISCAL_EMBARGO", policy.CodeExternalComplianceRefused}, faultCodes(v.Faults),
		"the dropped warning does not reach the decision")
}

func TestBlockedByWithoutAttempts(t *testing.T) {
	t.Parallel()
	f := policy.ExternalFault("v", fault.Fault{})
	b := policy.BlockedBy(policy.Governance{Decision: decision.Approved, Reason: policy.ReasonApproved, Faults: []fault.Fault{{Code: "EARLIER"}}}, []fault.Fault{f})
	require.Equal(t, decision.Blocked, b.Decision)
	require.Equal(t, policy.ReasonPolicyBlock, b.Reason)
	require.Equal(t, []string{"EARLIER", policy.CodeExternalComplianceRefused}, faultCodes(b.Faults), "added to the faults already there")
	require.Empty(t, b.Attempts)
}

func TestBlockedByLeavesItsInputUnchanged(t *testing.T) {
	t.Parallel()
	g := governed(t, func(*signature.Signature) {})
	require.Equal(t, decision.Approved, g.Decision, "fixture")
	before := g.Attempts[len(g.Attempts)-1].Evaluation
	before.Fired = append([]policy.FiredRule(nil), before.Fired...)
	before.Faults = append([]fault.Fault(nil), before.Faults...)

	b := policy.BlockedBy(g, []fault.Fault{policy.ExternalFault("legacy_erp", fault.Fault{})})
	require.Equal(t, policy.Block, b.Attempts[len(b.Attempts)-1].Evaluation.Outcome, "fixture")

	after := g.Attempts[len(g.Attempts)-1].Evaluation
	require.Equal(t, decision.Approved, g.Decision)
	require.Equal(t, before.Outcome, after.Outcome, "the governance passed in still approves its last attempt")
	require.Equal(t, before.Fired, after.Fired)
}
