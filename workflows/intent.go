// Package workflows orchestrates the CFA v2 governed flow on Temporal. It only
// orchestrates: every decision is taken by an activity over internal/*.
package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/ttl"
)

// a is only used for method references; Temporal calls the registered struct.
var a *activities.Activities

// Pure stages and short Postgres I/O run as local activities: a dev-server
// round trip costs ~100 ms per regular activity and ~3 ms per local one
// (docs/adr/0005). Retries with backoff; invalid input is never retried.
func localOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}

// Network I/O outside our control (the notification webhook) is a regular
// activity so its retries survive worker restarts.
func remoteOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}

// intentRun is the state of one IntentWorkflow execution.
type intentRun struct {
	ctx    workflow.Context
	in     IntentInput
	id     string
	seq    int64
	bundle string // policy_bundle_version, once consulted
	// source and input override what the intents index shows (a composite).
	source, input string
	// holdsScope: the intent has an active scope request, waiting or held
	// (steps 11–16); whatever ends the intent releases it.
	holdsScope bool
	// costReplans counts the Pre-cost Estimator's replans: with the stale
	// ones, the drift the Promotion Engine's IDI measures.
	costReplans int
	status      Status
	result      IntentResult
}

// IntentWorkflow runs the governed flow of whitepaper section 7 for one
// intent: steps 1, 2 and 4–7, then the decision (17) and its audit (19).
// Scope locking (3) and pre-cost (8) onwards come with execution.
func IntentWorkflow(ctx workflow.Context, in IntentInput) (IntentResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	ctx = workflow.WithActivityOptions(ctx, remoteOptions())
	r := &intentRun{ctx: ctx, in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	r.result = IntentResult{IntentID: r.id, CorrelationID: in.CorrelationID}
	if r.result.CorrelationID == "" {
		r.result.CorrelationID = r.id
	}
	r.status = Status{IntentID: r.id, Stage: StageReceived}
	if err := r.registerQueries(); err != nil {
		return r.result, err
	}
	res, err := r.run()
	if err != nil && r.holdsScope {
		// A failed or cancelled intent must not keep its place in the
		// queue or its scope: release them, even after a cancellation.
		r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
		if rerr := r.releaseHeldScope(); rerr != nil {
			workflow.GetLogger(r.ctx).Error("scope release after a failure failed", "intent_id", r.id, "error", rerr)
		}
	}
	return res, err
}

func (r *intentRun) run() (IntentResult, error) {
	// Step 1: intent received.
	if err := r.track(IntentStatusRunning); err != nil {
		return r.result, err
	}
	if err := r.audit(audit.EventIntentReceived, StageReceived, "received", r.submitter(), audit.ActionInvoke, nil, r.in); err != nil {
		return r.result, err
	}
	r.done(StageReceived, "intent received")

	// Step 2: consult environment_state, the latest committed snapshot (I3).
	var cons activities.Consultation
	if err := r.local(a.ConsultRegistry, &cons); err != nil {
		return r.result, err
	}
	r.bundle = cons.PolicyBundleVersion
	if err := r.audit(audit.EventEnvironmentConsulted, StageRegistry, "consulted", system(), audit.ActionRead,
		[]string{"context_registry:" + cons.Environment.VersionID}, cons); err != nil {
		return r.result, err
	}
	r.done(StageRegistry, "registry snapshot "+cons.Environment.VersionID)

	// Step 4: normalization + semantic resolution.
	var res resolution.SemanticResolution
	if err := r.local(a.Normalize, &res, activities.NormalizeInput{
		IntentID: r.id, Text: r.in.Text, Signature: r.in.Signature, Environment: cons.Environment,
	}); err != nil {
		return r.result, err
	}
	r.result.Resolution = &res
	outcome := "resolved"
	if !res.Resolved {
		outcome = "unresolved"
	}
	if err := r.audit(audit.EventSemanticResolution, StageNormalizer, outcome, system(), audit.ActionInvoke, datasetTargets(res.Signature), map[string]any{
		"confidence":                       res.ConfidenceScore,
		"ambiguity_level":                  res.AmbiguityLevel,
		"competing_interpretations":        res.CompetingInterpretations,
		"confirmation_mode":                res.ConfirmationMode,
		"confirmation_triggers":            res.ConfirmationTriggers,
		"environment_constraints_injected": res.EnvironmentConstraintsInjected,
		"environment_state_consulted":      true,
		"reason":                           res.Reason,
	}); err != nil {
		return r.result, err
	}
	if !res.Resolved {
		r.done(StageNormalizer, "unresolved: "+res.Reason)
		return r.decide(decision.Input{Votes: []decision.Vote{{
			Authority: decision.AuthorityIntentNormalizer, Outcome: decision.Blocked, Reason: res.Reason,
			Faults: []fault.Fault{{
				Code: fault.CodeIntentUnresolved, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
				Stage: fault.StageIntentNormalizer, DetectedBeforeExecution: true, MandatoryAction: "block",
				Message: res.Reason, Remediation: []string{"Name the datasets and the operation explicitly, or submit a structured signature (submit -f)"},
			}},
		}}})
	}
	r.done(StageNormalizer, fmt.Sprintf("confidence %.2f, ambiguity %s, mode %s", res.ConfidenceScore, res.AmbiguityLevel, res.ConfirmationMode))

	// Step 3: lock check. The target is known once resolved; with
	// conflict_resolution reject a busy scope blocks before anyone is asked
	// to confirm, with queue the intent goes on and waits at step 11.
	if workflow.GetVersion(r.ctx, ChangeScopeCheck, workflow.DefaultVersion, 1) == 1 && !r.in.DryRun {
		if stop, err := r.checkScope(res.Signature); err != nil || stop != nil {
			if err != nil {
				return r.result, err
			}
			return r.decide(*stop)
		}
	}
	// TTL policy (5.9): a dataset whose expired quarantine awaits manual
	// review blocks the intents that depend on it.
	if workflow.GetVersion(r.ctx, ChangeTTLIntentCheck, workflow.DefaultVersion, 1) == 1 {
		var names []string
		for _, d := range res.Signature.Datasets {
			names = append(names, d.Name)
		}
		var chk ttl.IntentCheck
		if err := r.local(a.CheckTTL, &chk, activities.TTLCheckInput{Datasets: names, Environment: cons.Environment, Now: workflow.Now(r.ctx).UTC()}); err != nil {
			return r.result, err
		}
		if len(chk.Blocked) > 0 {
			reason := "quarantine past its TTL awaits manual review: " + strings.Join(chk.Blocked, ", ")
			r.done(StageNormalizer, "blocked: "+reason)
			var faults []fault.Fault
			for _, f := range chk.Faults {
				if f.Code == ttl.CodeManualReviewRequired {
					faults = append(faults, f)
				}
			}
			return r.decide(decision.Input{Votes: []decision.Vote{{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Blocked, Reason: reason, Faults: faults}}})
		}
	}

	// Step 5: semantic escalation (auto / soft / hard / human).
	conf, err := r.confirm(res)
	if err != nil {
		return r.result, err
	}
	r.result.Confirmation = &conf
	if conf.Outcome == ConfirmationRejected || conf.Outcome == ConfirmationTimeout || conf.Outcome == ConfirmationCancelled {
		return r.decide(decision.Input{Votes: []decision.Vote{confirmationVote(conf)}})
	}

	// Step 6: generate the State Signature with execution_context; the
	// confirmed contract is immutable from here on (5.2).
	var signed activities.Signed
	if err := r.local(a.Sign, &signed, activities.SignInput{Signature: res.Signature, ExecutionContext: signature.ExecutionContext{
		PolicyBundleVersion:    cons.PolicyBundleVersion,
		CatalogSnapshotVersion: cons.CatalogSnapshotVersion,
		RegistryVersionID:      cons.Environment.VersionID,
	}}); err != nil {
		return r.result, err
	}
	r.setSignature(signed)
	if err := r.audit(audit.EventSignatureGenerated, StageSignature, "signed", system(), audit.ActionWrite, datasetTargets(signed.Signature), map[string]any{
		"intent_signature_hash": signed.Hash, "signature": signed.Signature,
	}); err != nil {
		return r.result, err
	}
	r.done(StageSignature, "intent_signature_hash "+signed.Hash[:16])

	// Step 7: apply policies, at most 3 replans (I1, I2, I7).
	var gov activities.Governance
	if err := r.local(a.Govern, &gov, activities.GovernInput{IntentID: r.id, Signed: signed, Environment: cons.Environment, Propose: r.proposes()}); err != nil {
		return r.result, err
	}
	if err := r.auditGovernance(gov); err != nil {
		return r.result, err
	}
	if gov.Outcome == activities.OutcomeReplan {
		// propose mode: this cycle ends; the replanned signature is the
		// next cycle's input.
		return r.decide(decision.Input{Votes: []decision.Vote{r.proposeReplan(gov, decision.AuthorityPolicyEngine, StagePolicyEngine)}})
	}
	r.setSignature(gov.Final)
	vote := decision.Vote{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved, Reason: gov.Reason, Faults: gov.Faults}
	switch {
	case gov.Outcome == activities.OutcomeBlock:
		vote.Outcome = decision.Blocked
	case len(gov.Warnings) > 0:
		vote.Outcome = decision.ApprovedWithWarnings
		vote.Faults = append(vote.Faults, gov.WarningFaults...)
	}
	// Histories recorded before steps 8–10 existed decide here; replaying
	// them must issue the same commands (workflows/testdata).
	planning := workflow.GetVersion(r.ctx, ChangePlanningSteps, workflow.DefaultVersion, 1)
	if vote.Outcome == decision.Blocked || planning == workflow.DefaultVersion {
		return r.decide(decision.Input{Votes: []decision.Vote{vote}})
	}
	// Steps 8–10: pre-cost, planning, code generation, static validation.
	return r.plan(gov.Final, cons.Environment, vote)
}

func (r *intentRun) proposes() bool { return r.in.ReplanMode == policy.ReplanPropose }

// proposeReplan records the replanned signature of a cycle that ends
// replanned (replan_mode propose) and returns by's replanned vote.
func (r *intentRun) proposeReplan(gov activities.Governance, by decision.Authority, stage string) decision.Vote {
	p := gov.Final.Signature
	r.result.Proposed, r.result.ProposedHash = &p, gov.Final.Hash
	next := r.in
	next.Text, next.Signature, next.CorrelationID = "", &p, r.result.CorrelationID
	next.Plan = nil // a supplied plan was checked against the old signature
	r.result.NextCycle = &next
	r.result.Replans = p.Replan
	r.done(stage, fmt.Sprintf("replan %d proposed: %s; resubmit it for the next cycle", p.Replan, gov.Final.Hash[:16]))
	return decision.Vote{Authority: by, Outcome: decision.Replanned, Reason: gov.Reason, Faults: gov.Faults}
}

// confirm runs the Confirmation Orchestrator's wait: approve or reject by
// signal, raced against a named timer; timeout blocks and notifies.
func (r *intentRun) confirm(res resolution.SemanticResolution) (ConfirmationRecord, error) {
	rec := ConfirmationRecord{Mode: res.ConfirmationMode, Triggers: res.ConfirmationTriggers}
	switch {
	case res.ConfirmationMode == confirmation.ModeAuto:
		rec.Outcome = ConfirmationNotRequired
		r.done(StageConfirmation, "auto: proceeds without interruption")
		return rec, nil
	case !res.ConfirmationMode.NeedsHuman():
		rec.Outcome = ConfirmationProceeded
		r.done(StageConfirmation, "soft: signature shown, no conflict")
		return rec, nil
	}
	return r.awaitHuman(rec, res.Signature, "")
}

// awaitHuman runs the Confirmation Orchestrator's wait: approve or reject by
// signal, raced against a named timer; timeout blocks and notifies. The
// semantic escalation (step 5) and the Pre-cost Estimator (step 8) use it.
func (r *intentRun) awaitHuman(rec ConfirmationRecord, asked signature.Signature, reason string) (ConfirmationRecord, error) {
	timeout := DefaultEscalationTimeout
	if r.in.EscalationTimeoutSeconds > 0 {
		timeout = time.Duration(r.in.EscalationTimeoutSeconds) * time.Second
	}
	deadline := workflow.Now(r.ctx).Add(timeout).UTC()
	pending := &PendingEscalation{
		IntentID: r.id, Mode: rec.Mode, Triggers: rec.Triggers,
		Signature: asked, Deadline: deadline, Reason: reason,
	}
	r.status.Pending = pending
	r.status.Stage = StageConfirmation
	if err := r.audit(audit.EventConfirmationRequested, StageConfirmation, "pending", system(), audit.ActionInvoke, datasetTargets(asked), pending); err != nil {
		return rec, err
	}
	workflow.SetCurrentDetails(r.ctx, fmt.Sprintf(
		"**%s confirmation required** for intent `%s`\n\nTriggers: %s\n\n%s\n\nDeadline: %s\n\nSend signal `%s` or `%s` with `{\"by\": \"<name>\", \"reason\": \"<why>\"}`.",
		rec.Mode, r.id, joinTriggers(rec.Triggers), reason, deadline.Format(time.RFC3339), SignalApprove, SignalReject))

	timerCtx, cancelTimer := workflow.WithCancel(r.ctx)
	timer := workflow.NewTimerWithOptions(timerCtx, timeout, workflow.TimerOptions{Summary: EscalationTimerName})
	approveCh := workflow.GetSignalChannel(r.ctx, SignalApprove)
	rejectCh := workflow.GetSignalChannel(r.ctx, SignalReject)
	// A confirmation answers a question that was asked: signals sent before
	// this escalation opened are discarded, not applied to it.
	for _, ch := range []workflow.ReceiveChannel{approveCh, rejectCh} {
		var stale ConfirmationSignal
		for ch.ReceiveAsync(&stale) {
			workflow.GetLogger(r.ctx).Warn("discarded a confirmation signal sent before the escalation opened", "intent_id", r.id, "by", stale.By)
		}
	}
	sel := workflow.NewSelector(r.ctx)
	var sig ConfirmationSignal
	sel.AddReceive(approveCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(r.ctx, &sig)
		rec.Outcome = ConfirmationApproved
	})
	sel.AddReceive(rejectCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(r.ctx, &sig)
		rec.Outcome = ConfirmationRejected
	})
	sel.AddFuture(timer, func(workflow.Future) { rec.Outcome = ConfirmationTimeout })
	sel.Select(r.ctx)
	cancelTimer()
	if r.ctx.Err() != nil && workflow.GetVersion(r.ctx, ChangeCancelDuringWait, workflow.DefaultVersion, 1) == 1 {
		// Cancelled while waiting (the timer was cancelled with the
		// workflow): no one timed out. The decision and the end event are
		// still recorded (I5), on a context the cancellation does not reach.
		r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
		r.status.Pending = nil
		workflow.SetCurrentDetails(r.ctx, "")
		rec.Outcome, rec.Reason = ConfirmationCancelled, "intent_cancelled"
		r.done(StageConfirmation, fmt.Sprintf("%s: the intent was cancelled while waiting, blocked", rec.Mode))
		return rec, r.audit(audit.EventConfirmationCancelled, StageConfirmation, "cancelled", system(), audit.ActionInvoke,
			[]string{"intent:" + r.id}, map[string]any{"reason": rec.Reason, "deadline": deadline})
	}
	r.status.Pending = nil
	workflow.SetCurrentDetails(r.ctx, "")
	rec.By, rec.Reason = sig.By, sig.Reason

	switch rec.Outcome {
	case ConfirmationApproved:
		r.done(StageConfirmation, fmt.Sprintf("%s: approved by %s (%s)", rec.Mode, rec.By, rec.Reason))
		return rec, r.audit(audit.EventHumanApproved, StageConfirmation, "approved", human(rec.By), audit.ActionApprove,
			[]string{"intent:" + r.id}, rec)
	case ConfirmationRejected:
		r.done(StageConfirmation, fmt.Sprintf("%s: rejected by %s (%s)", rec.Mode, rec.By, rec.Reason))
		return rec, r.audit(audit.EventHumanRejected, StageConfirmation, "rejected", human(rec.By), audit.ActionApprove,
			[]string{"intent:" + r.id}, rec)
	}
	rec.Reason = "human_confirmation_timeout"
	r.done(StageConfirmation, fmt.Sprintf("%s: no answer within %s, blocked", rec.Mode, timeout))
	n := activities.Notification{
		Notify: "governance_team", IntentID: r.id, CorrelationID: r.result.CorrelationID,
		Reason: rec.Reason, AuditEvent: audit.EventHumanEscalationTimeout,
		Mode: string(rec.Mode), Triggers: triggerStrings(rec.Triggers), Deadline: deadline,
	}
	if err := workflow.ExecuteActivity(r.ctx, a.NotifyGovernance, n).Get(r.ctx, nil); err != nil {
		// A lost notification must not keep the intent open: the audit
		// event below is the durable record.
		workflow.GetLogger(r.ctx).Error("governance notification failed", "intent_id", r.id, "error", err)
	}
	return rec, r.audit(audit.EventHumanEscalationTimeout, StageConfirmation, "timeout", system(), audit.ActionInvoke,
		[]string{"intent:" + r.id}, map[string]any{"reason": rec.Reason, "notify": "governance_team", "deadline": deadline, "timeout_seconds": int(timeout.Seconds())})
}

