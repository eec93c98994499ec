package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// plan runs steps 8–10 after the Policy Engine approved: pre-cost (with
// its replans and escalation), planning, code generation and static
// validation. Any stage that blocks ends the flow at once with its vote;
// nothing after it runs.
func (r *intentRun) plan(signed activities.Signed, env registry.EnvironmentState, policyVote decision.Vote) (IntentResult, error) {
	votes := []decision.Vote{policyVote}
	r.result.DryRun = r.in.DryRun

	// Step 8: Pre-cost Estimator.
	signed, pc, stop, err := r.preCost(signed, env)
	if err != nil {
		return r.result, err
	}
	if stop != nil {
		return r.decide(decision.Input{Votes: append(votes, *stop)})
	}
	rec := activities.RecordPlanInput{IntentID: r.id, SignatureHash: signed.Hash, PreCost: pc, DryRun: r.in.DryRun}
	votes = append(votes, decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Approved, Reason: pc.Verdict.Reason})

	// Step 9: Execution Planner, then code generation.
	var planned activities.Planned
	if err := r.local(a.PlanExecution, &planned, activities.PlanInput{
		IntentID: r.id, Signed: signed, AsOf: r.asOf(),
		Composite: r.in.Composite, Supplied: r.in.Plan,
	}); err != nil {
		return r.result, err
	}
	if planned.Fault != nil {
		f := *planned.Fault
		if err := r.audit(audit.EventPlanningFailed, StagePlanner, "refused", system(), audit.ActionInvoke, []string{"signature:" + signed.Hash}, f); err != nil {
			return r.result, err
		}
		r.done(StagePlanner, "refused: "+f.Message)
		return r.stopPlanning(rec, votes, decision.AuthorityExecutionPlanner, f)
	}
	if planned.ReadOnly {
		r.done(StagePlanner, "read-only intent: nothing is written, so there is no plan, code or static validation")
		rec.ReadOnly = true
		if err := r.local(a.RecordPlan, nil, rec); err != nil {
			return r.result, err
		}
		return r.decide(decision.Input{Votes: votes})
	}
	p := *planned.Plan
	rec.Plan = &p
	r.result.PlanHash, r.result.ConsistencyUnit = p.Hash, p.ConsistencyUnit
	stepIDs := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		stepIDs[i] = s.ID
	}
	if err := r.audit(audit.EventExecutionPlanned, StagePlanner, "planned", system(), audit.ActionWrite, []string{"plan:" + p.Hash}, map[string]any{
		"plan_hash": p.Hash, "intent_signature_hash": p.SignatureHash, "steps": stepIDs, "strategy": p.Strategy,
		"consistency_unit": p.ConsistencyUnit, "consistency_rule": p.ConsistencyRule, "window": p.Window,
		"target": p.Target, "supplied": planned.Governed != nil,
	}); err != nil {
		return r.result, err
	}
	supplied := ""
	if planned.Governed != nil {
		supplied = ", supplied by an external planner"
	}
	r.done(StagePlanner, fmt.Sprintf("plan %s: %d steps, %s, consistency_unit %s%s", p.Hash[:16], len(p.Steps), p.Strategy, p.ConsistencyUnit, supplied))

	var gen activities.Generated
	if err := r.local(a.GenerateCode, &gen, activities.GenerateInput{IntentID: r.id, Plan: p}); err != nil {
		return r.result, err
	}
	if gen.Fault != nil {
		f := *gen.Fault
		if err := r.audit(audit.EventCodeGenerated, StageCodeGen, "refused", system(), audit.ActionInvoke, []string{"plan:" + p.Hash}, f); err != nil {
			return r.result, err
		}
		r.done(StageCodeGen, "refused: "+f.Message)
		return r.stopPlanning(rec, votes, decision.AuthorityStaticValidation, f)
	}
	rec.Code = &gen
	r.result.CodeHash = gen.Postgres.Hash
	if err := r.audit(audit.EventCodeGenerated, StageCodeGen, "generated", system(), audit.ActionWrite, []string{"code:" + gen.Postgres.Hash}, map[string]any{
		"plan_hash": p.Hash, "artifacts": map[string]any{
			gen.Postgres.Backend: map[string]any{"hash": gen.Postgres.Hash, "files": filePaths(gen.Postgres.Files)},
			gen.DBT.Backend:      map[string]any{"hash": gen.DBT.Hash, "files": filePaths(gen.DBT.Files)},
		},
	}); err != nil {
		return r.result, err
	}
	r.done(StageCodeGen, fmt.Sprintf("postgres %s, dbt %s", gen.Postgres.Hash[:16], gen.DBT.Hash[:16]))

	if p.PublishOnly() && planned.Governed == nil {
		// Nothing runs in SQL: publish happens in the workflow after the
		// commit (docs/adr/0073), so there is no statement to analyse.
		r.done(StageStatic, "no statement to analyse: publish-only plan")
		if err := r.local(a.RecordPlan, nil, rec); err != nil {
			return r.result, err
		}
		votes = append(votes, decision.Vote{Authority: decision.AuthorityExecutionPlanner, Outcome: decision.Approved, Reason: "plan " + p.Hash})
		if r.in.DryRun || workflow.GetVersion(r.ctx, ChangeExecutionSteps, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return r.decide(decision.Input{Votes: votes})
		}
		return r.publish(p, votes)
	}

	// Step 10: Static Validation of the code that would run (I6).
	governed := p
	if planned.Governed != nil {
		governed = *planned.Governed
	}
	var rep staticcheck.Report
	if err := r.local(a.ValidateStatic, &rep, activities.StaticInput{IntentID: r.id, Governed: governed, Code: gen.Postgres}); err != nil {
		return r.result, err
	}
	rec.Static = &rep
	sum := &StaticSummary{Passed: rep.Passed}
	for _, v := range rep.Violations {
		sum.Violated = append(sum.Violated, string(v.Rule))
	}
	r.result.Static = sum
	outcome := "passed"
	if !rep.Passed {
		outcome = "blocked"
	}
	if err := r.audit(audit.EventCodeAnalysis, StageStatic, outcome, system(), audit.ActionInvoke, []string{"code:" + gen.Postgres.Hash}, map[string]any{
		"code_hash": gen.Postgres.Hash, "passed": rep.Passed, "violations": rep.Violations,
	}); err != nil {
		return r.result, err
	}
	if !rep.Passed {
		r.done(StageStatic, "blocked: "+strings.Join(sum.Violated, ", "))
		faults := make([]fault.Fault, len(rep.Violations))
		for i, v := range rep.Violations {
			faults[i] = v.Fault
		}
		if err := r.local(a.RecordPlan, nil, rec); err != nil {
			return r.result, err
		}
		return r.decide(decision.Input{Votes: append(votes, decision.Vote{
			Authority: decision.AuthorityStaticValidation, Outcome: decision.Blocked, Faults: faults,
			Reason: fmt.Sprintf("static validation: %s", rep.Violations[0].Message),
		})})
	}
	r.done(StageStatic, "passed")
	if f := planned.Conformance; f != nil {
		// A supplied plan whose code is safe may still not be the approved
		// signature's plan.
		if err := r.audit(audit.EventPlanningFailed, StagePlanner, "refused", system(), audit.ActionInvoke, []string{"plan:" + p.Hash}, f); err != nil {
			return r.result, err
		}
		r.done(StagePlanner, "supplied plan refused: "+f.Message)
		return r.stopPlanning(rec, votes, decision.AuthorityExecutionPlanner, *f)
	}
	if err := r.local(a.RecordPlan, nil, rec); err != nil {
		return r.result, err
	}
	votes = append(votes,
		decision.Vote{Authority: decision.AuthorityExecutionPlanner, Outcome: decision.Approved, Reason: "plan " + p.Hash},
		decision.Vote{Authority: decision.AuthorityStaticValidation, Outcome: decision.Approved, Reason: "code " + gen.Postgres.Hash + " passed"})
	// Histories recorded before steps 11–16 existed decide here.
	executing := workflow.GetVersion(r.ctx, ChangeExecutionSteps, workflow.DefaultVersion, 1)
	if r.in.DryRun || executing == workflow.DefaultVersion {
		return r.decide(decision.Input{Votes: votes})
	}
	return r.execute(signed, p, postgresScript(gen), votes)
}

