package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// execution is what steps 11–16 hand one another.
type execution struct {
	// holdsScope: the intent has an active scope request, waiting or held
	// (steps 11–16); whatever ends the intent releases it.
	holdsScope bool
	units      activities.Units
	ran        []activities.UnitRan
	panicked   *activities.EnvironmentalFault
	outcome    *activities.Partial
	// executed is step 18's evidence, once units ran.
	executed *activities.Executed
}

// planRef names the plan and code recorded at step 10 for the signature.
func (f *intentFlow) planRef() activities.PlanRef {
	return activities.PlanRef{IntentID: f.id, SignatureHash: f.signed.Hash}
}

// acquireScope is step 11: the execution lock, before revalidation. Queued
// behind another intent, it waits for a release signal, or re-checks when
// its timer fires (a holder that died sends nothing).
func (f *intentFlow) acquireScope() error {
	if f.reads() {
		return nil // a read writes nothing: no scope to hold (docs/adr/0132)
	}
	if f.result.Execution == nil {
		f.result.Execution = &ExecutionSummary{}
	}
	sum := f.result.Execution
	info := workflow.GetInfo(f.ctx)
	released := workflow.GetSignalChannel(f.ctx, SignalScopeReleased)
	var recheck workflow.Future // at most one pending timer, whatever the wake-ups
	for {
		var lock activities.Locked
		f.holdsScope = true // from the request on: waiting or held
		if err := f.apply(f.local(StageLock, a.AcquireScope, &lock, activities.LockInput{
			Plan: f.planRef(), WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, OnConflict: f.in.OnConflict, Queued: sum.Queued,
		})); err != nil {
			return err
		}
		sum.Scopes, sum.Queued = lock.Scopes, lock.Queued
		sum.Recovered = append(sum.Recovered, lock.Recovered...)
		f.wake(lock.Wake)
		if lock.Rejected {
			f.holdsScope = false // the store released the request
		}
		if lock.Held || f.stopped {
			return nil
		}
		if recheck == nil {
			recheck = workflow.NewTimer(f.ctx, scopeRecheck)
		}
		sel := workflow.NewSelector(f.ctx)
		sel.AddReceive(released, func(c workflow.ReceiveChannel, _ bool) { c.Receive(f.ctx, nil) })
		sel.AddFuture(recheck, func(workflow.Future) { recheck = nil })
		sel.Select(f.ctx)
	}
}

// revalidate is step 12. A stale environment is signed again under the
// versions in force and planned again from step 6, the scope kept.
func (f *intentFlow) revalidate() error {
	var rv activities.Revalidated
	if err := f.apply(f.local(StageRevalidation, a.Revalidate, &rv, activities.RevalidateInput{Signed: f.signed, Scopes: f.scopes()})); err != nil {
		return err
	}
	if rv.Stale && !f.stopped {
		if f.result.Execution != nil {
			f.result.Execution.StaleReplans++
		}
		f.cons, f.pending, f.signReason = rv.Consultation, rv.Next, revalidation.ReasonStaleEnvironmentState
		f.againFrom = StageSignature
	}
	return nil
}

// execute is steps 13–14: every consistency unit runs in the sandbox at
// once and is validated at run time (activity retries are
// retry_failed_units). The first environmental fault interrupts every unit
// still in flight: Panic Rollback follows.
func (f *intentFlow) execute() error {
	var prep activities.Prepared
	if err := f.apply(f.local(StageExecution, a.PrepareExecution, &prep, activities.PrepareInput{Plan: f.planRef(), Mode: f.in.PartialFailureMode})); err != nil {
		return err
	}
	if f.stopped {
		return nil // nothing in the window: nothing runs, nothing changes
	}
	f.units = prep.Units
	sum := f.result.Execution
	for _, k := range prep.Units.Keys {
		sum.Units = append(sum.Units, UnitState{Key: k, State: "running"})
	}
	f.status.Units = slices.Clone(sum.Units)

	uctx, cancelUnits := workflow.WithCancel(workflow.WithActivityOptions(f.ctx, unitOptions(f.in)))
	defer cancelUnits()
	futures := make([]workflow.Future, len(prep.Units.Keys))
	for i, k := range prep.Units.Keys {
		futures[i] = workflow.ExecuteActivity(uctx, a.ExecuteUnit, activities.UnitInput{
			IntentID: f.id, Plan: f.planRef(), Key: k, Partitioned: prep.Units.Partitioned,
			PolicyBundleVersion: f.signed.Signature.ExecutionContext.PolicyBundleVersion, Role: prep.Role,
		})
	}
	for i, k := range prep.Units.Keys {
		var out activities.UnitOutcome
		err := futures[i].Get(f.ctx, &out)
		// A cancellation of the workflow after this unit finished is the
		// panic all the same.
		ran := activities.ReadUnit(k, out, err, f.panicked == nil && f.ctx.Err() != nil)
		if ran.Environmental != nil {
			if f.panicked == nil {
				f.panicked = ran.Environmental
				cancelUnits() // interrupt every unit still in flight
				// From here on the rollback must finish even if the workflow
				// itself was cancelled (the execution_cancelled trigger).
				f.ctx, _ = workflow.NewDisconnectedContext(f.ctx)
			}
			f.setUnit(UnitState{Key: k, State: "interrupted", ErrorCode: activities.ErrEnvironmental})
			continue
		}
		f.ran = append(f.ran, ran)
		f.setUnit(ran.State())
	}
	f.executed = &activities.Executed{}
	return nil
}