func confirmationVote(c ConfirmationRecord) decision.Vote {
	code := fault.CodeHumanConfirmationRejected
	reason := "human_confirmation_rejected: " + c.Reason
	switch c.Outcome {
	case ConfirmationTimeout:
		code, reason = fault.CodeHumanEscalationTimeout, "human_confirmation_timeout"
	case ConfirmationCancelled:
		code, reason = fault.CodeIntentCancelled, "intent_cancelled"
	}
	return decision.Vote{
		Authority: decision.AuthorityConfirmation, Outcome: decision.Blocked, Reason: reason,
		Faults: []fault.Fault{{
			Code: code, Family: fault.SemanticFaults, Severity: fault.SeverityHigh, Stage: fault.StageConfirmation,
			DetectedBeforeExecution: true, MandatoryAction: "block", Message: reason,
			Remediation: []string{"Resubmit the intent and confirm it within the deadline, or narrow it so it needs no escalation"},
		}},
	}
}

// auditGovernance records each Policy Engine attempt as its own event, so
// every replan (and the signature it produced) is in the trail.
func (r *intentRun) auditGovernance(gov activities.Governance) error {
	for _, at := range gov.Attempts {
		ev := audit.EventPolicyApprove
		outcome := "approved"
		switch at.Outcome {
		case activities.OutcomeReplan:
			ev, outcome = audit.EventPolicyReplan, "replanned"
		case activities.OutcomeBlock:
			ev, outcome = audit.EventPolicyBlock, "blocked"
		}
		r.result.PolicyAttempts = append(r.result.PolicyAttempts, at)
		if err := r.audit(ev, StagePolicyEngine, outcome, system(), audit.ActionInvoke, []string{"signature:" + at.SignatureHash}, map[string]any{
			"replan": at.Replan, "rules": at.Rules, "faults": faultCodes(at.Faults), "interventions": at.Interventions,
			"warnings": at.Warnings, "intent_signature_hash": at.SignatureHash,
		}); err != nil {
			return err
		}
		r.done(StagePolicyEngine, fmt.Sprintf("attempt %d: %s %s", at.Replan, at.Outcome, strings.Join(faultCodes(at.Faults), ",")))
	}
	if gov.MaxReplansExceeded {
		if err := r.audit(audit.EventMaxReplanExceeded, StagePolicyEngine, "blocked", system(), audit.ActionInvoke, nil, map[string]any{
			"reason": "max_replan_attempts_exceeded", "attempts": len(gov.Attempts),
		}); err != nil {
			return err
		}
	}
	r.result.Replans = gov.Final.Signature.Replan
	return nil
}

