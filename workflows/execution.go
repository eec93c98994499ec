package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// DefaultUnitRetryBase is retry_policy.backoff's base (whitepaper 5.8).
const DefaultUnitRetryBase = 30 * time.Second

// scopeRecheck bounds a queued intent's wait between wake-up signals: it
// re-checks, which recovers the scope of a holder that died.
const scopeRecheck = 30 * time.Second

// unitOptions is the sandbox activity: retried by Temporal with exponential
// backoff, at most 3 attempts; governance, invalid-input and environmental
// faults are never retried.
func (r *intentRun) unitOptions() workflow.ActivityOptions {
	base := DefaultUnitRetryBase
	if r.in.UnitRetryBaseSeconds > 0 {
		base = time.Duration(r.in.UnitRetryBaseSeconds) * time.Second
	}
	retry := partialexecution.DefaultRetryPolicy()
	return workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		// The unit heartbeats every 5 s; a dead worker's unit is retried
		// after 20 s.
		HeartbeatTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        base,
			BackoffCoefficient:     retry.BackoffCoefficient(),
			MaximumAttempts:        int32(retry.MaxAttempts),
			NonRetryableErrorTypes: append([]string{activities.ErrInvalidInput, activities.ErrEnvironmental}, retry.NonRetryableErrorTypes()...),
		},
	}
}

