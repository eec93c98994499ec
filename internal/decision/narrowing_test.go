package decision_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// ingestNFE is "ingest nfe into silver_documentos", with the window the
// user stated (nil: none), as the Normalizer resolves it.
func ingestNFE(window *signature.TemporalFilter) signature.Signature {
	return signature.Signature{
		Domain: "fiscal", Intent: "ingest_persist_silver", SourceType: "nested_json", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpIngest},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, Layer: "bronze", Size: "4TB", SizeBytes: 4 << 40, Classification: "high_volume",
				SourceType: "nested_json", PII: []string{"cpf"}, PartitionKey: "processing_date", MergeKey: "nfe_id"},
			{Name: "silver_documentos", Role: signature.RoleTarget, Layer: "silver", Size: "1TB", SizeBytes: 1 << 40, Classification: "internal",
				SourceType: "delta", PartitionKey: "processing_date", MergeKey: "nfe_id"},
		},
		Constraints: signature.Constraints{NoPIIRaw: true, MergeKeyRequired: true, EnforceTypes: true, PartitionBy: []string{"processing_date"},
			TemporalFilter: window},
	}
}

// TestANarrowingReplanIsApprovedWithWarnings runs the shipped bundle's
// replans over the shipped catalog as steps 7 and 8 do (the Policy
// Engine's loop, then the Pre-cost Estimator's filter as one more replan)
// and hands the Decision Engine the votes the workflow casts: the user's
// own window cut by a replan is approved_with_warnings, naming the cut; a
// replan that only adds what the user left to the defaults stays approved.
func TestANarrowingReplanIsApprovedWithWarnings(t *testing.T) {
	t.Parallel()
	b, err := policy.Default()
	require.NoError(t, err)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	env := registry.EnvironmentState{VersionID: "v1"}
	cost := fault.Fault{Code: fault.CodePreCostCeilingExceeded, Stage: fault.StagePreCostEstimator, MandatoryAction: "replan",
		Rule: "threshold_policy: estimated_dbu > cost_ceiling_dbu", Message: "over the ceiling"}
	cases := []struct {
		name     string
		asked    *signature.TemporalFilter
		hint     int // the Pre-cost Estimator's filter; 0: no cost replan
		state    decision.State
		by       decision.Authority
		warnings []string
	}{
		{name: "the user's last 400 days cut to 60 by the cost replan", asked: &signature.TemporalFilter{Column: "processing_date", LastDays: 400}, hint: 60,
			state: decision.ApprovedWithWarnings, by: decision.AuthorityPreCostEstimator,
			warnings: []string{"temporal window narrowed by replan 2 (pre_cost_estimator.threshold_policy): last 400 days → last 60 days"}},
		{name: "no window asked: the FinOps default and its cut narrow nothing the user said", hint: 8,
			state: decision.Approved, by: decision.AuthorityPolicyEngine},
		{name: "replans that only add treatments (anonymization, merge key) stay approved", asked: &signature.TemporalFilter{Column: "processing_date", LastDays: 7},
			state: decision.Approved, by: decision.AuthorityPolicyEngine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			asked := ingestNFE(c.asked)
			g, err := policy.Govern(asked, env, cat, b) // step 7
			require.NoError(t, err)
			require.Equal(t, decision.Approved, g.Decision, g.Reason)
			require.Equal(t, 1, g.Final.Replan, "the Policy Engine replanned it")
			votes := []decision.Vote{g.Vote(decision.AuthorityPolicyEngine)}
			replans := g.Replannings()
			final := g.Final
			if c.hint > 0 { // step 8
				r, err := policy.ReplanWith(final, []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: c.hint}}, cost, env, cat, b)
				require.NoError(t, err)
				require.Equal(t, decision.Approved, r.Decision, r.Reason)
				replans, final = append(replans, r.Replannings()...), r.Final
			}
			votes = append(votes, decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Approved, Reason: "within_budget"})
			if v, ok := policy.NarrowingVote(policy.Narrowed(asked, final, replans)); ok {
				votes = append(votes, v)
			}
			d, err := decision.Decide(decision.Input{Votes: votes})
			require.NoError(t, err)
			require.Equal(t, c.state, d.State)
			require.Equal(t, string(c.by), d.DecidedBy)
			require.Equal(t, c.warnings, d.Warnings)
			for _, f := range d.Faults {
				require.Equal(t, policy.CodeIntentNarrowed, f.Code, "the only faults are the narrowings")
			}
		})
	}
}

func TestDecideListsWarnings(t *testing.T) {
	t.Parallel()
	narrowed := decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.ApprovedWithWarnings, Reason: policy.ReasonNarrowedByReplan,
		Faults: []fault.Fault{{Code: policy.CodeIntentNarrowed, Message: "temporal window narrowed by replan 2: last 400 days → last 60 days"}}}
	advisory := decision.Vote{Authority: decision.AuthorityPolicyEngine, Outcome: decision.ApprovedWithWarnings, Reason: "approved_with_warnings",
		Faults: []fault.Fault{{Code: "FINOPS_LARGE_SHUFFLE_JOIN"}}}
	approve := decision.Vote{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved}
	block := decision.Vote{Authority: decision.AuthorityStaticValidation, Outcome: decision.Blocked, Faults: []fault.Fault{{Code: "STATIC_X", Message: "not a warning"}}}
	cases := []struct {
		name     string
		votes    []decision.Vote
		state    decision.State
		by       decision.Authority
		warnings []string
	}{
		{"approved: no warnings", []decision.Vote{approve}, decision.Approved, decision.AuthorityPolicyEngine, nil},
		{"a narrowing warns", []decision.Vote{approve, narrowed}, decision.ApprovedWithWarnings, decision.AuthorityPreCostEstimator,
			[]string{"temporal window narrowed by replan 2: last 400 days → last 60 days"}},
		{"warnings in ordered_authority order; a tie goes to the earlier authority", []decision.Vote{narrowed, advisory}, decision.ApprovedWithWarnings, decision.AuthorityPolicyEngine,
			[]string{"FINOPS_LARGE_SHUFFLE_JOIN", "temporal window narrowed by replan 2: last 400 days → last 60 days"}},
		{"a stricter outcome still lists what was narrowed", []decision.Vote{approve, narrowed, block}, decision.Blocked, decision.AuthorityStaticValidation,
			[]string{"temporal window narrowed by replan 2: last 400 days → last 60 days"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := decision.Decide(decision.Input{Votes: c.votes})
			require.NoError(t, err)
			require.Equal(t, c.state, d.State)
			require.Equal(t, string(c.by), d.DecidedBy)
			require.Equal(t, c.warnings, d.Warnings)
		})
	}
}
