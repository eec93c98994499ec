package confirmation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

func TestProceeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		outcome confirmation.Outcome
		goesOn  bool
	}{
		{confirmation.OutcomeNotRequired, true},
		{confirmation.OutcomeProceeded, true},
		{confirmation.OutcomeApproved, true},
		{confirmation.OutcomeRejected, false},
		{confirmation.OutcomeTimeout, false},
		{confirmation.OutcomeCancelled, false},
		{"", false},
		{"maybe", false},
	}
	for _, tc := range tests {
		t.Run("outcome_"+tc.outcome, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.goesOn, confirmation.Proceeds(tc.outcome))
		})
	}
}

func TestBlockVoteCodePerOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		outcome confirmation.Outcome
		reason  string
		code    string
		why     string
	}{
		{confirmation.OutcomeRejected, "wrong target", fault.CodeHumanConfirmationRejected, "human_confirmation_rejected: wrong target"},
		// The approver's reason does not replace the timeout's or the
		// cancellation's own reason.
		{confirmation.OutcomeTimeout, "ignored", fault.CodeHumanEscalationTimeout, confirmation.ReasonTimeout},
		{confirmation.OutcomeCancelled, "ignored", fault.CodeIntentCancelled, confirmation.ReasonCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.outcome, func(t *testing.T) {
			t.Parallel()
			v := confirmation.BlockVote(tc.outcome, tc.reason)
			require.Equal(t, decision.AuthorityConfirmation, v.Authority)
			require.Equal(t, decision.Blocked, v.Outcome)
			require.Equal(t, tc.why, v.Reason)
			require.Len(t, v.Faults, 1)
			f := v.Faults[0]
			require.Equal(t, tc.code, f.Code)
			require.Equal(t, tc.why, f.Message)
			require.Equal(t, fault.SemanticFaults, f.Family)
			require.Equal(t, fault.SeverityHigh, f.Severity)
			require.Equal(t, fault.StageConfirmation, f.Stage)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, "block", f.MandatoryAction)
			require.NotEmpty(t, f.Remediation)

			d, err := decision.Decide(decision.Input{Votes: []decision.Vote{v}})
			require.NoError(t, err)
			require.Equal(t, decision.Blocked, d.State)
			require.Equal(t, string(decision.AuthorityConfirmation), d.DecidedBy)
		})
	}
}

func TestTimeoutReasonsAgree(t *testing.T) {
	t.Parallel()
	// fallback_on_timeout.reason is recorded by the vote and by the policy.
	require.Equal(t, confirmation.TimeoutReason, confirmation.ReasonTimeout)
	require.Equal(t, "human_confirmation_timeout", confirmation.BlockVote(confirmation.OutcomeTimeout, "").Reason)
}