// execute runs steps 11–16 for a statically validated plan: lock, revalidate,
// run each consistency unit in the sandbox, validate it at runtime, apply the
// partial failure policy, project, and decide.
func (r *intentRun) execute(signed activities.Signed, p planner.ExecutionPlan, code string, votes []decision.Vote) (IntentResult, error) {
	// Intents started before the I4 gate and the cost feedback existed
	// replay without them (workflows/testdata).
	gates := workflow.GetVersion(r.ctx, ChangeExecutionGates, workflow.DefaultVersion, 1) >= 1
	sum := &ExecutionSummary{}
	if prev := r.result.Execution; prev != nil { // after a stale_environment_state replan
		sum.Queued, sum.StaleReplans, sum.Recovered = prev.Queued, prev.StaleReplans, prev.Recovered
	}
	r.result.Execution = sum

	// Step 11: acquire the execution lock before revalidation.
	info := workflow.GetInfo(r.ctx)
	released := workflow.GetSignalChannel(r.ctx, SignalScopeReleased)
	for {
		var lock activities.LockOutcome
		r.holdsScope = true // from the request on: waiting or held
		if err := r.local(a.AcquireScope, &lock, activities.LockInput{
			IntentID: r.id, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Plan: p, OnConflict: r.in.OnConflict,
		}); err != nil {
			return r.result, err
		}
		sum.Scopes = lock.Scopes
		sum.Recovered = append(sum.Recovered, lock.Recovered...)
		r.wake(lock.Wake)
		if lock.Rejected {
			r.holdsScope = false // the store released the request
		}
		if lock.Held {
			if err := r.audit(audit.EventScopeAcquired, StageLock, "acquired", system(), audit.ActionWrite, scopeTargets(lock.Scopes), map[string]any{
				"scopes": lock.Scopes, "queued": sum.Queued, "recovered": lock.Recovered, "lock_point": "before_pre_execution_revalidation",
			}); err != nil {
				return r.result, err
			}
			r.done(StageLock, fmt.Sprintf("%d scopes held (%s)", len(lock.Scopes), firstScope(lock.Scopes)))
			break
		}
		ahead := make([]string, 0, len(lock.Ahead))
		for _, h := range lock.Ahead {
			ahead = append(ahead, h.IntentID)
		}
		if lock.Rejected {
			vote := scopeConflictVote(ahead)
			if err := r.audit(audit.EventScopeRejected, StageLock, "blocked", system(), audit.ActionInvoke, scopeTargets(lock.Scopes), map[string]any{
				"scopes": lock.Scopes, "ahead": ahead,
			}); err != nil {
				return r.result, err
			}
			r.done(StageLock, "rejected: "+vote.Reason)
			return r.decide(decision.Input{Votes: append(votes, vote)})
		}
		if !sum.Queued {
			sum.Queued = true
			if err := r.audit(audit.EventScopeQueued, StageLock, "queued", system(), audit.ActionInvoke, scopeTargets(lock.Scopes), map[string]any{
				"scopes": lock.Scopes, "ahead": ahead,
			}); err != nil {
				return r.result, err
			}
			r.done(StageLock, "queued behind "+strings.Join(ahead, ", "))
		}
		// Wait for a release signal, or re-check after a while (a holder
		// that died sends nothing).
		sel := workflow.NewSelector(r.ctx)
		sel.AddReceive(released, func(c workflow.ReceiveChannel, _ bool) { c.Receive(r.ctx, nil) })
		sel.AddFuture(workflow.NewTimer(r.ctx, scopeRecheck), func(workflow.Future) {})
		sel.Select(r.ctx)
	}

	// I4: a projection that failed on a conflicting scope while this intent
	// waited leaves its environment uncertain.
	if gates {
		if stop, err := r.checkCertain(sum.Scopes); err != nil || stop != nil {
			if err != nil {
				return r.result, err
			}
			return r.decide(*stop)
		}
	}

	// Step 12: pre-execution revalidation (TOCTOU).
	var rv revalidation.Result
	if err := r.local(a.Revalidate, &rv, activities.RevalidateInput{IntentID: r.id, ExecutionContext: signed.Signature.ExecutionContext}); err != nil {
		return r.result, err
	}
	if err := r.audit(audit.EventRevalidation, StageRevalidation, string(rv.Outcome), system(), audit.ActionRead, nil, rv); err != nil {
		return r.result, err
	}
	if rv.Outcome == revalidation.Replan {
		sum.StaleReplans++
		r.done(StageRevalidation, "stale_environment_state: "+mismatchText(rv))
		// The scope stays held while the intent replans: it keeps its place,
		// and nothing else can change its datasets meanwhile.
		return r.replanStale(signed, rv, votes)
	}
	r.done(StageRevalidation, "execution_context current")

	// Steps 13–14: each consistency unit in the sandbox, validated at runtime.
	var units activities.Units
	if err := r.local(a.DiscoverUnits, &units, activities.UnitsInput{IntentID: r.id, Plan: p}); err != nil {
		return r.result, err
	}
	if len(units.Keys) == 0 {
		// Nothing in the window: nothing runs, nothing changes; decide
		// releases the scope.
		r.done(StageExecution, "no partition of the window holds data: nothing to run")
		return r.decide(decision.Input{Votes: votes})
	}
	mode := partialexecution.Mode(r.in.PartialFailureMode)
	if mode == "" {
		mode = partialexecution.SelectiveQuarantine
	}
	policy, err := partialexecution.DefaultPolicy(mode)
	if err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	cfgUnits := make([]partialexecution.Unit, len(units.Keys))
	for i, k := range units.Keys {
		cfgUnits[i] = partialexecution.Unit{Dataset: p.Target, Key: k}
	}
	flow, err := partialexecution.NewFlow(partialexecution.Config{
		Policy: policy, Retry: partialexecution.DefaultRetryPolicy(), ConsistencyUnit: units.ConsistencyUnit,
		PublishRequested: signed.Signature.HasOp(signature.OpPublish), Units: cfgUnits,
	})
	if err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	r.done(StageExecution, fmt.Sprintf("%d consistency units (%s by %s): %s", len(units.Keys), units.ConsistencyUnit.Type, units.ConsistencyUnit.Key, strings.Join(units.Keys, ", ")))
	for _, k := range units.Keys {
		sum.Units = append(sum.Units, UnitState{Key: k, State: "running"})
	}
	r.status.Units = sum.Units

	var role string
	if err := r.local(a.PrepareSandbox, &role, activities.UnitsInput{IntentID: r.id, Plan: p}); err != nil {
		return r.result, err
	}
	uctx, cancelUnits := workflow.WithCancel(workflow.WithActivityOptions(r.ctx, r.unitOptions()))
	defer cancelUnits()
	futures := make([]workflow.Future, len(units.Keys))
	for i, k := range units.Keys {
		futures[i] = workflow.ExecuteActivity(uctx, a.ExecuteUnit, activities.UnitInput{
			IntentID: r.id, Plan: p, Code: code, Key: k, Partitioned: units.Partitioned,
			PolicyBundleVersion: signed.Signature.ExecutionContext.PolicyBundleVersion, Role: role,
		})
	}
	var reports []runtimevalidation.UnitReport
	var panicked *activities.EnvironmentalFault
	var finished []partialexecution.UnitResult
	for i, k := range units.Keys {
		u := partialexecution.Unit{Dataset: p.Target, Key: k}
		var out activities.UnitOutcome
		err := futures[i].Get(r.ctx, &out)
		res, env := unitResult(u, out, err)
		if env == nil && panicked == nil && r.ctx.Err() != nil {
			// The workflow was cancelled while this unit had already
			// finished: the cancellation is the panic all the same.
			env = &activities.EnvironmentalFault{Trigger: partialexecution.TriggerExecutionCancelled, Reason: "execution cancelled"}
		}
		if env != nil {
			if panicked == nil {
				panicked = env
				cancelUnits() // interrupt every unit still in flight
				// From here on the rollback must finish even if the workflow
				// itself was cancelled (the execution_cancelled trigger).
				r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
			}
			r.setUnit(k, "interrupted", 0, 0, activities.ErrEnvironmental)
			continue
		}
		if res.Report != nil {
			reports = append(reports, *res.Report)
		}
		finished = append(finished, res.Result)
		r.setUnit(k, string(res.Result.Status), res.Result.Attempts, rows(res.Report), res.Result.ErrorCode)
		if err := r.audit(audit.EventUnitExecuted, StageExecution, string(res.Result.Status), system(), audit.ActionWrite,
			[]string{fmt.Sprintf("unit:%s/%s", p.Target, k)}, map[string]any{
				"unit": k, "attempts": res.Result.Attempts, "error_code": res.Result.ErrorCode, "report": res.Report,
			}); err != nil {
			return r.result, err
		}
		if panicked == nil {
			if err := flow.Record(res.Result); err != nil {
				return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
			}
		}
	}
	ran := executed{signed: signed, plan: p, codeHash: r.result.CodeHash, units: len(units.Keys)}
	if panicked != nil {
		ran.critical = true
		// Finished units with their attempts; each interrupted one ran once.
		ran.attempts = len(units.Keys) - len(finished)
		for _, f := range finished {
			ran.attempts += f.Attempts
		}
		return r.panicRollback(p, flow, *panicked, finished, units, votes, ran)
	}

	// Step 15: retry_failed_units → apply_partial_failure_policy → project_state.
	// The activity RetryPolicy already retried each unit; nothing is left to
	// retry unless a unit ended before its last attempt.
	if retries, err := flow.RetryFailedUnits(); err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	} else if len(retries) > 0 {
		return r.result, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%d units still retryable after the activity retries", len(retries)), activities.ErrInvalidInput, nil)
	}
	outcome, err := flow.ApplyPartialFailurePolicy()
	if err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	if _, err := flow.ProjectState(); err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	st := outcome.State
	sum.PartialExecutionState, sum.PublishStatus = &st, string(outcome.PublishStatus)
	for _, a := range outcome.Actions {
		ran.attempts += a.Attempts
		if a.Action == partialexecution.ActionCommit {
			ran.committed = append(ran.committed, a.Key)
		}
	}
	if err := r.audit(audit.EventPartialExecution, StagePartial, string(st.OverallState), system(), audit.ActionInvoke, []string{"dataset:" + p.Target}, map[string]any{
		"partial_execution_state": st, "unit_actions": outcome.Actions, "publish_status": outcome.PublishStatus,
	}); err != nil {
		return r.result, err
	}
	r.done(StagePartial, fmt.Sprintf("%s (%s)", st.OverallState, st.ConsistencyPolicy.Mode))

	// Step 16: projection and lock release, atomic and versioned.
	var proj activities.Projected
	pctx := workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrInvalidInput}},
	})
	agg, aggErr := runtimevalidation.Aggregate(runtimevalidation.DefaultLimits(), reports)
	var actual float64
	for _, rep := range reports {
		actual += rep.Metrics.CostDBU
	}
	var shape string
	if gates {
		if err := r.local(a.ShapeHash, &shape, signed.Signature); err != nil {
			return r.result, err
		}
	}
	if err := workflow.ExecuteActivity(pctx, a.Project, activities.ProjectInput{
		IntentID: r.id, Plan: p, Outcome: outcome, Partitioned: units.Partitioned,
		PolicyBundleVersion: signed.Signature.ExecutionContext.PolicyBundleVersion, Now: workflow.Now(r.ctx).UTC(),
		ShapeHash: shape, ActualDBU: actual,
	}).Get(r.ctx, &proj); err != nil {
		// Nothing reached the target.
		ran.critical, ran.shape, ran.committed = true, shape, nil
		if aggErr == nil {
			ran.runtime = &agg
		}
		return r.projectionFailed(p, signed, err, votes, ran)
	}
	for _, a := range outcome.Actions {
		r.setUnit(a.Key, string(a.Action), a.Attempts, -1, a.ErrorCode)
	}
	sum.RegistryVersionID = proj.Environment.VersionID
	if err := r.audit(audit.EventEnvironmentUpdate, StageProjection, "projected", system(), audit.ActionWrite, []string{"context_registry:" + proj.Environment.VersionID}, map[string]any{
		"version_id": proj.Environment.VersionID, "moved": proj.Moved, "withheld": proj.Withheld, "released_scopes": sum.Scopes, "replayed": proj.Replayed,
	}); err != nil {
		return r.result, err
	}
	r.holdsScope = false
	r.done(StageProjection, fmt.Sprintf("registry %s; scopes released", proj.Environment.VersionID))
	r.wake(proj.Wake)

	if aggErr == nil {
		votes = append(votes, agg.Vote())
		ran.runtime = &agg
	}
	ran.shape = shape
	return r.decideExecuted(decision.Input{Votes: append(votes, outcome.Vote)}, ran)
}