// decide runs the Decision Engine, records the decision and the end event
// (I5: every decision has an event; complete_per_intent).
func (r *intentRun) decide(in decision.Input) (IntentResult, error) {
	if err := r.releaseHeldScope(); err != nil {
		return r.result, err
	}
	var d decision.Decision
	if err := r.local(a.Decide, &d, in); err != nil {
		return r.result, err
	}
	return r.record(d)
}

// record stores a decision: its audit event, the end event and the index.
func (r *intentRun) record(d decision.Decision) (IntentResult, error) {
	r.result.DecisionState, r.result.DecidedBy, r.result.Reason, r.result.Faults = d.State, d.DecidedBy, d.Reason, d.Faults
	if err := r.audit(audit.EventDecision, StageDecision, string(d.State), system(), audit.ActionWrite, []string{"intent:" + r.id}, map[string]any{
		"decision_state": d.State, "decided_by": d.DecidedBy, "reason": d.Reason, "faults": faultCodes(d.Faults),
		"intent_signature_hash": r.result.SignatureHash, "replans": r.result.Replans,
		"plan_hash": r.result.PlanHash, "code_hash": r.result.CodeHash, "static_validation": r.result.Static, "dry_run": r.result.DryRun,
	}); err != nil {
		return r.result, err
	}
	r.done(StageDecision, fmt.Sprintf("%s (by %s)", d.State, d.DecidedBy))
	r.result.AuditEvents = r.seq + 1
	if err := r.audit(audit.EventIntentCompleted, StageAudit, string(d.State), system(), audit.ActionWrite, []string{"intent:" + r.id}, nil); err != nil {
		return r.result, err
	}
	if err := r.track(IntentStatusCompleted); err != nil {
		return r.result, err
	}
	r.done(StageCompleted, string(d.State))
	res := r.result
	r.status.Result = &res
	return r.result, nil
}

