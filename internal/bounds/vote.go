package bounds

import (
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// CodeValueOutOfBounds is the Semantic Fault of a value outside its bounds.
// The whitepaper names no fault for it (its codes are FinOps, governance
// and contract findings on a well-formed signature); docs/adr/0113.
const CodeValueOutOfBounds = "INTENT_VALUE_OUT_OF_BOUNDS"

// Vote blocks an intent whose input has values out of bounds: one Semantic
// Fault per field, its Rule the field's path, detected by the Intent
// Normalizer before anything is planned or run.
func Vote(err error) decision.Vote {
	fields := Fields(err)
	var msgs []string
	var faults []fault.Fault
	for _, e := range fields {
		msgs = append(msgs, e.Error())
		faults = append(faults, valueFault(e.Field, e.Error(), e.Field+" must be "+e.Allowed+"; correct it and submit the intent again"))
	}
	if len(fields) == 0 && err != nil {
		msgs = []string{err.Error()}
		faults = []fault.Fault{valueFault("", err.Error(), "correct the value and submit the intent again")}
	}
	reason := "values out of bounds: " + strings.Join(msgs, "; ")
	return decision.Vote{Authority: decision.AuthorityIntentNormalizer, Outcome: decision.Blocked, Reason: reason, Faults: faults}
}

func valueFault(field, msg, fix string) fault.Fault {
	return fault.Fault{
		Code: CodeValueOutOfBounds, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageIntentNormalizer, DetectedBeforeExecution: true, MandatoryAction: "block",
		Rule: field, Message: msg, Remediation: []string{fix},
	}
}