// unitResult reads one unit's outcome; an environmental fault is returned
// apart, it triggers Panic Rollback.
type unitRes struct {
	Result partialexecution.UnitResult
	Report *runtimevalidation.UnitReport
}

func unitResult(u partialexecution.Unit, out activities.UnitOutcome, err error) (unitRes, *activities.EnvironmentalFault) {
	if err == nil {
		rep := out.Report
		return unitRes{Result: partialexecution.Succeeded(u, max(rep.Attempt, 1)), Report: &rep}, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == activities.ErrEnvironmental {
			var env activities.EnvironmentalFault
			if appErr.HasDetails() && appErr.Details(&env) == nil {
				return unitRes{}, &env
			}
			return unitRes{}, &activities.EnvironmentalFault{Trigger: partialexecution.TriggerConnectionLost, Reason: appErr.Error()}
		}
		var failed activities.UnitOutcome
		if appErr.HasDetails() && appErr.Details(&failed) == nil {
			rep := failed.Report
			if f, ok := rep.Primary(); ok {
				return unitRes{Result: partialexecution.Failed(u, max(rep.Attempt, 1), f), Report: &rep}, nil
			}
		}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return unitRes{}, &activities.EnvironmentalFault{Trigger: partialexecution.TriggerExecutionCancelled, Reason: "execution cancelled"}
	}
	// The unit could not run at all (retries exhausted on an infrastructure
	// error): it failed, with the error as its fault.
	f := fault.Fault{Code: fault.CodeExecutionUnitFailed, Family: fault.RuntimeBehavioralFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageExecution, MandatoryAction: "quarantine", Message: err.Error()}
	return unitRes{Result: partialexecution.Failed(u, int(partialexecution.DefaultRetryPolicy().MaxAttempts), f)}, nil
}

