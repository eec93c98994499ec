package staticcheck

import (
	"fmt"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Vote is Static Validation's vote on the code whose hash is codeHash:
// approved when it passed, else blocked with every violation's fault (I6).
func (r Report) Vote(codeHash string) decision.Vote {
	if r.Passed || len(r.Violations) == 0 {
		return decision.Vote{Authority: decision.AuthorityStaticValidation, Outcome: decision.Approved, Reason: "code " + codeHash + " passed"}
	}
	faults := make([]fault.Fault, len(r.Violations))
	for i, v := range r.Violations {
		faults[i] = v.Fault
	}
	return decision.Vote{Authority: decision.AuthorityStaticValidation, Outcome: decision.Blocked, Faults: faults,
		Reason: fmt.Sprintf("static validation: %s", r.Violations[0].Message)}
}

// Violated lists the rules the report names, in order.
func (r Report) Violated() []string {
	out := make([]string, 0, len(r.Violations))
	for _, v := range r.Violations {
		out = append(out, string(v.Rule))
	}
	return out
}
