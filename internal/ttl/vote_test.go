package ttl_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/ttl"
)

func TestIntentCheckVote(t *testing.T) {
	t.Parallel()
	now := projected.Add(40 * day)
	state := env(
		ds("committed", registry.StateCommitted, now.Add(-day)),
		ds("stale", registry.StateStale, now.Add(-day)),
		ds("old_quarantine", registry.StateQuarantined, now.Add(-31*day)),
		ds("older_quarantine", registry.StateQuarantined, now.Add(-60*day)),
	)
	cases := []struct {
		name     string
		datasets []string
		blocked  bool
		reason   string
		codes    []string
	}{
		{"nothing to say", []string{"committed"}, false, "", nil},
		// Stale asks for hard confirmation, which is not a block.
		{"stale alone does not block", []string{"stale", "committed"}, false, "", nil},
		{"expired quarantine blocks", []string{"old_quarantine"}, true,
			"quarantine past its TTL awaits manual review: old_quarantine", []string{ttl.CodeManualReviewRequired}},
		{"only the manual review faults are kept", []string{"stale", "old_quarantine", "older_quarantine"}, true,
			"quarantine past its TTL awaits manual review: old_quarantine, older_quarantine",
			[]string{ttl.CodeManualReviewRequired, ttl.CodeManualReviewRequired}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ttl.CheckIntent(state, tc.datasets, now, nil, ttl.Default())
			require.NoError(t, err)
			v := c.Vote()
			if !tc.blocked {
				require.Nil(t, v)
				return
			}
			require.NotNil(t, v)
			require.Equal(t, decision.AuthorityPolicyEngine, v.Authority, "the Policy Engine owns the TTL policy's verdicts")
			require.Equal(t, decision.Blocked, v.Outcome)
			require.Equal(t, tc.reason, v.Reason)
			var codes []string
			for _, f := range v.Faults {
				codes = append(codes, f.Code)
				require.NotEqual(t, fault.CodeContextStateStale, f.Code)
			}
			require.Equal(t, tc.codes, codes)
		})
	}
}

func TestIntentCheckVoteFromAHandBuiltCheck(t *testing.T) {
	t.Parallel()
	stale := fault.Fault{Code: fault.CodeContextStateStale}
	review := fault.Fault{Code: ttl.CodeManualReviewRequired, Message: "b"}
	require.Nil(t, ttl.IntentCheck{HardConfirmation: []string{"a"}, Faults: []fault.Fault{stale}}.Vote(),
		"faults without a blocked dataset do not block")

	v := ttl.IntentCheck{Blocked: []string{"b"}, Faults: []fault.Fault{stale, review, stale}}.Vote()
	require.NotNil(t, v)
	require.Equal(t, []fault.Fault{review}, v.Faults)
	require.Equal(t, "quarantine past its TTL awaits manual review: b", v.Reason)
}
