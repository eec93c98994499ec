package decision_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

func TestConsolidate(t *testing.T) {
	t.Parallel()
	f := fault.Fault{Code: "CONTRACT_WRITE_OUTSIDE_LAYER"}
	cases := []struct {
		name  string
		subs  []decision.SubDecision
		state decision.State
		by    string
	}{
		{"all approved", []decision.SubDecision{{ID: "b", State: decision.Approved}, {ID: "a", State: decision.Approved}},
			decision.Approved, "sub_intents"},
		{"warnings beat approved", []decision.SubDecision{{ID: "a", State: decision.Approved}, {ID: "b", State: decision.ApprovedWithWarnings}},
			decision.ApprovedWithWarnings, "sub_intent:b"},
		{"a blocked branch blocks the composite", []decision.SubDecision{{ID: "a", State: decision.Approved}, {ID: "c", State: decision.Blocked, Faults: []fault.Fault{f}}, {ID: "b", State: decision.Approved}},
			decision.Blocked, "sub_intent:c"},
		{"a skipped sub-intent counts as blocked", []decision.SubDecision{{ID: "z", State: decision.ApprovedWithWarnings}, {ID: "y", Skipped: true, Reason: "dependency x failed"}},
			decision.Blocked, "sub_intent:y"},
		{"ties go to the first id", []decision.SubDecision{{ID: "d", State: decision.Blocked}, {ID: "c", State: decision.Blocked}},
			decision.Blocked, "sub_intent:c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := decision.Consolidate(c.subs)
			require.NoError(t, err)
			require.Equal(t, c.state, d.State)
			require.Equal(t, c.by, d.DecidedBy)
			require.NotEmpty(t, d.Reason)
		})
	}
	_, err := decision.Consolidate(nil)
	require.Error(t, err)
	_, err = decision.Consolidate([]decision.SubDecision{{ID: "a", State: "fine"}})
	require.ErrorContains(t, err, "not a decision_state")
}

func TestAuthoritiesInFlowOrder(t *testing.T) {
	t.Parallel()
	// Steps 8–10 vote after the policy engine and before anything runs: on a
	// tie the earlier stage is reported, a stricter later one still wins.
	d, err := decision.Decide(decision.Input{Votes: []decision.Vote{
		{Authority: decision.AuthorityStaticValidation, Outcome: decision.Blocked, Reason: "static"},
		{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Blocked, Reason: "cost"},
		{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved},
	}})
	require.NoError(t, err)
	require.Equal(t, "pre_cost_estimator", d.DecidedBy)
	d, err = decision.Decide(decision.Input{Votes: []decision.Vote{
		{Authority: decision.AuthorityPolicyEngine, Outcome: decision.ApprovedWithWarnings},
		{Authority: decision.AuthorityExecutionPlanner, Outcome: decision.Approved},
		{Authority: decision.AuthorityStaticValidation, Outcome: decision.Blocked, Reason: "cross_join"},
	}})
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, d.State)
	require.Equal(t, "static_validation", d.DecidedBy)
}

func TestDecidedNamesTheSubIntentAndItsReason(t *testing.T) {
	sd := decision.Decided("ingest", decision.Blocked, "policy_block", nil)
	require.Equal(t, "ingest", sd.ID)
	require.Equal(t, decision.Blocked, sd.State)
	require.False(t, sd.Skipped)
	require.Equal(t, "sub-intent ingest: blocked (policy_block)", sd.Reason)
}