// panicRollback runs Panic Rollback: every unit's output to quarantine, nothing
// projected, the scopes released, PANIC_ROLLBACK_TRIGGERED audited.
func (r *intentRun) panicRollback(p planner.ExecutionPlan, flow *partialexecution.Flow, env activities.EnvironmentalFault,
	finished []partialexecution.UnitResult, units activities.Units, votes []decision.Vote, ran executed,
) (IntentResult, error) {
	var inFlight []partialexecution.Unit
	for _, k := range units.Keys {
		if !slices.ContainsFunc(finished, func(f partialexecution.UnitResult) bool { return f.Key == k }) {
			inFlight = append(inFlight, partialexecution.Unit{Dataset: p.Target, Key: k})
		}
	}
	out, err := flow.PanicRollback(env.Trigger, env.Reason, inFlight)
	if err != nil {
		return r.result, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
	}
	var wake []string
	if err := workflow.ExecuteActivity(r.ctx, a.PanicRollback, activities.PanicInput{IntentID: r.id, Plan: p, Outcome: out}).Get(r.ctx, &wake); err != nil {
		return r.result, err
	}
	r.holdsScope = false
	r.result.Execution.Panic = &PanicSummary{Trigger: string(env.Trigger), Reason: env.Reason}
	for _, u := range units.Keys {
		r.setUnit(u, "quarantined", 0, -1, out.Fault.Code)
	}
	if err := r.audit(audit.EventPanicRollback, StageExecution, "quarantined", system(), audit.ActionWrite, []string{"dataset:" + p.Target}, map[string]any{
		"trigger": env.Trigger, "reason": env.Reason, "unit_actions": out.Actions, "projection_allowed": false,
	}); err != nil {
		return r.result, err
	}
	r.done(StageExecution, fmt.Sprintf("PANIC_ROLLBACK_TRIGGERED (%s): every unit quarantined, nothing projected", env.Trigger))
	r.wake(wake)
	in := decision.Input{Votes: append(votes, out.Vote)}
	if out.Violation != nil {
		in.InvariantViolations = []decision.Violation{*out.Violation}
	}
	return r.decideExecuted(in, ran)
}

