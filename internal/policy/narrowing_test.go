package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// costCause is the fault the Pre-cost Estimator's force_replan_with_filter
// carries (precost.Evaluate).
var costCause = fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
	Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "replan",
	Rule: "threshold_policy: estimated_dbu > cost_ceiling_dbu", Message: "304 DBU over the 50 DBU ceiling"}

func TestGovernRecordsWhatEachReplanChanged(t *testing.T) {
	t.Parallel()
	// The whitepaper's signature needs anonymization, a merge key and a
	// temporal filter: one replan, by the Policy Engine's rules.
	g, err := policy.Govern(whitepaperSignature(), testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	require.Equal(t, decision.Approved, g.Decision, g.Reason)
	require.Len(t, g.Attempts, 2)
	require.Nil(t, g.Attempts[0].Replanned, "the governed input is no replan")
	r := g.Attempts[1].Replanned
	require.NotNil(t, r)
	require.Equal(t, 1, r.Replan)
	require.Equal(t, decision.AuthorityPolicyEngine, r.By)
	require.Contains(t, r.Cause, "finops_guard.require_temporal_filter_on_high_volume")
	require.Contains(t, r.Cause, "privacy_wall.")
	require.Empty(t, r.Changes, "it only added what the intent left to the defaults")
	require.Equal(t, []policy.Replanning{*r}, g.Replannings())
}

func TestReplanWithRecordsItsRequester(t *testing.T) {
	t.Parallel()
	sig := governedSignature() // last 30 days
	g, err := policy.ReplanWith(sig, []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 7}}, costCause, testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	require.Equal(t, decision.Approved, g.Decision)
	require.Equal(t, []policy.Replanning{{Replan: 1, By: decision.AuthorityPreCostEstimator, Cause: "pre_cost_estimator.threshold_policy",
		Changes: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeNarrowed, Before: "last 30 days", After: "last 7 days"}}}},
		g.Replannings())
	require.Equal(t, "pre_cost_estimator.PRE_COST_CEILING_EXCEEDED", requester(t, fault.Fault{Code: fault.CodePreCostCeilingExceeded, Stage: fault.StagePreCostEstimator}),
		"a cause without a rule is named by its code")
}

func requester(t *testing.T, cause fault.Fault) string {
	g, err := policy.ReplanWith(governedSignature(), []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 7}}, cause, testEnv(), testCatalog(), mustDefault(t))
	require.NoError(t, err)
	return g.Replannings()[0].Cause
}

func TestNarrowed(t *testing.T) {
	t.Parallel()
	window := func(days int) signature.Signature {
		s := governedSignature()
		s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: days}
		return s
	}
	narrow := func(from, to, replan int, by decision.Authority, cause string) policy.Replanning {
		return policy.Replanning{Replan: replan, By: by, Cause: cause, Changes: signature.Diff(window(from), window(to))}
	}
	policyRule := "finops_guard.require_temporal_filter_on_high_volume"
	threshold := "pre_cost_estimator.threshold_policy"
	cases := []struct {
		name     string
		asked    signature.Signature
		final    signature.Signature
		replans  []policy.Replanning
		warnings []string
		by       decision.Authority
	}{
		{name: "the user's 400 days cut to 60 by the cost replan", asked: window(400), final: window(60),
			replans: []policy.Replanning{
				{Replan: 1, By: decision.AuthorityPolicyEngine, Cause: "privacy_wall.require_anonymization"},
				narrow(400, 60, 2, decision.AuthorityPreCostEstimator, threshold),
			},
			warnings: []string{"temporal window narrowed by replan 2 (pre_cost_estimator.threshold_policy): last 400 days → last 60 days"},
			by:       decision.AuthorityPreCostEstimator},
		{name: "two replans cut it", asked: window(400), final: window(20),
			replans:  []policy.Replanning{narrow(400, 90, 1, decision.AuthorityPolicyEngine, policyRule), narrow(90, 20, 2, decision.AuthorityPreCostEstimator, threshold)},
			warnings: []string{"temporal window narrowed by replans 1 and 2 (" + policyRule + "; " + threshold + "): last 400 days → last 20 days"},
			by:       decision.AuthorityPolicyEngine},
		{name: "a window the user did not ask for is the policy's default, not a narrowing", asked: func() signature.Signature {
			s := governedSignature()
			s.Constraints.TemporalFilter = nil
			return s
		}(), final: window(8), replans: []policy.Replanning{narrow(30, 8, 2, decision.AuthorityPreCostEstimator, threshold)}},
		{name: "a replan that changed nothing asked", asked: window(30), final: func() signature.Signature {
			s := window(30)
			s.Replan = 1
			s.Constraints.Anonymize = append(s.Constraints.Anonymize, "nfe.cpf")
			return s
		}(), replans: []policy.Replanning{{Replan: 1, By: decision.AuthorityPolicyEngine, Cause: "privacy_wall.x"}}},
		{name: "a change no recorded replan explains is still named", asked: window(30), final: window(10),
			warnings: []string{"temporal window narrowed by a replan: last 30 days → last 10 days"}, by: decision.AuthorityPolicyEngine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns := policy.Narrowed(c.asked, c.final, c.replans)
			var got []string
			for _, n := range ns {
				got = append(got, n.Warning)
			}
			require.Equal(t, c.warnings, got)
			v, ok := policy.NarrowingVote(ns)
			require.Equal(t, len(c.warnings) > 0, ok)
			if !ok {
				return
			}
			require.Equal(t, decision.ApprovedWithWarnings, v.Outcome)
			require.Equal(t, c.by, v.Authority)
			require.Equal(t, policy.ReasonNarrowedByReplan, v.Reason)
			require.Len(t, v.Faults, len(c.warnings))
			for i, f := range v.Faults {
				require.Equal(t, policy.CodeIntentNarrowed, f.Code)
				require.Equal(t, policy.MandatoryNone, f.MandatoryAction)
				require.Equal(t, fault.SeverityLow, f.Severity)
				require.Equal(t, c.warnings[i], f.Message)
				require.NotEmpty(t, f.Remediation)
			}
		})
	}
}

func TestNarrowingShowsBeforeAndAfter(t *testing.T) {
	t.Parallel()
	asked := governedSignature()
	asked.Constraints.TemporalFilter.LastDays = 400
	final := asked.Clone()
	final.Constraints.TemporalFilter.LastDays = 60
	ns := policy.Narrowed(asked, final, nil)
	require.Len(t, ns, 1)
	require.Equal(t, signature.FieldTemporalWindow, ns[0].Field)
	require.Equal(t, "last 400 days", ns[0].Before)
	require.Equal(t, "last 60 days", ns[0].After)
	require.Equal(t, signature.ChangeNarrowed, ns[0].Change.Change)
}
