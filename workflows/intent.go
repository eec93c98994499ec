// Package workflows orchestrates the CFA v2 governed flow on Temporal. It
// only orchestrates: the order of the steps of whitepaper section 7 is in
// IntentFlow.run, each step is one stage activity (activities/*), which
// decides, appends the stage's audit events and says whether the flow
// stops; the workflow keeps the votes and hands them to the Decision Engine.
package workflows

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/signature"
)

// IntentWorkflow runs the governed flow of whitepaper section 7 for one
// intent, from its receipt to its decision.
func IntentWorkflow(ctx workflow.Context, in IntentInput) (IntentResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	ctx = workflow.WithActivityOptions(ctx, remoteOptions())
	if in.Schedule != "" && in.AsOf == "" {
		// Set once, before step 1 records the input: every stage of a
		// scheduled run resolves its windows as of the same day.
		in.AsOf = scheduledAsOf(ctx)
	}
	f := &intentFlow{journal: newJournal(ctx, in.CorrelationID), in: in}
	f.trace = in.TraceID
	f.result = IntentResult{IntentID: f.id, CorrelationID: f.corr}
	if err := f.registerQueries(); err != nil {
		return f.result, err
	}
	if err := f.registerAnswers(); err != nil {
		return f.result, err
	}
	return f.run()
}

// AttrScheduledStartTime is the time a Temporal Schedule meant a run for
// (a system search attribute): a backfilled run's is in the past.
var AttrScheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// scheduledAsOf is a scheduled run's as_of (docs/adr/0124): the day its
// schedule meant it for, or the day it started when the schedule did not
// say (a run triggered by hand).
func scheduledAsOf(ctx workflow.Context) string {
	at := workflow.GetInfo(ctx).WorkflowStartTime
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(AttrScheduledStartTime); ok && !t.IsZero() {
		at = t
	}
	return at.UTC().Format("2006-01-02")
}

// intentFlow is the state of one IntentWorkflow: the votes cast so far,
// whether a stage stopped the flow, and what each stage hands the next.
type intentFlow struct {
	*journal
	in     IntentInput
	result IntentResult

	// For the Decision Engine (step 17).
	votes      []decision.Vote
	violations []decision.Violation
	stopped    bool
	// againFrom sends the flow back to a step (a stale environment at step
	// 12 replans from step 6).
	againFrom string
	// interrupted is the stage that did not complete, if one did not.
	interrupted *decision.Interruption

	// Carried from stage to stage.
	cons        activities.Consultation // step 2, again after a stale environment
	pending     signature.Signature     // the signature step 6 signs next
	signReason  string                  // why it is signed again
	signed      activities.Signed       // steps 6–8: the signed, governed signature
	asked       *signature.Signature    // the first signed: what the user asked, against which replans are compared (ADR 0136)
	costReplans int                     // the Pre-cost Estimator's replans (IDI drift)
	planning    activities.Planning     // steps 8–10
	code        activities.Code
	publishes   string // a publish-only plan's target
	execution
	// answers carries approve and reject Updates to the open escalation.
	answers workflow.Channel
}

// step is one line of the whitepaper's table: the stage it reports as, and
// what it runs.
type step struct {
	stage string
	run   func() error
}

// run is whitepaper section 7, top to bottom. Each step runs one stage
// activity, which appends the stage's audit events, and applies the
// stage's stop rule: a stage that stops the flow sends it to the decision
// with the votes cast so far.
func (f *intentFlow) run() (IntentResult, error) {
	steps := []step{
		{StageReceived, f.receive},           // 1  intent received
		{StageRegistry, f.consult},           // 2  environment_state, the latest committed snapshot (I3)
		{StageNormalizer, f.normalize},       // 4  normalization + semantic resolution
		{StageLock, f.checkScope},            // 3  lock check, I4 and TTL gates: the target is known only after 4
		{StageConfirmation, f.confirm},       // 5  semantic escalation (auto / soft / hard / human)
		{StageSignature, f.sign},             // 6  State Signature + execution_context; a stale environment replans from here
		{StagePolicyEngine, f.govern},        // 7  policies, at most 3 replans (I1, I2, I7)
		{StagePreCost, f.estimateCost},       // 8  pre-cost, its replans and escalation
		{StagePlanner, f.plan},               // 9  Execution Planner
		{StageCodeGen, f.generate},           // 9  code generation
		{StageStatic, f.validate},            // 10 Static Validation (I6); a dry run stops here
		{StageProjection, f.publish},         // 16 a publish-only plan publishes its target and stops
		{StageLock, f.acquireScope},          // 11 execution lock on the target scope; a read takes none
		{StageRevalidation, f.revalidate},    // 12 I4 and TOCTOU; stale: replan from 6
		{StageExecution, f.read},             // 13 a read runs its query in the sandbox, read only, returns its rows and stops
		{StageExecution, f.execute},          // 13 each consistency unit in the sandbox, 14 validated at run time
		{StagePartial, f.applyPartialPolicy}, // 15 retry → partial_failure_policy → project_state (or Panic Rollback)
		{StageProjection, f.project},         // 16 projection and lock release, atomic and versioned (I4, I6)
	}
	for i := 0; i < len(steps) && !f.stopped; i++ {
		if err := steps[i].run(); err != nil {
			f.interrupt(steps[i].stage, err)
			break
		}
		if f.againFrom != "" {
			i = stepIndex(steps, f.againFrom) - 1
			f.againFrom = ""
		}
	}
	return f.decide() // 17 Decision Engine, 18 Promotion Engine, 19 Audit Trail
}

