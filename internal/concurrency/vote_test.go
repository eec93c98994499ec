package concurrency_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

func TestConflictVoteBlocksNamingTheHolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		holders []string
		reason  string
	}{
		{"one holder", []string{"intent-a"}, "target scope held by intent-a and conflict_resolution is reject"},
		{"holders in the order given", []string{"intent-b", "intent-a"}, "target scope held by intent-b, intent-a and conflict_resolution is reject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := concurrency.ConflictVote(tc.holders)
			require.Equal(t, decision.AuthorityConcurrencyControl, v.Authority)
			require.Equal(t, decision.Blocked, v.Outcome)
			require.Equal(t, tc.reason, v.Reason)
			require.Len(t, v.Faults, 1)
			f := v.Faults[0]
			require.Equal(t, fault.CodeScopeLockConflict, f.Code)
			require.Equal(t, fault.SemanticFaults, f.Family)
			require.Equal(t, fault.SeverityMedium, f.Severity)
			require.Equal(t, fault.StageExecution, f.Stage)
			require.True(t, f.DetectedBeforeExecution, "the second intent is blocked before it runs")
			require.Equal(t, "block", f.MandatoryAction)
			require.Equal(t, tc.reason, f.Message)
			require.NotEmpty(t, f.Remediation)
		})
	}
}

// TestConflictVoteWinsOverAnApprovedPolicy: section 10's "the second intent
// receives blocked immediately", whatever the Policy Engine said.
func TestConflictVoteWinsOverAnApprovedPolicy(t *testing.T) {
	t.Parallel()
	d, err := decision.Decide(decision.Input{Votes: []decision.Vote{
		{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved},
		concurrency.ConflictVote([]string{"intent-a"}),
	}})
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, d.State)
	require.Equal(t, string(decision.AuthorityConcurrencyControl), d.DecidedBy)
	require.Equal(t, fault.CodeScopeLockConflict, d.Faults[0].Code)
}
