package decision

import (
	"fmt"

	"github.com/contextualflux/cfa/internal/fault"
)

// Interruption is a stage that did not complete: its retries ran out (an
// outage longer than they last), its audit record conflicts with what a
// retry computed, or the intent was cancelled while the stage ran.
type Interruption struct {
	// Stage is the stage that was running (the intent stage name).
	Stage string `json:"stage"`
	// Cause is the stage's last error, as the workflow saw it.
	Cause string `json:"cause"`
	// Cancelled: the intent was cancelled, not interrupted by a fault.
	Cancelled bool `json:"cancelled,omitempty"`
}

// InterruptedVote is the Sandbox Monitor's vote on an intent a stage of
// which did not complete: blocked, with an Environmental Fault naming the
// stage (or INTENT_CANCELLED for a cancellation). Every intent still ends
// with a decision and INTENT_COMPLETED (I5), and nothing it staged is
// projected.
func InterruptedVote(in Interruption) Vote {
	f := fault.Fault{
		Code: fault.CodeStageInterrupted, Family: fault.EnvironmentalFaults, Severity: fault.SeverityHigh,
		Stage: fault.Stage(in.Stage), DetectedBeforeExecution: false, MandatoryAction: "block",
		Message: fmt.Sprintf("stage %s did not complete: %s", in.Stage, in.Cause),
		Remediation: []string{
			"Find the cause in the worker log (field intent_id) and in the stage's failure in the Temporal history",
			"Once it is fixed, resubmit the intent: nothing it staged was projected",
		},
	}
	reason := "stage_interrupted: " + in.Stage
	if in.Cancelled {
		f.Code, f.Family, f.Message = fault.CodeIntentCancelled, fault.SemanticFaults, "the intent was cancelled during stage "+in.Stage
		f.Remediation = []string{"Resubmit the intent if it is still wanted: nothing it staged was projected"}
		reason = "intent_cancelled: " + in.Stage
	}
	return Vote{Authority: AuthoritySandboxMonitor, Outcome: Blocked, Reason: reason, Faults: []fault.Fault{f}}
}