func stepIndex(steps []step, stage string) int {
	for i, s := range steps {
		if s.stage == stage {
			return i
		}
	}
	return len(steps)
}

// interrupt stops the flow at a stage that did not complete: its retries
// ran out or the intent was cancelled. The intent is still decided and
// completed (I5), on a context a cancellation does not reach.
func (f *intentFlow) interrupt(stage string, err error) {
	in := decision.Interruption{Stage: stage, Cause: err.Error()}
	if temporal.IsCanceledError(err) || f.ctx.Err() != nil {
		in.Cancelled = true
		f.ctx, _ = workflow.NewDisconnectedContext(f.ctx)
	}
	workflow.GetLogger(f.ctx).Error("stage interrupted; the intent will be decided blocked", "intent_id", f.id, "stage", stage, "error", err)
	f.interrupted, f.stopped = &in, true
}

// apply keeps a stage's votes, vetoes and stop rule.
func (f *intentFlow) apply(st activities.Stage, err error) error {
	if err != nil {
		return err
	}
	f.votes = append(f.votes, st.Votes...)
	f.violations = append(f.violations, st.Violations...)
	f.stopped = f.stopped || st.Stop
	return nil
}

// decide is steps 17–19: the Decision Engine takes the strictest outcome
// among the votes (invariants veto first), the Promotion Engine evaluates
// an executed skill, and the decision and the intent's end are recorded
// (I5: every decision has an event; complete_per_intent).
func (f *intentFlow) decide() (IntentResult, error) {
	if err := f.releaseHeldScope(); err != nil {
		f.interrupt(StageLock, err)
	}
	in := activities.DecideInput{
		Decision: decision.Input{Votes: f.withNarrowing(f.votes), InvariantViolations: f.violations},
		Record: activities.DecisionRecord{
			SignatureHash: f.result.SignatureHash, Replans: f.result.Replans, PlanHash: f.result.PlanHash, CodeHash: f.result.CodeHash,
			Static: f.result.Static, DryRun: f.result.DryRun, ConfirmationMode: f.confirmationMode(),
		},
		Interrupted: f.interrupted,
	}
	if f.executed != nil {
		plan := f.planRef()
		in.Executed, in.Signature, in.Plan = f.executed, &f.signed.Signature, &plan
		in.Schedule = f.in.Schedule
		in.DriftReplans = f.costReplans
		if f.result.Execution != nil {
			in.DriftReplans += f.result.Execution.StaleReplans
		}
	}
	var d activities.Decided
	if f.interrupted == nil {
		if err := f.decision(in, &d); err != nil {
			f.interrupt(StageDecision, err)
		}
	}
	if f.interrupted != nil {
		in.Interrupted = f.interrupted
		if err := workflow.ExecuteActivity(f.lasting(), a.Decide, f.step(), in).Get(f.ctx, &d); err != nil {
			// Postgres unreachable for longer than lastingOptions allow:
			// `cfa audit verify` reports the intent abandoned.
			return f.result, err
		}
	}
	f.seq = d.Through
	if d.PromotionSummary != "" {
		f.done(StagePromotion, d.PromotionSummary)
	}
	f.done(StageDecision, d.Summary)
	f.result.DecisionState, f.result.DecidedBy, f.result.Reason, f.result.Faults = d.Decision.State, d.Decision.DecidedBy, d.Decision.Reason, d.Decision.Faults
	f.result.Promotion = d.Promotion
	f.result.AuditEvents = f.seq
	f.done(StageCompleted, string(d.Decision.State))
	var target *signature.Signature
	if f.signed.Signature.Intent != "" {
		target = &f.signed.Signature
	}
	f.showIndex("", nil, target)
	f.result.Stages = slices.Clone(f.status.Stages)
	res := f.result
	f.status.Result = &res
	return f.result, nil
}

// decision runs steps 17–19 as a local activity; a failure a longer wait
// may fix (an outage) retries the same decision as a regular activity.
func (f *intentFlow) decision(in activities.DecideInput, d *activities.Decided) error {
	err := workflow.ExecuteLocalActivity(f.ctx, a.Decide, f.step(), in).Get(f.ctx, d)
	var appErr *temporal.ApplicationError
	if err == nil || f.ctx.Err() != nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		return err
	}
	return workflow.ExecuteActivity(f.lasting(), a.Decide, f.step(), in).Get(f.ctx, d)
}

// lasting is the context of the decision's regular activity.
func (f *intentFlow) lasting() workflow.Context {
	return workflow.WithActivityOptions(f.ctx, lastingOptions())
}

func (f *intentFlow) confirmationMode() string {
	switch {
	case f.result.Confirmation != nil:
		return string(f.result.Confirmation.Mode)
	case f.result.Resolution != nil:
		return string(f.result.Resolution.ConfirmationMode)
	}
	return ""
}

// index is the intent's row in the intents index when it is received.
func (f *intentFlow) index() db.Intent {
	info := workflow.GetInfo(f.ctx)
	return db.Intent{IntentID: f.id, WorkflowID: f.id, RunID: info.WorkflowExecution.RunID, CorrelationID: f.corr,
		Status: IntentStatusRunning, SubmittedAt: info.WorkflowStartTime.UTC()}
}