func (r *intentRun) setSignature(s activities.Signed) {
	sig := s.Signature
	r.result.Signature, r.result.SignatureHash = &sig, s.Hash
}

func (r *intentRun) registerQueries() error {
	if err := workflow.SetQueryHandler(r.ctx, QueryStatus, func() (Status, error) { return r.status, nil }); err != nil {
		return fmt.Errorf("register query %s: %w", QueryStatus, err)
	}
	if err := workflow.SetQueryHandler(r.ctx, QueryPendingEscalation, func() (*PendingEscalation, error) { return r.status.Pending, nil }); err != nil {
		return fmt.Errorf("register query %s: %w", QueryPendingEscalation, err)
	}
	return nil
}

func (r *intentRun) done(stage, summary string) {
	r.status.Stage = stage
	r.status.Stages = append(r.status.Stages, StageReport{Stage: stage, Summary: summary, At: workflow.Now(r.ctx).UTC()})
}

func (r *intentRun) local(fn any, out any, args ...any) error {
	return workflow.ExecuteLocalActivity(r.ctx, fn, args...).Get(r.ctx, out)
}

// audit appends the next event of this intent. The sequence number is
// assigned here, in workflow code, so activity retries never reorder.
func (r *intentRun) audit(eventType, stage, outcome string, actor audit.Principal, action audit.Action, targets []string, details any) error {
	r.seq++
	if targets == nil {
		targets = []string{"intent:" + r.id}
	}
	ev := audit.Event{
		IntentID: r.id, Seq: r.seq, CorrelationID: r.result.CorrelationID, PolicyBundleVersion: r.bundle,
		Stage: stage, EventType: eventType, Outcome: outcome, Actor: actor, Action: action, Targets: targets,
		Timestamp: workflow.Now(r.ctx).UTC(),
	}
	return r.local(a.RecordAudit, nil, activities.AuditInput{Event: ev, Details: details})
}