// postgresScript is the one file of the Postgres artifact.
func postgresScript(gen activities.Generated) string {
	var b strings.Builder
	for _, f := range gen.Postgres.Files {
		b.WriteString(f.Content)
	}
	return b.String()
}

// stopPlanning records what was planned so far and decides blocked.
func (r *intentRun) stopPlanning(rec activities.RecordPlanInput, votes []decision.Vote, by decision.Authority, f fault.Fault) (IntentResult, error) {
	if err := r.local(a.RecordPlan, nil, rec); err != nil {
		return r.result, err
	}
	return r.decide(decision.Input{Votes: append(votes, decision.Vote{
		Authority: by, Outcome: decision.Blocked, Reason: f.Message, Faults: []fault.Fault{f},
	})})
}

// preCost runs the Pre-cost Estimator until its verdict lets the intent go
// on: over the ceiling it replans with a filter (counted toward the 3
// replans) and estimates again; near it, a human confirms the spend. A
// non-nil vote blocks.
func (r *intentRun) preCost(signed activities.Signed, env registry.EnvironmentState) (activities.Signed, activities.PreCost, *decision.Vote, error) {
	for {
		var pc activities.PreCost
		if err := r.local(a.EstimatePreCost, &pc, activities.PreCostInput{
			IntentID: r.id, Signed: signed, Environment: env, Now: workflow.Now(r.ctx).UTC(), CostCeilingDBU: r.in.CostCeilingDBU,
		}); err != nil {
			return signed, pc, nil, err
		}
		r.result.PreCost = &pc
		e, v := pc.Estimate, pc.Verdict
		if err := r.audit(audit.EventPreCostEstimated, StagePreCost, string(v.Action), system(), audit.ActionInvoke, []string{"signature:" + signed.Hash}, map[string]any{
			"estimated_dbu": e.EstimatedDBU, "estimated_shuffle_gb": e.EstimatedShuffleGB, "cost_risk_score": e.CostRiskScore,
			"confidence": e.Confidence, "basis": e.Basis, "history_runs": e.HistoryRuns, "cost_ceiling_dbu": v.CostCeilingDBU,
			"action": v.Action, "reason": v.Reason, "intervention": v.Intervention, "fault": v.Fault,
		}); err != nil {
			return signed, pc, nil, err
		}
		r.done(StagePreCost, fmt.Sprintf("%.2f DBU of a %.0f DBU ceiling (confidence %.2f, %s): %s", e.EstimatedDBU, v.CostCeilingDBU, e.Confidence, e.Basis, v.Action))

		switch v.Action {
		case precost.ActionProceed:
			return signed, pc, nil, nil
		case precost.ActionEscalate:
			conf, err := r.awaitHuman(ConfirmationRecord{Mode: confirmation.ModeHumanEscalation,
				Triggers: []confirmation.Trigger{confirmation.TriggerPreCostNearCeiling}}, signed.Signature, v.Reason)
			if err != nil {
				return signed, pc, nil, err
			}
			r.result.CostConfirmation = &conf
			if conf.Outcome != ConfirmationApproved {
				vote := confirmationVote(conf)
				return signed, pc, &vote, nil
			}
			return signed, pc, nil, nil
		case precost.ActionForceReplanWithFilter:
			var gov activities.Governance
			if err := r.local(a.ReplanForCost, &gov, activities.CostReplanInput{IntentID: r.id, Signed: signed, Environment: env, Verdict: v, Propose: r.proposes()}); err != nil {
				return signed, pc, nil, err
			}
			outcome := "replanned"
			if gov.Outcome == activities.OutcomeBlock {
				outcome = "blocked"
			}
			if gov.Outcome == activities.OutcomeReplan {
				if err := r.audit(audit.EventPreCostReplan, StagePreCost, outcome, system(), audit.ActionInvoke, []string{"signature:" + signed.Hash}, map[string]any{
					"fault": v.Fault, "intervention": v.Intervention, "hint_estimated_dbu": v.HintEstimatedDBU,
					"reason": gov.Reason, "proposed_signature_hash": gov.Final.Hash,
				}); err != nil {
					return signed, pc, nil, err
				}
				vote := r.proposeReplan(gov, decision.AuthorityPreCostEstimator, StagePreCost)
				return signed, pc, &vote, nil
			}
			if err := r.audit(audit.EventPreCostReplan, StagePreCost, outcome, system(), audit.ActionInvoke, []string{"signature:" + signed.Hash}, map[string]any{
				"fault": v.Fault, "intervention": v.Intervention, "hint_estimated_dbu": v.HintEstimatedDBU,
				"reason": gov.Reason, "faults": faultCodes(gov.Faults),
			}); err != nil {
				return signed, pc, nil, err
			}
			if err := r.auditGovernance(gov); err != nil {
				return signed, pc, nil, err
			}
			r.setSignature(gov.Final)
			if gov.Outcome == activities.OutcomeBlock {
				by := decision.AuthorityPreCostEstimator
				if gov.Reason == policy.ReasonPolicyBlock {
					by = decision.AuthorityPolicyEngine
				}
				r.done(StagePreCost, "replan blocked: "+gov.Reason)
				return signed, pc, &decision.Vote{Authority: by, Outcome: decision.Blocked, Reason: gov.Reason, Faults: gov.Faults}, nil
			}
			r.done(StagePreCost, fmt.Sprintf("replanned with %s(%s, last %d days)", v.Intervention.Op, v.Intervention.Column, v.Intervention.LastDays))
			signed = gov.Final
			r.costReplans++
		default:
			f := fault.Fault{Code: fault.CodePreCostCeilingExceeded, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
				Stage: fault.StagePreCostEstimator, DetectedBeforeExecution: true, MandatoryAction: "block", Message: v.Reason}
			if v.Fault != nil {
				f = *v.Fault
			}
			return signed, pc, &decision.Vote{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Blocked, Reason: v.Reason, Faults: []fault.Fault{f}}, nil
		}
	}
}

