package resolution

import (
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// UnresolvedVote is the Intent Normalizer's vote for an intent it could not
// resolve: blocked rather than guessed (whitepaper 5.1: a wrong signature
// contaminates everything downstream).
func UnresolvedVote(reason string) decision.Vote {
	return decision.Vote{
		Authority: decision.AuthorityIntentNormalizer, Outcome: decision.Blocked, Reason: reason,
		Faults: []fault.Fault{{
			Code: fault.CodeIntentUnresolved, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
			Stage: fault.StageIntentNormalizer, DetectedBeforeExecution: true, MandatoryAction: "block",
			Message: reason, Remediation: []string{"Name the datasets and the operation explicitly, or submit a structured signature (submit -f)"},
		}},
	}
}
