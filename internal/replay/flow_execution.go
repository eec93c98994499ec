package replay

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// Steps 11 to 16: what the environment answered (the lock, the
// revalidation, the units, the projection), and the partial failure
// policy computed again from it.

// publish is a publish-only plan: the publication is the environment's
// answer (a refusal, I7, records no event: the decision is the answer).
func (r *run) publish() error {
	if !r.publishOnly {
		return nil
	}
	r.stopped = true
	e, ok, err := r.take(intent.StageProjection, true, audit.EventEnvironmentUpdate)
	if err != nil || !ok {
		return err
	}
	var pub events.EnvironmentPublished
	if err := e.decode(&pub); err != nil {
		return err
	}
	r.answer(intent.StageProjection, "published "+strings.Join(pub.Partitions, ", "))
	return nil
}

// acquire is step 11: the execution lock, held or refused.
func (r *run) acquire() error {
	if r.reads() {
		return nil // a read takes no lock (docs/adr/0132)
	}
	e, ok, err := r.take(intent.StageLock, true, audit.EventScopeAcquired, audit.EventScopeRejected)
	if err != nil || !ok {
		return err
	}
	if e.Type == audit.EventScopeRejected {
		var rej events.ScopeRejected
		if err := e.decode(&rej); err != nil {
			return err
		}
		r.answer(intent.StageLock, "execution lock refused: held by "+strings.Join(rej.Ahead, ", "))
		r.stop(concurrency.ConflictVote(rej.Ahead))
		return nil
	}
	r.answer(intent.StageLock, "execution lock acquired")
	return nil
}

// revalidate is step 12: the versions in force then are the environment's
// answer; the comparison with the signed execution_context is computed
// again. A stale environment signs again from step 6 under them.
func (r *run) revalidate() error {
	e, ok, err := r.take(intent.StageRevalidation, true, audit.EventRevalidation)
	if err != nil || !ok {
		return err
	}
	var got events.Revalidation
	if err := e.decode(&got); err != nil {
		return err
	}
	signedCtx := r.signed.Signature.ExecutionContext
	now := r.cons
	now.RegistryVersionID, now.PolicyBundleVersion, now.CatalogSnapshotVersion = signedCtx.RegistryVersionID, signedCtx.PolicyBundleVersion, signedCtx.CatalogSnapshotVersion
	for _, m := range got.Mismatches {
		switch m.Field {
		case revalidation.FieldRegistryVersionID:
			now.RegistryVersionID = m.Current
		case revalidation.FieldPolicyBundleVersion:
			now.PolicyBundleVersion = m.Current
		case revalidation.FieldCatalogSnapshotVersion:
			now.CatalogSnapshotVersion = m.Current
		}
	}
	rv, err := revalidation.Revalidate(signedCtx, now.executionContext())
	if err != nil {
		return r.differ(intent.StageRevalidation, "error", "(none)", err.Error())
	}
	if err := r.compare(intent.StageRevalidation, e.Details, events.Revalidation{Result: rv}, string(rv.Outcome)); err != nil {
		return err
	}
	if rv.Outcome != revalidation.Replan {
		return nil
	}
	r.answer(intent.StageRevalidation, "stale_environment_state: "+rv.Summary())
	b, ok := r.rec.Bundles[now.PolicyBundleVersion]
	if !ok {
		return r.refuse("policy bundle " + now.PolicyBundleVersion + " is not recorded")
	}
	now.MaxReplanAttempts = b.MaxReplanAttempts
	next := r.signed.Signature
	next.Replan++
	if next.Replan > now.MaxReplanAttempts {
		e, ok, err := r.take(intent.StageRevalidation, false, audit.EventMaxReplanExceeded)
		if err != nil || !ok {
			return err
		}
		want := events.MaxReplanAttemptsExceeded{Reason: policy.ReasonMaxReplanAttemptsExceeded, Cause: revalidation.ReasonStaleEnvironmentState, Replans: r.signed.Signature.Replan}
		if err := r.compare(intent.StageRevalidation, e.Details, want, policy.ReasonMaxReplanAttemptsExceeded); err != nil {
			return err
		}
		r.stop(revalidation.MaxReplansExceeded(next.Replan, now.MaxReplanAttempts, rv))
		return nil
	}
	if err := r.consultation(now, nil); err != nil {
		return err
	}
	r.pending, r.signReason, r.again = next, revalidation.ReasonStaleEnvironmentState, true
	return nil
}

