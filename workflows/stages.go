package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/precost"
)

// The stages of steps 1–10 and the publication of a publish-only plan, in
// flow order. Each runs its activity and keeps what the next stages need.

// receive is step 1: the intent enters the index and the audit trail.
func (f *intentFlow) receive() error {
	return f.apply(f.local(StageReceived, a.Receive, &activities.Stage{}, activities.ReceiveInput{Request: f.in, Index: f.index()}))
}

// consult is step 2.
func (f *intentFlow) consult() error {
	var c activities.Consulted
	if err := f.apply(f.local(StageRegistry, a.ConsultRegistry, &c, nil)); err != nil {
		return err
	}
	f.cons, f.bundle = c.Consultation, c.PolicyBundleVersion
	return nil
}

// normalize is step 4.
func (f *intentFlow) normalize() error {
	var n activities.Normalized
	if err := f.apply(f.local(StageNormalizer, a.Normalize, &n, activities.NormalizeInput{
		Text: f.in.Text, Signature: f.in.Signature, RegistryVersionID: f.cons.RegistryVersionID, CostCeilingDBU: f.in.CostCeilingDBU,
	})); err != nil {
		return err
	}
	f.result.Resolution, f.pending = &n.Resolution, n.Resolution.Signature
	return nil
}

// checkScope is step 3.
func (f *intentFlow) checkScope() error {
	return f.apply(f.local(StageLock, a.CheckScope, &activities.Stage{}, activities.ScopeCheckInput{
		Signature: f.pending, RegistryVersionID: f.cons.RegistryVersionID, OnConflict: f.in.OnConflict, DryRun: f.in.DryRun,
	}))
}

// confirm (step 5) is in confirm.go, with the Confirmation Orchestrator's wait.

// sign is step 6; each signing starts a new governance cycle.
func (f *intentFlow) sign() error {
	f.votes, f.violations = nil, nil
	var s activities.SignedStage
	if err := f.apply(f.local(StageSignature, a.Sign, &s, activities.SignInput{Signature: f.pending, Consultation: f.cons, Reason: f.signReason})); err != nil {
		return err
	}
	f.setSignature(s.Signed)
	f.remember(s.Signed.Signature)
	return nil
}

// govern is step 7.
func (f *intentFlow) govern() error {
	var g activities.Governed
	if err := f.apply(f.local(StagePolicyEngine, a.Govern, &g, activities.GovernInput{
		Signed: f.signed, RegistryVersionID: f.cons.RegistryVersionID, Propose: f.in.Proposes(),
	})); err != nil {
		return err
	}
	f.governed(g)
	return nil
}

// governed keeps a governance run's attempts and its final signature, or
// the proposed one (replan_mode propose ends the cycle).
func (f *intentFlow) governed(g activities.Governed) {
	f.result.PolicyAttempts = append(f.result.PolicyAttempts, g.Attempts...)
	f.result.Replans = g.Replans
	switch {
	case g.Final == nil:
		return
	case g.Proposed:
		p := g.Final.Signature
		f.result.Proposed, f.result.ProposedHash = &p, g.Final.Hash
		next := f.in
		next.Text, next.Signature, next.CorrelationID = "", &p, f.corr
		next.Plan = nil // a supplied plan was checked against the old signature
		f.result.NextCycle = &next
	default:
		f.setSignature(*g.Final)
	}
}

// estimateCost is step 8: over the ceiling it replans with a filter
// (counted toward the 3 replans) and estimates again; near it, a human
// confirms the spend.
func (f *intentFlow) estimateCost() error {
	f.result.DryRun = f.in.DryRun
	for {
		var e activities.Estimated
		if err := f.apply(f.local(StagePreCost, a.EstimatePreCost, &e, activities.PreCostInput{
			Signed: f.signed, RegistryVersionID: f.cons.RegistryVersionID, CostCeilingDBU: f.in.CostCeilingDBU,
		})); err != nil {
			return err
		}
		pc := e.PreCost
		f.planning.PreCost, f.result.PreCost = &pc, &pc
		switch pc.Verdict.Action {
		case precost.ActionEscalate:
			rec, err := f.awaitHuman(confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerPreCostNearCeiling}, f.signed.Signature, pc.Verdict.Reason)
			f.result.CostConfirmation = &rec
			return err
		case precost.ActionForceReplanWithFilter:
			var g activities.Governed
			if err := f.apply(f.local(StagePreCost, a.ReplanForCost, &g, activities.CostReplanInput{
				Signed: f.signed, RegistryVersionID: f.cons.RegistryVersionID, Verdict: pc.Verdict, Propose: f.in.Proposes(),
			})); err != nil {
				return err
			}
			f.governed(g)
			if f.stopped {
				return nil
			}
			f.costReplans++
			continue
		}
		return nil
	}
}

// plan is step 9: the Execution Planner.
func (f *intentFlow) plan() error {
	var p activities.Planned
	if err := f.apply(f.local(StagePlanner, a.PlanExecution, &p, activities.PlanInput{
		Signed: f.signed, AsOf: f.asOf(), Composite: f.in.Composite, Supplied: f.in.Plan, PreCost: *f.planning.PreCost, DryRun: f.in.DryRun,
		RowLimit: f.in.RowLimit,
	})); err != nil {
		return err
	}
	p.Planning.PreCost = f.planning.PreCost
	f.planning = p.Planning
	if pl := p.Planning.Plan; pl != nil && !f.stopped {
		f.result.PlanHash, f.result.ConsistencyUnit = pl.Hash, pl.ConsistencyUnit
		f.result.ServedBySkill = p.Planning.ServedBy
	}
	return nil
}

// generate is step 9: code generation.
func (f *intentFlow) generate() error {
	var g activities.Generated
	if err := f.apply(f.local(StageCodeGen, a.GenerateCode, &g, activities.GenerateInput{Planning: f.planning})); err != nil {
		return err
	}
	f.code = g.Code
	if !f.stopped {
		f.result.CodeHash = g.Code.Postgres.Hash
	}
	return nil
}

// validate is step 10.
func (f *intentFlow) validate() error {
	var v activities.Validated
	if err := f.apply(f.local(StageStatic, a.ValidateStatic, &v, activities.StaticInput{Planning: f.planning, Code: f.code})); err != nil {
		return err
	}
	f.result.Static = v.Static
	if v.PublishOnly {
		f.publishes = v.Target
	}
	return nil
}

// publish runs a publish-only plan: nothing runs in SQL; the committed
// partitions of its target become visible (docs/adr/0073), then the flow
// decides. Any other plan goes on to the lock.
func (f *intentFlow) publish() error {
	if f.publishes == "" {
		return nil
	}
	err := f.apply(f.local(StageProjection, a.PublishDataset, &activities.Stage{}, activities.PublishInput{Dataset: f.publishes}))
	f.stopped = true
	return err
}

func (f *intentFlow) setSignature(s activities.Signed) {
	sig := s.Signature
	f.signed = s
	f.result.Signature, f.result.SignatureHash = &sig, s.Hash
}

// asOf is the date relative windows are resolved against: the intent's
// as_of, or today (workflow time).
func (f *intentFlow) asOf() string {
	if f.in.AsOf != "" {
		return f.in.AsOf
	}
	return workflow.Now(f.ctx).UTC().Format("2006-01-02")
}
