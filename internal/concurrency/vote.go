package concurrency

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// ConflictVote blocks an intent whose target scope others hold or wait for
// when conflict_resolution is reject: "the second intent receives blocked
// immediately" (section 10), at step 3 or 11.
func ConflictVote(holders []string) decision.Vote {
	reason := fmt.Sprintf("target scope held by %s and conflict_resolution is reject", strings.Join(holders, ", "))
	return decision.Vote{Authority: decision.AuthorityConcurrencyControl, Outcome: decision.Blocked, Reason: reason,
		Faults: []fault.Fault{{Code: fault.CodeScopeLockConflict, Family: fault.SemanticFaults, Severity: fault.SeverityMedium,
			Stage: fault.StageExecution, DetectedBeforeExecution: true, MandatoryAction: "block", Message: reason,
			Remediation: []string{"resubmit when the other intent has finished, or submit with on_conflict queue"}}}}
}
