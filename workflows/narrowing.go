package workflows

import (
	"slices"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// Nothing narrowed silently (docs/adr/0136): the signature step 6 signs
// first is what the user asked; the replans of the Policy Engine and the
// Pre-cost Estimator are compared with it when a human is asked after
// them and at the decision.

// remember keeps the first signature signed: the confirmed one. A
// signature signed again (a stale environment) is a replan of it.
func (f *intentFlow) remember(signed signature.Signature) {
	if f.asked == nil {
		f.asked = &signed
	}
}

// narrowing is what the replans so far changed of what the user asked,
// each change with the replans that made it; nil before any signing.
func (f *intentFlow) narrowing() []policy.Narrowing {
	if f.asked == nil {
		return nil
	}
	var replans []policy.Replanning
	for _, at := range f.result.PolicyAttempts {
		if at.Replanned != nil {
			replans = append(replans, *at.Replanned)
		}
	}
	return policy.Narrowed(*f.asked, f.signed.Signature, replans)
}

// withNarrowing adds the narrowing vote to the votes the Decision Engine
// weighs: an approved intent whose replans changed what was asked is
// approved_with_warnings, each change named.
func (f *intentFlow) withNarrowing(votes []decision.Vote) []decision.Vote {
	v, ok := policy.NarrowingVote(f.narrowing())
	if !ok {
		return votes
	}
	return append(slices.Clone(votes), v)
}