// replanStale handles stale_environment_state: re-consult, re-sign with the
// current execution_context (one more replan, counted against the limit),
// govern, and plan again from step 8.
func (r *intentRun) replanStale(signed activities.Signed, rv revalidation.Result, votes []decision.Vote) (IntentResult, error) {
	var cons activities.Consultation
	if err := r.local(a.ConsultRegistry, &cons); err != nil {
		return r.result, err
	}
	next := signed.Signature
	next.Replan++
	if next.Replan > cons.MaxReplanAttempts {
		f := fault.Fault{Code: fault.CodeMaxReplanAttemptsExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
			Stage: fault.StageRevalidation, DetectedBeforeExecution: true, MandatoryAction: "block",
			Message: fmt.Sprintf("stale_environment_state needs replan %d, the limit is %d", next.Replan, cons.MaxReplanAttempts)}
		if rv.Fault != nil {
			f.Remediation = rv.Fault.Remediation
		}
		if workflow.GetVersion(r.ctx, ChangeStaleReplanLimitEvent, workflow.DefaultVersion, 1) == 1 {
			if err := r.audit(audit.EventMaxReplanExceeded, StageRevalidation, "blocked", system(), audit.ActionInvoke, nil, map[string]any{
				"reason": "max_replan_attempts_exceeded", "cause": revalidation.ReasonStaleEnvironmentState, "replans": signed.Signature.Replan,
			}); err != nil {
				return r.result, err
			}
		}
		return r.decide(decision.Input{Votes: append(votes, decision.Vote{Authority: decision.AuthorityRevalidation, Outcome: decision.Blocked,
			Reason: "max_replan_attempts_exceeded", Faults: []fault.Fault{f}})})
	}
	var resigned activities.Signed
	if err := r.local(a.Sign, &resigned, activities.SignInput{Signature: next, ExecutionContext: signature.ExecutionContext{
		PolicyBundleVersion: cons.PolicyBundleVersion, CatalogSnapshotVersion: cons.CatalogSnapshotVersion, RegistryVersionID: cons.Environment.VersionID,
	}}); err != nil {
		return r.result, err
	}
	r.setSignature(resigned)
	if err := r.audit(audit.EventSignatureGenerated, StageSignature, "replanned", system(), audit.ActionWrite, datasetTargets(resigned.Signature), map[string]any{
		"intent_signature_hash": resigned.Hash, "signature": resigned.Signature, "reason": revalidation.ReasonStaleEnvironmentState,
	}); err != nil {
		return r.result, err
	}
	var gov activities.Governance
	if err := r.local(a.Govern, &gov, activities.GovernInput{IntentID: r.id, Signed: resigned, Environment: cons.Environment, Propose: r.proposes()}); err != nil {
		return r.result, err
	}
	if err := r.auditGovernance(gov); err != nil {
		return r.result, err
	}
	if gov.Outcome == activities.OutcomeReplan {
		// propose mode: the new environment asks for a change the user
		// has not seen; the cycle ends with it (docs/adr/0097).
		return r.decide(decision.Input{Votes: append(votes, r.proposeReplan(gov, decision.AuthorityPolicyEngine, StagePolicyEngine))})
	}
	r.setSignature(gov.Final)
	vote := decision.Vote{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved, Reason: gov.Reason, Faults: gov.Faults}
	switch {
	case gov.Outcome == activities.OutcomeBlock:
		vote.Outcome = decision.Blocked
		return r.decide(decision.Input{Votes: []decision.Vote{vote}})
	case len(gov.Warnings) > 0:
		vote.Outcome = decision.ApprovedWithWarnings
		vote.Faults = append(vote.Faults, gov.WarningFaults...)
	}
	return r.plan(gov.Final, cons.Environment, vote)
}

