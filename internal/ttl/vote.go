package ttl

import (
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Vote blocks an intent that depends on a dataset whose expired quarantine
// awaits manual review (block_dependent_intents); nil when none does. The
// Policy Engine owns the TTL policy's verdicts.
func (c IntentCheck) Vote() *decision.Vote {
	if len(c.Blocked) == 0 {
		return nil
	}
	var faults []fault.Fault
	for _, f := range c.Faults {
		if f.Code == CodeManualReviewRequired {
			faults = append(faults, f)
		}
	}
	return &decision.Vote{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Blocked, Faults: faults,
		Reason: "quarantine past its TTL awaits manual review: " + strings.Join(c.Blocked, ", ")}
}
