package projection

import (
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Violation is the I4 veto of a blocked gate (nil when the environment is
// certain): the intent is blocked before anything runs.
func (g Gate) Violation() *decision.Violation {
	if !g.Blocked {
		return nil
	}
	f := fault.Fault{Code: fault.CodeEnvironmentStateUncertain, Family: fault.EnvironmentalFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageStateProjection, DetectedBeforeExecution: true, MandatoryAction: "block",
		Message: "the projection of " + g.Blockers() + " failed on a conflicting scope (I4)"}
	if g.Fault != nil {
		f = *g.Fault
	}
	return &decision.Violation{Invariant: "I4", Forces: decision.Blocked, Fault: f}
}

// Blockers names the intents whose failed projections block the gate.
func (g Gate) Blockers() string {
	ids := make([]string, len(g.Because))
	for i, b := range g.Because {
		ids[i] = b.IntentID
	}
	return strings.Join(ids, ", ")
}

// FailedViolation is I4 applied to an intent whose own projection did not
// commit (on_projection_failure: block_next_intent): nothing reached the
// target, so the intent is rolled back, and the marker blocks the intents
// on conflicting scopes until an operator resolves it.
func FailedViolation(intentID, cause string) decision.Violation {
	msg := "state projection failed: " + cause
	return decision.Violation{Invariant: "I4", Forces: decision.RolledBack,
		Fault: fault.Fault{Code: fault.CodeEnvironmentStateUncertain, Family: fault.EnvironmentalFaults, Severity: fault.SeverityCritical,
			Stage: fault.StageStateProjection, MandatoryAction: "block_next_intent", Message: msg,
			Remediation: []string{"check the registry against the data, then `cfa registry resolve " + intentID + " --by NAME --reason TEXT`"}}}
}

// PublishRefusedViolation is I7 applied at publication: the registry
// changed after the Policy Engine allowed the publish, and the dataset is
// not committed with publish_allowed.
func PublishRefusedViolation(why string) decision.Violation {
	return decision.Violation{Invariant: "I7", Forces: decision.Blocked,
		Fault: fault.Fault{Code: fault.CodeContractPublishPartiallyCommitted, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
			Stage: fault.StageStateProjection, DetectedBeforeExecution: true, MandatoryAction: "block", Message: why,
			Remediation: []string{"resolve the pending units (rerun the intent that wrote them) before publishing"}}}
}