// wake signals the intents queued on the released scopes.
func (r *intentRun) wake(ids []string) {
	for _, id := range ids {
		if id == workflow.GetInfo(r.ctx).WorkflowExecution.ID {
			continue
		}
		// A queued intent that is gone is not an error: it re-checks anyway.
		_ = workflow.SignalExternalWorkflow(r.ctx, id, "", SignalScopeReleased, nil).Get(r.ctx, nil)
	}
}

func (r *intentRun) setUnit(key, state string, attempts int, rowsOut int64, code string) {
	for i := range r.result.Execution.Units {
		u := &r.result.Execution.Units[i]
		if u.Key != key {
			continue
		}
		u.State = state
		if attempts > 0 {
			u.Attempts = attempts
		}
		if rowsOut >= 0 {
			u.RowsOut = rowsOut
		}
		if code != "" {
			u.ErrorCode = code
		}
	}
	r.status.Units = slices.Clone(r.result.Execution.Units)
}

func rows(rep *runtimevalidation.UnitReport) int64 {
	if rep == nil {
		return -1
	}
	return rep.Metrics.RowsOut
}

func scopeTargets(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, "scope:"+s)
	}
	return out
}

func firstScope(scopes []string) string {
	switch len(scopes) {
	case 0:
		return "-"
	case 1:
		return scopes[0]
	}
	return scopes[0] + " … " + scopes[len(scopes)-1]
}

func mismatchText(rv revalidation.Result) string {
	parts := make([]string, 0, len(rv.Mismatches))
	for _, m := range rv.Mismatches {
		parts = append(parts, fmt.Sprintf("%s %s → %s", m.Field, m.Signed, m.Current))
	}
	return strings.Join(parts, "; ")
}

// releaseHeldScope releases the scope of an intent that ends without a
// projection (blocked after acquiring it, or nothing to run).
func (r *intentRun) releaseHeldScope() error {
	if !r.holdsScope {
		return nil
	}
	var wake []string
	if err := r.local(a.ReleaseScope, &wake, activities.ReleaseInput{IntentID: r.id, Reason: db.ReleaseCancelled}); err != nil {
		return err
	}
	r.holdsScope = false
	r.wake(wake)
	return nil
}

