package resolution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
)

func TestUnresolvedVoteBlocksWithIntentUnresolved(t *testing.T) {
	t.Parallel()
	r := resolution.Resolve("make the numbers look better", shipped, registry.EnvironmentState{})
	require.False(t, r.Resolved)

	v := resolution.UnresolvedVote(r.Reason)
	require.Equal(t, decision.AuthorityIntentNormalizer, v.Authority)
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, r.Reason, v.Reason)
	require.Len(t, v.Faults, 1)
	f := v.Faults[0]
	require.Equal(t, fault.CodeIntentUnresolved, f.Code)
	require.Equal(t, fault.SemanticFaults, f.Family)
	require.Equal(t, fault.SeverityHigh, f.Severity)
	require.Equal(t, fault.StageIntentNormalizer, f.Stage)
	require.True(t, f.DetectedBeforeExecution)
	require.Equal(t, "block", f.MandatoryAction)
	require.Equal(t, r.Reason, f.Message, "the fault says why, in the normalizer's words")
	require.NotEmpty(t, f.Remediation)

	d, err := decision.Decide(decision.Input{Votes: []decision.Vote{v}})
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, d.State)
	require.Equal(t, string(decision.AuthorityIntentNormalizer), d.DecidedBy)
	require.Equal(t, []fault.Fault{f}, d.Faults)
}
