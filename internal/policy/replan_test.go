package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestReplanWith(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	cause := fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "replan",
		Message: "120 DBU over the 50 DBU ceiling", Remediation: []string{"add a temporal filter"}}
	filter := []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 7}}
	cases := []struct {
		name       string
		sig        func() signature.Signature
		ivs        []policy.Intervention
		state      decision.State
		reason     string
		code       string
		lastDays   int
		replanned  int
		remediates string
	}{
		{name: "narrows a relative window and re-governs", sig: governedSignature, ivs: filter,
			state: decision.Approved, reason: policy.ReasonApproved, lastDays: 7, replanned: 1},
		{name: "no high_volume source: the largest partitioned source is bounded", sig: func() signature.Signature {
			s := governedSignature()
			s.Datasets = []signature.Dataset{
				{Name: "nfe_reconciliada", Role: signature.RoleSource, Layer: "silver", Classification: "internal", PartitionKey: "processing_date", MergeKey: "nfe_id"},
				{Name: "clientes", Role: signature.RoleTarget, Layer: "bronze", Classification: "sensitive", MergeKey: "cliente_id"},
			}
			s.Constraints.TemporalFilter = nil
			return s
		}, ivs: filter, lastDays: 7,
			// The fixture's only other dataset is bronze, so the re-governed
			// signature is blocked by forbid_write_to_bronze, with the filter.
			state: decision.Blocked, reason: policy.ReasonPolicyBlock},
		{name: "counts toward the limit", sig: func() signature.Signature { s := governedSignature(); s.Replan = 3; return s }, ivs: filter,
			state: decision.Blocked, reason: policy.ReasonMaxReplanAttemptsExceeded, code: fault.CodeMaxReplanAttemptsExceeded, lastDays: 30, replanned: 3},
		{name: "an explicit range is not narrowed: block, do not loop", sig: func() signature.Signature {
			s := governedSignature()
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"}
			return s
		}, ivs: filter, state: decision.Blocked, reason: policy.ReasonReplanIneffective, code: fault.CodePreCostCeilingExceeded,
			remediates: "narrow the explicit date range"},
		{name: "a failing intervention blocks with the cause", sig: func() signature.Signature {
			s := governedSignature()
			s.Datasets[0].Name = "ghost"
			return s
		}, ivs: filter, state: decision.Blocked, reason: policy.ReasonInterventionFailed, code: fault.CodePreCostCeilingExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g, err := policy.ReplanWith(c.sig(), c.ivs, cause, testEnv(), testCatalog(), b)
			require.NoError(t, err)
			require.Equal(t, c.state, g.Decision)
			require.Equal(t, c.reason, g.Reason)
			// Propose blocks on the same grounds before governing; where
			// the replan is made, it ends the cycle ungoverned.
			p, err := policy.ProposeWith(c.sig(), c.ivs, cause, testEnv(), testCatalog(), b)
			require.NoError(t, err)
			if c.reason == policy.ReasonApproved || c.reason == policy.ReasonPolicyBlock {
				require.Equal(t, decision.Replanned, p.Decision)
				require.Equal(t, policy.ReasonReplanProposed, p.Reason)
				require.Equal(t, []fault.Fault{cause}, p.Faults)
				require.Equal(t, c.lastDays, p.Final.Constraints.TemporalFilter.LastDays)
				require.Equal(t, c.sig().Replan+1, p.Final.Replan)
				h, err := p.Final.Hash()
				require.NoError(t, err)
				require.Equal(t, h, p.FinalHash)
			} else {
				require.Equal(t, g.Decision, p.Decision)
				require.Equal(t, g.Reason, p.Reason)
				require.Equal(t, g.Faults, p.Faults)
			}
			if c.code != "" {
				require.Len(t, g.Faults, 1)
				require.Equal(t, c.code, g.Faults[0].Code)
				require.Equal(t, policy.MandatoryBlock, g.Faults[0].MandatoryAction)
				require.Equal(t, fault.StagePreCostEstimator, g.Faults[0].Stage)
			}
			if c.lastDays > 0 {
				require.Equal(t, c.lastDays, g.Final.Constraints.TemporalFilter.LastDays)
			}
			if c.state != decision.Blocked {
				require.Equal(t, c.replanned, g.Final.Replan)
				h, err := g.Final.Hash()
				require.NoError(t, err)
				require.Equal(t, h, g.FinalHash)
			}
			if c.remediates != "" {
				require.Contains(t, g.Faults[0].Remediation[0], c.remediates)
			}
		})
	}
}

func TestReplanWithNilBundle(t *testing.T) {
	t.Parallel()
	_, err := policy.ReplanWith(governedSignature(), nil, fault.Fault{}, testEnv(), testCatalog(), nil)
	require.ErrorContains(t, err, "policy bundle is nil")
}
