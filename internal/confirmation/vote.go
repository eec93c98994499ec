package confirmation

import (
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Outcome is how a confirmation (step 5, or the Pre-cost Estimator's
// escalation) ended.
type Outcome = string

// Confirmation outcomes.
const (
	OutcomeNotRequired Outcome = "not_required"
	OutcomeProceeded   Outcome = "proceeded" // soft: shown, no conflict
	OutcomeApproved    Outcome = "approved"
	OutcomeRejected    Outcome = "rejected"
	OutcomeTimeout     Outcome = "timeout"
	// OutcomeCancelled: the intent was cancelled while it waited.
	OutcomeCancelled Outcome = "cancelled"
)

// Reasons recorded with an unanswered or cancelled escalation.
const (
	ReasonTimeout   = "human_confirmation_timeout" // fallback_on_timeout.reason
	ReasonCancelled = "intent_cancelled"
)

// Proceeds reports whether the intent goes on after a confirmation that
// ended with outcome.
func Proceeds(outcome Outcome) bool {
	switch outcome {
	case OutcomeNotRequired, OutcomeProceeded, OutcomeApproved:
		return true
	}
	return false
}

// BlockVote is the Confirmation Orchestrator's vote when a confirmation did
// not let the intent go on: rejected (with the approver's reason), timed
// out (fallback_on_timeout: block) or cancelled while waiting.
func BlockVote(outcome Outcome, reason string) decision.Vote {
	code, why := fault.CodeHumanConfirmationRejected, "human_confirmation_rejected: "+reason
	switch outcome {
	case OutcomeTimeout:
		code, why = fault.CodeHumanEscalationTimeout, ReasonTimeout
	case OutcomeCancelled:
		code, why = fault.CodeIntentCancelled, ReasonCancelled
	}
	return decision.Vote{
		Authority: decision.AuthorityConfirmation, Outcome: decision.Blocked, Reason: why,
		Faults: []fault.Fault{{
			Code: code, Family: fault.SemanticFaults, Severity: fault.SeverityHigh, Stage: fault.StageConfirmation,
			DetectedBeforeExecution: true, MandatoryAction: "block", Message: why,
			Remediation: []string{"Resubmit the intent and confirm it within the deadline, or narrow it so it needs no escalation"},
		}},
	}
}

// Record is how a confirmation ended: its mode and triggers, the outcome,
// and who answered and why.
type Record struct {
	Mode     Mode      `json:"confirmation_mode"`
	Triggers []Trigger `json:"triggers,omitempty"`
	Outcome  Outcome   `json:"outcome"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// StandingApproval is the standing approval that answered this
	// question without a human wait (a scheduled run, docs/adr/0125).
	StandingApproval string `json:"standing_approval,omitempty"`
	// StandingGranted is the standing approval this answer granted.
	StandingGranted string `json:"standing_granted,omitempty"`
	// Interpretation is the competing interpretation the approver chose
	// (docs/adr/0135): the intent went on with its signature.
	Interpretation string `json:"interpretation,omitempty"`
	// Shown is the signature as a soft confirmation displayed it
	// (Show), or as the approver was asked to confirm it.
	Shown string `json:"shown_signature,omitempty"`
	// Conflicts are what turned a soft confirmation into hard_required.
	Conflicts []string `json:"conflicts,omitempty"`
}