// applyPartialPolicy is step 15: retry_failed_units →
// apply_partial_failure_policy → project_state; after an environmental
// fault, Panic Rollback instead: every unit quarantined, nothing projected.
func (f *intentFlow) applyPartialPolicy() error {
	var p activities.Partial
	if err := f.apply(f.local(StagePartial, a.ApplyPartialFailurePolicy, &p, activities.PartialInput{
		Plan: f.planRef(), Units: f.units, Ran: f.ran, Mode: f.in.PartialFailureMode, Panic: f.panicked,
		PublishRequested: f.signed.Signature.HasOp(signature.OpPublish), Signature: f.signed.Signature,
	})); err != nil {
		return err
	}
	f.outcome, f.executed = &p, &p.Executed
	for _, s := range p.States {
		f.setUnit(s)
	}
	sum := f.result.Execution
	if p.Panic == nil {
		st := p.Outcome.State
		sum.PartialExecutionState, sum.PublishStatus = &st, string(p.Outcome.PublishStatus)
		return nil
	}
	var rel activities.Released
	if err := f.apply(f.remote(workflow.WithActivityOptions(f.ctx, projectionOptions()), StageExecution, a.PanicRollback, &rel, activities.PanicInput{Plan: f.planRef(), Outcome: *p.Panic})); err != nil {
		return err
	}
	f.holdsScope = false
	sum.Panic = &PanicSummary{Trigger: string(p.Panic.Trigger), Reason: p.Panic.Reason}
	for _, k := range f.units.Keys {
		f.setUnit(UnitState{Key: k, State: "quarantined", RowsOut: -1, ErrorCode: p.Panic.Fault.Code})
	}
	f.wake(rel.Wake)
	return nil
}

// project is step 16: the State Projection Protocol commits the units'
// moves and the new snapshot, and releases the scopes, atomically. A
// projection that does not commit leaves the environment uncertain (I4):
// marked, the scopes released, the intent rolled back.
func (f *intentFlow) project() error {
	sum, o := f.result.Execution, f.outcome.Outcome
	var proj activities.Projected
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(f.ctx, projectionOptions()), a.Project, activities.ProjectInput{
		IntentID: f.id, Plan: f.planRef(), Outcome: *o, Partitioned: f.units.Partitioned,
		PolicyBundleVersion: f.signed.Signature.ExecutionContext.PolicyBundleVersion, Now: workflow.Now(f.ctx).UTC(),
		ShapeHash: f.executed.ShapeHash, ActualDBU: f.executed.ActualDBU,
	}).Get(f.ctx, &proj)
	if err != nil {
		// Nothing reached the target.
		f.executed.Critical, f.executed.Committed = true, nil
		var rel activities.Released
		if err := f.apply(f.local(StageProjection, a.MarkProjectionFailed, &rel, activities.ProjectionFailedInput{
			Scopes: sum.Scopes, ParentVersionID: f.signed.Signature.ExecutionContext.RegistryVersionID, Cause: err.Error(), Target: f.units.Target,
			Datasets: f.units.Datasets,
		})); err != nil {
			return err
		}
		f.holdsScope = false
		f.wake(rel.Wake)
		return nil
	}
	for _, act := range o.Actions {
		f.setUnit(UnitState{Key: act.Key, State: string(act.Action), Attempts: act.Attempts, RowsOut: -1, ErrorCode: act.ErrorCode})
	}
	sum.RegistryVersionID = proj.VersionID
	f.holdsScope = false
	if err := f.apply(f.local(StageProjection, a.RecordProjection, &activities.Stage{}, activities.ProjectionRecord{Projected: proj, Scopes: sum.Scopes})); err != nil {
		return err
	}
	f.wake(proj.Wake)
	return nil
}

// releaseHeldScope releases the scope of an intent that ends without a
// projection (blocked after asking for it, or nothing to run).
func (f *intentFlow) releaseHeldScope() error {
	if !f.holdsScope {
		return nil
	}
	var wake []string
	if err := workflow.ExecuteLocalActivity(f.ctx, a.ReleaseScope, f.step(), activities.ReleaseInput{Reason: db.ReleaseCancelled}).Get(f.ctx, &wake); err != nil {
		return err
	}
	f.holdsScope = false
	f.wake(wake)
	return nil
}

// setUnit updates one unit's state; zero attempts, negative rows and an
// empty code keep what is known.
func (f *intentFlow) setUnit(s UnitState) {
	for i := range f.result.Execution.Units {
		u := &f.result.Execution.Units[i]
		if u.Key != s.Key {
			continue
		}
		u.State = s.State
		if s.Attempts > 0 {
			u.Attempts = s.Attempts
		}
		if s.RowsOut >= 0 {
			u.RowsOut = s.RowsOut
		}
		if s.ErrorCode != "" {
			u.ErrorCode = s.ErrorCode
		}
	}
	f.status.Units = slices.Clone(f.result.Execution.Units)
}
