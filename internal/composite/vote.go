package composite

import (
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// InvalidGraphVote blocks a composite intent whose graph has problems
// (cycles, unknown or repeated dependencies) before any sub-intent runs.
func InvalidGraphVote(problems []string) decision.Vote {
	msg := strings.Join(problems, "; ")
	return decision.Vote{
		Authority: decision.AuthorityIntentNormalizer, Outcome: decision.Blocked, Reason: msg,
		Faults: []fault.Fault{{
			Code: fault.CodeIntentGraphInvalid, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
			Stage: fault.StageIntentNormalizer, DetectedBeforeExecution: true, MandatoryAction: "block", Message: msg,
			Remediation: []string{"fix the intent graph as each problem says (cycles, unknown or repeated dependencies), then resubmit"},
		}},
	}
}
