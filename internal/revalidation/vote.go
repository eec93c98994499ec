package revalidation

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// MaxReplansExceeded is the vote when a stale environment would need replan
// number next and the limit is limit: replan_policy.on_max_exceeded blocks
// (counts_as_replan_attempt: true). The remediation is the stale fault's.
func MaxReplansExceeded(next, limit int, r Result) decision.Vote {
	f := fault.Fault{Code: fault.CodeMaxReplanAttemptsExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageRevalidation, DetectedBeforeExecution: true, MandatoryAction: "block",
		Message: fmt.Sprintf("stale_environment_state needs replan %d, the limit is %d", next, limit)}
	if r.Fault != nil {
		f.Remediation = r.Fault.Remediation
	}
	return decision.Vote{Authority: decision.AuthorityRevalidation, Outcome: decision.Blocked,
		Reason: "max_replan_attempts_exceeded", Faults: []fault.Fault{f}}
}

// Summary says which versions moved, for a status line.
func (r Result) Summary() string {
	parts := make([]string, 0, len(r.Mismatches))
	for _, m := range r.Mismatches {
		parts = append(parts, fmt.Sprintf("%s %s → %s", m.Field, m.Signed, m.Current))
	}
	return strings.Join(parts, "; ")
}