// checkScope is step 3. A non-nil input blocks the intent (reject mode).
func (r *intentRun) checkScope(sig signature.Signature) (*decision.Input, error) {
	// I4 first: every dataset the intent touches, sources included.
	var all []string
	for _, d := range sig.Datasets {
		all = append(all, "dataset:"+d.Name)
	}
	if stop, err := r.checkCertain(all); err != nil || stop != nil {
		return stop, err
	}
	var targets []string
	for _, d := range sig.Targets() {
		targets = append(targets, d.Name)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	var chk activities.ScopeCheck
	if err := r.local(a.CheckScope, &chk, activities.ScopeCheckInput{IntentID: r.id, Datasets: targets}); err != nil {
		return nil, err
	}
	mode := r.in.OnConflict
	if mode == "" {
		mode = db.OnConflictQueue
	}
	outcome := "free"
	if chk.Busy {
		outcome = "busy"
	}
	if err := r.audit(audit.EventScopeCheck, StageLock, outcome, system(), audit.ActionRead, datasetTargets(sig), map[string]any{
		"datasets": targets, "held_or_queued_by": chk.Holders, "conflict_resolution": mode,
	}); err != nil {
		return nil, err
	}
	if !chk.Busy {
		r.done(StageLock, "lock check: target scope free")
		return nil, nil
	}
	if mode == db.OnConflictReject {
		vote := scopeConflictVote(chk.Holders)
		r.done(StageLock, "lock check: "+vote.Reason)
		return &decision.Input{Votes: []decision.Vote{vote}}, nil
	}
	r.done(StageLock, "lock check: busy, will queue behind "+strings.Join(chk.Holders, ", "))
	return nil, nil
}

// projectionFailed applies I4 when the projection did not commit: the
// marker blocks every intent on a conflicting scope until an operator
// resolves it (`cfa registry resolve`); nothing reached the target, so this
// intent is rolled back, its outputs left in staging for the resolution.
func (r *intentRun) projectionFailed(p planner.ExecutionPlan, signed activities.Signed, cause error, votes []decision.Vote, ran executed) (IntentResult, error) {
	var wake []string
	if err := r.local(a.MarkProjectionFailed, &wake, activities.ProjectionFailedInput{
		IntentID: r.id, Scopes: r.result.Execution.Scopes, ParentVersionID: signed.Signature.ExecutionContext.RegistryVersionID,
		Cause: cause.Error(), At: workflow.Now(r.ctx).UTC(),
	}); err != nil {
		return r.result, err
	}
	r.holdsScope = false
	r.wake(wake)
	msg := "state projection failed: " + cause.Error()
	if err := r.audit(audit.EventEnvironmentUpdate, StageProjection, "failed", system(), audit.ActionWrite, []string{"dataset:" + p.Target}, map[string]any{
		"error": cause.Error(), "environment_state": "uncertain", "scopes": r.result.Execution.Scopes,
	}); err != nil {
		return r.result, err
	}
	r.done(StageProjection, "failed: environment_state_uncertain until `cfa registry resolve "+r.id+"`")
	return r.decideExecuted(decision.Input{Votes: votes, InvariantViolations: []decision.Violation{{Invariant: "I4", Forces: decision.RolledBack,
		Fault: fault.Fault{Code: fault.CodeEnvironmentStateUncertain, Family: fault.EnvironmentalFaults, Severity: fault.SeverityCritical,
			Stage: fault.StageStateProjection, MandatoryAction: "block_next_intent", Message: msg,
			Remediation: []string{"check the registry against the data, then `cfa registry resolve " + r.id + " --by NAME --reason TEXT`"}}}}}, ran)
}

// checkCertain is the I4 gate: a non-nil input blocks the intent.
func (r *intentRun) checkCertain(scopes []string) (*decision.Input, error) {
	var gate projection.Gate
	if err := r.local(a.CheckEnvironmentCertain, &gate, activities.CertainInput{IntentID: r.id, Scopes: scopes}); err != nil {
		return nil, err
	}
	if !gate.Blocked {
		return nil, nil
	}
	blockers := make([]string, 0, len(gate.Because))
	for _, b := range gate.Because {
		blockers = append(blockers, b.IntentID)
	}
	r.done(StageLock, "environment_state_uncertain: the projection of "+strings.Join(blockers, ", ")+" failed")
	f := fault.Fault{Code: fault.CodeEnvironmentStateUncertain, Family: fault.EnvironmentalFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageStateProjection, DetectedBeforeExecution: true, MandatoryAction: "block",
		Message: "the projection of " + strings.Join(blockers, ", ") + " failed on a conflicting scope (I4)"}
	if gate.Fault != nil {
		f = *gate.Fault
	}
	return &decision.Input{InvariantViolations: []decision.Violation{{Invariant: "I4", Forces: decision.Blocked, Fault: f}}}, nil
}

// scopeConflictVote blocks an intent whose scope others hold when
// conflict_resolution is reject (step 3 or 11).
func scopeConflictVote(holders []string) decision.Vote {
	reason := fmt.Sprintf("target scope held by %s and conflict_resolution is reject", strings.Join(holders, ", "))
	return decision.Vote{Authority: decision.AuthorityConcurrencyControl, Outcome: decision.Blocked, Reason: reason,
		Faults: []fault.Fault{{Code: fault.CodeScopeLockConflict, Family: fault.SemanticFaults, Severity: fault.SeverityMedium,
			Stage: fault.StageExecution, DetectedBeforeExecution: true, MandatoryAction: "block", Message: reason,
			Remediation: []string{"resubmit when the other intent has finished, or submit with on_conflict queue"}}}}
}