// execute is steps 13–16: the units' runtime reports are the environment's
// answers; the partial failure policy (or Panic Rollback) is computed
// again from them and compared; the projection's outcome is an answer.
func (r *run) execute() error {
	if r.reads() {
		return r.read()
	}
	var ran []kernel.RanUnit
	for {
		e, ok := r.peek()
		if !ok {
			return errEnded
		}
		if e.Type == audit.EventDecision && len(ran) == 0 {
			var d events.Decision
			if err := e.decode(&d); err != nil {
				return err
			}
			if d.DecidedBy != string(decision.AuthoritySandboxMonitor) {
				// No unit ran and nothing failed: no partition of the
				// window held data. The Decision Engine decides again.
				r.answer(intent.StageExecution, "no unit ran: no partition of the window held data")
				r.stopped = true
				return nil
			}
		}
		if e.Type != audit.EventUnitExecuted {
			break
		}
		r.pos++
		var u events.UnitExecuted
		if err := e.decode(&u); err != nil {
			return err
		}
		ran = append(ran, kernel.RanUnit{Key: u.Unit, Report: u.Report})
	}
	e, ok, err := r.take(intent.StageExecution, true, audit.EventPartialExecution, audit.EventPanicRollback)
	if err != nil || !ok {
		return err
	}
	r.answer(intent.StageExecution, fmt.Sprintf("%d units' runtime reports, as recorded", len(ran)))
	cu, _ := kernel.ConsistencyUnitOf(*r.plan.Plan)
	in := kernel.PartialInput{Target: r.plan.Plan.Target, ConsistencyUnit: cu, Mode: r.req.PartialFailureMode,
		PublishRequested: r.signed.Signature.HasOp(signature.OpPublish), Limits: runtimevalidation.DefaultLimits(), Ran: ran,
		Atomic: kernel.Atomic(*r.plan.Plan)}
	if e.Type == audit.EventPanicRollback {
		var p events.PanicRollback
		if err := e.decode(&p); err != nil {
			return err
		}
		for _, a := range p.UnitActions {
			in.Keys = append(in.Keys, a.Key)
		}
		in.Panic = &kernel.Panic{Trigger: p.Trigger, Reason: p.Reason}
		r.answer(intent.StageExecution, fmt.Sprintf("environmental fault %s: %s", p.Trigger, oneLine(p.Reason)))
	} else {
		for _, u := range ran {
			in.Keys = append(in.Keys, u.Key)
		}
	}
	k, err := kernel.ApplyPartialFailurePolicy(in)
	if err != nil {
		return r.differ(intent.StagePartial, "error", "(none)", err.Error())
	}
	r.votes = append(r.votes, k.Votes...)
	if p := k.Panic; p != nil {
		if err := r.compare(intent.StagePartial, e.Details, events.PanicRollback{Trigger: p.Trigger, Reason: p.Reason, UnitActions: p.Actions}, "panic rollback: quarantined"); err != nil {
			return err
		}
		r.vote(p.Vote)
		if p.Violation != nil {
			r.violations = append(r.violations, *p.Violation)
		}
		r.stopped = true
		return nil
	}
	o := k.Outcome
	if err := r.compare(intent.StagePartial, e.Details, events.PartialExecution{State: o.State, UnitActions: o.Actions, PublishStatus: o.PublishStatus}, string(o.State.OverallState)); err != nil {
		return err
	}
	e, ok, err = r.take(intent.StageProjection, true, audit.EventEnvironmentUpdate)
	if err != nil || !ok {
		return err
	}
	if e.Outcome == "failed" {
		var f events.ProjectionFailed
		if err := e.decode(&f); err != nil {
			return err
		}
		r.answer(intent.StageProjection, "the projection failed: "+oneLine(f.Error))
		r.violations = append(r.violations, projection.FailedViolation(r.rec.IntentID, f.Error))
		return nil
	}
	var pr events.EnvironmentProjected
	if err := e.decode(&pr); err != nil {
		return err
	}
	r.answer(intent.StageProjection, "projected into registry "+pr.VersionID)
	return nil
}
