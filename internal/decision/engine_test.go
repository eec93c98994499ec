package decision

import (
	"testing"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/stretchr/testify/require"
)

func TestDecideStrictestOutcome(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		in        Input
		want      State
		decidedBy string
	}{
		{"policy approves alone", Input{Votes: []Vote{{Authority: AuthorityPolicyEngine, Outcome: Approved}}}, Approved, "policy_engine"},
		{"warnings beat approved", Input{Votes: []Vote{{Authority: AuthorityPolicyEngine, Outcome: Approved}, {Authority: AuthorityRuntimeValidation, Outcome: ApprovedWithWarnings}}}, ApprovedWithWarnings, "runtime_validation"},
		{"whitepaper: approved and runtime quarantine gives quarantine", Input{Votes: []Vote{{Authority: AuthorityPolicyEngine, Outcome: Approved}, {Authority: AuthorityRuntimeValidation, Outcome: Quarantined}}}, Quarantined, "runtime_validation"},
		{"whitepaper: replanned beats partially_committed", Input{Votes: []Vote{{Authority: AuthorityPartialFailurePolicy, Outcome: PartiallyCommitted}, {Authority: AuthorityPolicyEngine, Outcome: Replanned}}}, Replanned, "policy_engine"},
		{"blocked beats everything", Input{Votes: []Vote{{Authority: AuthorityRuntimeValidation, Outcome: Quarantined}, {Authority: AuthorityPolicyEngine, Outcome: Blocked}}}, Blocked, "policy_engine"},
		{"quarantined beats rolled_back", Input{Votes: []Vote{{Authority: AuthorityPartialFailurePolicy, Outcome: RolledBack}, {Authority: AuthorityRuntimeValidation, Outcome: Quarantined}}}, Quarantined, "runtime_validation"},
		{"rolled_back beats partially_committed", Input{Votes: []Vote{{Authority: AuthorityPartialFailurePolicy, Outcome: PartiallyCommitted}, {Authority: AuthorityRuntimeValidation, Outcome: RolledBack}}}, RolledBack, "runtime_validation"},
		{"tie goes to the earlier authority", Input{Votes: []Vote{{Authority: AuthorityRuntimeValidation, Outcome: Approved}, {Authority: AuthorityPolicyEngine, Outcome: Approved}}}, Approved, "policy_engine"},
		{"invariant veto overrides approvals", Input{
			InvariantViolations: []Violation{{Invariant: "I7", Forces: Blocked, Fault: fault.Fault{Code: "X", Message: "publish of partially_committed"}}},
			Votes:               []Vote{{Authority: AuthorityPolicyEngine, Outcome: Approved}},
		}, Blocked, "invariant:I7"},
		{"strictest veto wins", Input{InvariantViolations: []Violation{
			{Invariant: "I4", Forces: Quarantined}, {Invariant: "I6", Forces: Blocked},
		}}, Blocked, "invariant:I6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decide(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, d.State)
			require.Equal(t, tc.decidedBy, d.DecidedBy)
		})
	}
}

func TestDecideRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, err := Decide(Input{})
	require.ErrorContains(t, err, "no authority voted")
	_, err = Decide(Input{Votes: []Vote{{Authority: AuthorityPolicyEngine, Outcome: "maybe"}}})
	require.ErrorContains(t, err, "not a decision_state")
	_, err = Decide(Input{Votes: []Vote{{Authority: "oracle", Outcome: Approved}}})
	require.ErrorContains(t, err, "not an ordered authority")
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, s := range States {
		got, err := Parse(string(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	_, err := Parse("done")
	require.ErrorContains(t, err, "closed enum")
}

func TestSucceeded(t *testing.T) {
	t.Parallel()
	want := map[State]bool{
		Approved: true, ApprovedWithWarnings: true, PromotionCandidate: true,
		Replanned: false, Blocked: false, PartiallyCommitted: false,
		Quarantined: false, RolledBack: false,
	}
	require.Len(t, want, len(States), "every state has an expectation")
	for _, s := range States {
		require.Equal(t, want[s], Succeeded(s), s)
	}
}

func TestInterruptedVoteBlocksWithTheStage(t *testing.T) {
	cases := []struct {
		name string
		in   Interruption
		code string
	}{
		{"outage", Interruption{Stage: "state_projection", Cause: "connection refused"}, fault.CodeStageInterrupted},
		{"cancelled", Interruption{Stage: "execution", Cause: "canceled", Cancelled: true}, fault.CodeIntentCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			approve := Vote{Authority: AuthorityPolicyEngine, Outcome: Approved}
			d, err := Decide(Input{Votes: []Vote{approve, InterruptedVote(c.in)}})
			require.NoError(t, err)
			require.Equal(t, Blocked, d.State)
			require.Equal(t, string(AuthoritySandboxMonitor), d.DecidedBy)
			require.Len(t, d.Faults, 1)
			require.Equal(t, c.code, d.Faults[0].Code)
			require.Equal(t, fault.Stage(c.in.Stage), d.Faults[0].Stage)
			require.Contains(t, d.Reason, c.in.Stage)
		})
	}
}