func (r *intentRun) track(status string) error {
	rec := db.Intent{
		IntentID: r.id, WorkflowID: r.id, RunID: workflow.GetInfo(r.ctx).WorkflowExecution.RunID,
		CorrelationID: r.result.CorrelationID, Status: status, SubmittedAt: workflow.GetInfo(r.ctx).WorkflowStartTime.UTC(),
		DecisionState: string(r.result.DecisionState), SignatureHash: r.result.SignatureHash,
	}
	rec.Source, rec.Input = db.SourceText, r.in.Text
	if r.source != "" {
		rec.Source, rec.Input = r.source, r.input
	}
	if r.result.Confirmation != nil {
		rec.ConfirmationMode = string(r.result.Confirmation.Mode)
	} else if r.result.Resolution != nil {
		rec.ConfirmationMode = string(r.result.Resolution.ConfirmationMode)
	}
	return r.local(a.TrackIntent, nil, activities.TrackInput{Intent: rec, Signature: r.in.Signature})
}

func (r *intentRun) submitter() audit.Principal {
	if r.in.SubmittedBy == "" {
		return audit.Principal{ID: "anonymous", Type: audit.PrincipalHuman, AuthContext: "cli"}
	}
	return audit.Principal{ID: r.in.SubmittedBy, Type: audit.PrincipalHuman, AuthContext: "cli"}
}

func system() audit.Principal {
	return audit.Principal{ID: "cfa-worker", Type: audit.PrincipalSystem, AuthContext: "temporal"}
}

func human(by string) audit.Principal {
	if by == "" {
		by = "unknown"
	}
	return audit.Principal{ID: by, Type: audit.PrincipalHuman, AuthContext: "temporal_signal"}
}

func datasetTargets(s signature.Signature) []string {
	out := make([]string, 0, len(s.Datasets))
	for _, d := range s.Datasets {
		out = append(out, "dataset:"+d.Name)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func faultCodes(fs []fault.Fault) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func triggerStrings(ts []confirmation.Trigger) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, string(t))
	}
	return out
}

func joinTriggers(ts []confirmation.Trigger) string { return strings.Join(triggerStrings(ts), "; ") }
