// Package intent is the intent as it is submitted: "the description of a
// desired state transformation over datasets, under declared constraints,
// with a verifiable outcome" (whitepaper 1, formal definition of intent),
// as text or a structured signature, with the options of the run. Every
// front end (CLI, API, schedules) builds a Request; the intent workflow
// takes it as its input and the audit trail records it as received.
package intent

import (
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// Request starts one intent. Exactly one of Text or Signature.
type Request struct {
	Text          string               `json:"text,omitempty"`
	Signature     *signature.Signature `json:"signature,omitempty"`
	CorrelationID string               `json:"correlation_id,omitempty"`
	SubmittedBy   string               `json:"submitted_by,omitempty"`
	// SubmitterType and SubmitterAuthContext complete the submitter's CFS
	// Principal when the API authenticated it (HUMAN, AGENT or SERVICE;
	// "api:token:NAME"); empty, the submitter is a HUMAN on the CLI.
	SubmitterType        string `json:"submitter_type,omitempty"`
	SubmitterAuthContext string `json:"submitter_auth_context,omitempty"`
	// EscalationTimeoutSeconds overrides the 300 s human timeout for this run.
	EscalationTimeoutSeconds int `json:"escalation_timeout_seconds,omitempty"`
	// DryRun stops the flow after static validation (step 10), whatever
	// comes after it.
	DryRun bool `json:"dry_run,omitempty"`
	// CostCeilingDBU overrides cost_ceiling_dbu (whitepaper 5.7: 50).
	CostCeilingDBU float64 `json:"cost_ceiling_dbu,omitempty"`
	// Plan is an execution plan from an external planner (the
	// execution_planner extension point); its code must pass static
	// validation against the governed plan's rules (docs/adr/0075).
	Plan *planner.ExecutionPlan `json:"plan,omitempty"`
	// Composite marks a sub-intent of a composite intent: its plan's
	// consistency unit is dag_branch (whitepaper 5.5 selection rules).
	Composite bool `json:"composite,omitempty"`
	// AsOf (YYYY-MM-DD) resolves relative windows ("last 30 days") against
	// that date instead of today: reprocessing as of a past date.
	AsOf string `json:"as_of,omitempty"`
	// PartialFailureMode is partial_failure_policy.mode (5.8); empty is
	// selective_quarantine.
	PartialFailureMode string `json:"partial_failure_mode,omitempty"`
	// OnConflict is conflict_resolution.on_conflict: queue (default) or
	// reject.
	OnConflict string `json:"on_conflict,omitempty"`
	// UnitRetryBaseSeconds is the retry backoff base of a failed unit
	// (whitepaper 5.8: 30 s).
	UnitRetryBaseSeconds int `json:"unit_retry_base_seconds,omitempty"`
	// ReplanMode is auto (default: the Policy Engine and the Pre-cost
	// Estimator replan and govern again, at most 3 times) or propose (the
	// first replan ends the cycle with decision replanned and the
	// replanned signature, for review and resubmission).
	ReplanMode string `json:"replan_mode,omitempty"`
	// TraceID is the OpenTelemetry trace of the submit that started the
	// intent, set by the front end when tracing is on: every audit
	// receipt of the intent carries it (context trace_id). It is an
	// input, so replays and retries seal the same bytes.
	TraceID string `json:"trace_id,omitempty"`
	// Schedule names the `cfa schedule` that started this run (its
	// CorrelationID is schedule:<name>): as_of then defaults to the
	// scheduled time, and its escalations may be answered by a standing
	// approval (docs/adr/0124, 0125).
	Schedule string `json:"schedule,omitempty"`
	// RowLimit is the most rows a read returns (docs/adr/0132); 0 is
	// planner.DefaultRowLimit. Intents that write ignore it.
	RowLimit int `json:"row_limit,omitempty"`
}

// Proposes reports whether the first replan ends the cycle (replan_mode
// propose).
func (r Request) Proposes() bool { return r.ReplanMode == policy.ReplanPropose }