func filePaths(fs []codegen.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}

// asOf is the date relative windows are resolved against: the intent's
// as_of, or today (workflow time).
func (r *intentRun) asOf() string {
	if r.in.AsOf != "" {
		return r.in.AsOf
	}
	return workflow.Now(r.ctx).UTC().Format("2006-01-02")
}

// publish runs a publish-only plan: the committed partitions of the target
// become visible in its published view.
func (r *intentRun) publish(p planner.ExecutionPlan, votes []decision.Vote) (IntentResult, error) {
	var out activities.Published
	if err := r.local(a.PublishDataset, &out, activities.PublishInput{IntentID: r.id, Dataset: p.Target}); err != nil {
		return r.result, err
	}
	if out.Refused != "" {
		r.done(StageProjection, "publish refused: "+out.Refused)
		// I7 vetoes: the registry changed since the policy engine allowed it.
		return r.decide(decision.Input{Votes: votes, InvariantViolations: []decision.Violation{{Invariant: "I7", Forces: decision.Blocked,
			Fault: fault.Fault{Code: fault.CodeContractPublishPartiallyCommitted, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
				Stage: fault.StageStateProjection, DetectedBeforeExecution: true, MandatoryAction: "block", Message: out.Refused,
				Remediation: []string{"resolve the pending units (rerun the intent that wrote them) before publishing"}}}}})
	}
	if err := r.audit(audit.EventEnvironmentUpdate, StageProjection, "published", system(), audit.ActionWrite, []string{"dataset:" + p.Target}, out); err != nil {
		return r.result, err
	}
	r.done(StageProjection, fmt.Sprintf("published %s: %s", p.Target, strings.Join(out.Partitions, ", ")))
	return r.decide(decision.Input{Votes: votes})
}
