package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// PreCostInput is step 8's input: the approved signature, the snapshot it
// was governed in and the ceiling in force.
type PreCostInput struct {
	Signed            Signed `json:"signed"`
	RegistryVersionID string `json:"registry_version_id"`
	// CostCeilingDBU is cost_ceiling_dbu; 0 means the whitepaper's 50.
	CostCeilingDBU float64 `json:"cost_ceiling_dbu,omitempty"`
}

// PreCost is the Pre-cost Estimator's estimate and threshold verdict.
type PreCost = kernel.PreCost

// Estimated is step 8's outcome; Verdict.Action says what comes next.
type Estimated struct {
	Stage
	PreCost PreCost `json:"pre_cost"`
}

// EstimatePreCost runs the Pre-cost Estimator (step 8) over the runs of the
// same intent shape in the last 30 days, with the pre_cost_estimator_backend
// in force, and applies the whitepaper's threshold_policy.
func (a *Activities) EstimatePreCost(ctx context.Context, st Step, in PreCostInput) (Estimated, error) {
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return Estimated{}, fmt.Errorf("pre-cost of intent %s: %w", st.IntentID, err)
	}
	key, err := skill.Key(in.Signed.Signature) // the skill: the history of its runs (ADR 0121)
	if err != nil {
		return Estimated{}, invalid(err)
	}
	runs, err := a.Store.CostHistory(ctx, key, st.At, precost.HistoryWindow)
	if err != nil {
		return Estimated{}, fmt.Errorf("pre-cost of intent %s: %w", st.IntentID, err)
	}
	hist := make([]precost.Run, len(runs))
	for i, r := range runs {
		hist[i] = precost.Run{At: r.ExecutedAt, ActualDBU: r.ActualDBU, ActualShuffleGB: r.ActualShuffleGB}
	}
	backend := a.Extensions.CostEstimator
	pc, err := kernel.EstimatePreCost(ctx, backend, precost.Input{
		Signature: in.Signed.Signature.Clone(), Catalog: a.Catalog, Environment: env.Clone(),
		History: hist, Now: st.At, CostCeilingDBU: in.CostCeilingDBU,
	})
	if err != nil {
		if errors.Is(err, precost.ErrInvalidInput) {
			return Estimated{}, invalid(fmt.Errorf("pre-cost of intent %s: %w", st.IntentID, err))
		}
		return Estimated{}, fmt.Errorf("pre-cost of intent %s: pre_cost_estimator_backend %s: %w", st.IntentID, backend.Name(), err)
	}
	e, v := pc.Estimate, pc.Verdict
	name := ""
	if _, shipped := backend.(extension.ShippedCostEstimator); !shipped {
		name = backend.Name()
	}
	rec := kernel.PreCostRecord(pc, name)
	t := newTrail(st)
	t.add(intent.StagePreCost, string(v.Action), audit.ActionInvoke, []string{"signature:" + in.Signed.Hash}, rec)
	out := Estimated{PreCost: PreCost{Estimate: e, Verdict: v}, Stage: Stage{Summary: fmt.Sprintf("%.2f DBU of a %.0f DBU ceiling (confidence %.2f, %s): %s",
		e.EstimatedDBU, v.CostCeilingDBU, e.Confidence, e.Basis, v.Action)}}
	switch vote, stop := kernel.PreCostVote(v); {
	case stop:
		out.stop(vote)
	case vote.Authority != "":
		out.vote(vote)
	}
	a.log(st.IntentID, intent.StagePreCost).Info("pre-cost estimate",
		zap.Float64("estimated_dbu", e.EstimatedDBU), zap.Float64("confidence", e.Confidence),
		zap.Int("history_runs", e.HistoryRuns), zap.String("action", string(v.Action)), zap.String("backend", backend.Name()))
	return out, a.finish(ctx, t, &out.Stage)
}

// CostReplanInput asks for the replan of a force_replan_with_filter verdict.
type CostReplanInput struct {
	Signed            Signed          `json:"signed"`
	RegistryVersionID string          `json:"registry_version_id"`
	Verdict           precost.Verdict `json:"verdict"`
	// Propose ends the cycle with the replanned signature (replan_mode
	// propose) instead of governing it.
	Propose bool `json:"propose,omitempty"`
}

// ReplanForCost applies the Pre-cost Estimator's filter as one replan
// (counted toward the 3) and governs the new signature again; the workflow
// then estimates it again.
func (a *Activities) ReplanForCost(ctx context.Context, st Step, in CostReplanInput) (Governed, error) {
	v := in.Verdict
	if v.Action != precost.ActionForceReplanWithFilter || v.Intervention == nil || v.Fault == nil {
		return Governed{}, invalid(fmt.Errorf("replan for cost of intent %s: verdict %s carries no filter to apply", st.IntentID, v.Action))
	}
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return Governed{}, fmt.Errorf("replan for cost of intent %s: %w", st.IntentID, err)
	}
	start := time.Now()
	k, err := kernel.ReplanForCost(ctx, in.Signed.Signature, v, env, a.Catalog, a.Bundle, in.Propose, a.compliance())
	a.Metrics.PolicyEvaluated("cost_replan", time.Since(start))
	if err != nil {
		return Governed{}, kernelError(err)
	}
	g := k.Governance
	t := newTrail(st)
	target := []string{"signature:" + in.Signed.Hash}
	outcome, rec := kernel.CostReplanEvent(v, k)
	t.add(intent.StagePreCost, outcome, audit.ActionInvoke, target, rec)
	if g.Decision == decision.Replanned {
		out := Governed{Final: &Signed{Signature: g.Final, Hash: g.FinalHash}, Replans: g.Final.Replan, Proposed: true,
			Stage: Stage{Summary: fmt.Sprintf("replan %d proposed: %s; resubmit it for the next cycle", g.Final.Replan, g.FinalHash[:16])}}
		out.stop(g.CostReplanVote())
		return out, a.finish(ctx, t, &out.Stage)
	}
	out := a.governed(t, k, in.Signed.Hash)
	if g.Decision == decision.Blocked {
		out.Summary = "replan blocked: " + g.Reason
		out.stop(g.CostReplanVote())
	} else {
		out.Summary = fmt.Sprintf("replanned with %s(%s, last %d days)", v.Intervention.Op, v.Intervention.Column, v.Intervention.LastDays)
	}
	return out, a.finish(ctx, t, &out.Stage)
}

// PlanInput is step 9's input. Supplied is a plan from an external planner:
// it replaces the governed plan as the code's source, and the governed plan
// still sets the rules its code is checked against (docs/adr/0075).
type PlanInput struct {
	Signed    Signed                 `json:"signed"`
	AsOf      string                 `json:"as_of"`
	Composite bool                   `json:"composite,omitempty"`
	Supplied  *planner.ExecutionPlan `json:"supplied,omitempty"`
	PreCost   PreCost                `json:"pre_cost"`
	DryRun    bool                   `json:"dry_run,omitempty"`
	// RowLimit is a read's row limit (0: the default, docs/adr/0132).
	RowLimit int `json:"row_limit,omitempty"`
}

// Planning is what steps 8–10 produce for one signature; it is recorded
// once at the end of planning (`cfa plan`, `cfa code`), and the execution
// reads its plan and code from that record.
type Planning struct {
	SignatureHash string `json:"intent_signature_hash"`
	// PreCost is given to the stages; PlanExecution does not hand it back.
	PreCost *PreCost               `json:"pre_cost,omitempty"`
	DryRun  bool                   `json:"dry_run,omitempty"`
	Plan    *planner.ExecutionPlan `json:"plan,omitempty"`
	// Governed is the planner's own plan when Plan was supplied.
	Governed *planner.ExecutionPlan `json:"governed,omitempty"`
	// Conformance is planner.Conformance's finding on a supplied plan
	// (Verify against the signature and catalog, Conform to Governed),
	// applied after Static Validation has judged its code.
	Conformance *fault.Fault `json:"conformance,omitempty"`
	// ServedBy is the persisted skill whose frozen plan is reused.
	ServedBy *events.SkillServed `json:"served_by_skill,omitempty"`
}

// Planned is step 9's outcome.
type Planned struct {
	Stage
	Planning Planning `json:"planning"`
}

// PlanExecution runs the Execution Planner (step 9). A signature no template
// can satisfy is a refusal that blocks, not an activity error. A read is
// planned like any intent (docs/adr/0132); a signature that neither reads
// nor writes a dataset has nothing to plan (docs/adr/0077).
func (a *Activities) PlanExecution(ctx context.Context, st Step, in PlanInput) (out Planned, err error) {
	out = Planned{Planning: Planning{SignatureHash: in.Signed.Hash, PreCost: &in.PreCost, DryRun: in.DryRun}}
	defer func() { out.Planning.PreCost = nil }() // the workflow has it: not again in the history
	t := newTrail(st)
	k, err := kernel.Plan(kernel.PlanInput{Signed: in.Signed, AsOf: in.AsOf, Composite: in.Composite, Supplied: in.Supplied,
		RowLimit: in.RowLimit, Masking: a.Bundle.Masking}, a.Catalog)
	if err != nil {
		return out, invalid(err)
	}
	if k.ReadOnly {
		out.Summary = "no dataset is read or written, so there is no plan, code or static validation"
		out.Stop = true
		return out, a.recordPlanning(ctx, st, out.Planning, nil, nil, true)
	}
	refusal := k.Refusal
	out.Planning.Plan, out.Planning.Governed, out.Planning.Conformance = k.Plan, k.Governed, k.Conformance
	if refusal == nil && in.Supplied == nil && !k.Plan.Read() { // a read is no skill's frozen plan
		served, note, err := a.serve(ctx, st, in.Signed.Signature, *k.Plan)
		if err != nil {
			return out, err
		}
		out.Planning.Plan, out.Planning.ServedBy = &served, note
	}
	if refusal != nil {
		t.add(intent.StagePlanner, "refused", audit.ActionInvoke, []string{"signature:" + in.Signed.Hash}, events.ExecutionPlanRefused{Fault: *refusal})
		out.Summary = "refused: " + refusal.Message
		out.stop(kernel.PlanVote(decision.AuthorityExecutionPlanner, *refusal))
		if err := a.finish(ctx, t, &out.Stage); err != nil {
			return out, err
		}
		return out, a.recordPlanning(ctx, st, out.Planning, nil, nil, false)
	}
	plan := *out.Planning.Plan
	stepIDs := make([]string, len(plan.Steps))
	for i, s := range plan.Steps {
		stepIDs[i] = s.ID
	}
	t.add(intent.StagePlanner, "planned", audit.ActionWrite, []string{"plan:" + plan.Hash}, events.ExecutionPlanGenerated{
		PlanHash: plan.Hash, IntentSignatureHash: plan.SignatureHash, Steps: stepIDs, Strategy: plan.Strategy,
		ConsistencyUnit: plan.ConsistencyUnit, ConsistencyRule: plan.ConsistencyRule, Window: plan.Window,
		Target: plan.Target, Supplied: in.Supplied != nil, ServedBy: out.Planning.ServedBy,
	})
	supplied := ""
	if in.Supplied != nil {
		supplied = ", supplied by an external planner"
	}
	if s := out.Planning.ServedBy; s != nil {
		supplied = fmt.Sprintf(", reused from skill %s (%s, promoted from intent %s)", short(s.SkillID), s.State, s.SourceIntentID)
	}
	out.Summary = fmt.Sprintf("plan %s: %d steps, %s, consistency_unit %s%s", plan.Hash[:16], len(plan.Steps), plan.Strategy, plan.ConsistencyUnit, supplied)
	a.log(st.IntentID, intent.StagePlanner).Info("execution plan",
		zap.String("plan_hash", plan.Hash), zap.Int("steps", len(plan.Steps)),
		zap.String("consistency_unit", string(plan.ConsistencyUnit)), zap.Bool("supplied", in.Supplied != nil))
	return out, a.finish(ctx, t, &out.Stage)
}

// serve reuses the artifact of the signature's skill when the skill is
// served (persisted_active or watchlist, ADR 0129): its frozen plan,
// rebound to this run, which Rebind proves byte-identical to fresh, the
// plan just made (I8). A skill that is not served, or whose artifact does
// not fit this run (the catalog or planner changed), leaves the plan made
// just in time.
func (a *Activities) serve(ctx context.Context, st Step, sig signature.Signature, fresh planner.ExecutionPlan) (planner.ExecutionPlan, *events.SkillServed, error) {
	id, err := skill.Key(sig)
	if err != nil {
		return fresh, nil, invalid(err)
	}
	sk, err := a.Store.Skill(ctx, id)
	switch {
	case errors.Is(err, db.ErrSkillNotFound):
		return fresh, nil, nil
	case err != nil:
		return fresh, nil, fmt.Errorf("plan intent %s: look up its skill: %w", st.IntentID, err)
	case !skill.Served(sk.State) || len(sk.Artifact) == 0:
		return fresh, nil, nil
	}
	log := a.log(st.IntentID, intent.StagePlanner)
	var art skill.Artifact
	if err := json.Unmarshal(sk.Artifact, &art); err != nil {
		log.Error("the skill's artifact is unreadable; planned just in time", zap.String("skill_id", id), zap.Error(err))
		return fresh, nil, nil
	}
	plan, err := art.Rebind(fresh)
	if err != nil {
		log.Warn("the skill's artifact is not served; planned just in time", zap.String("skill_id", id), zap.Error(err))
		return fresh, nil, nil
	}
	log.Info("plan reused from a persisted skill", zap.String("skill_id", id), zap.String("source_intent_id", art.SourceIntentID))
	return plan, &events.SkillServed{SkillID: id, State: string(sk.State), SourceIntentID: art.SourceIntentID,
		FrozenPlanHash: art.PlanHash, PlanTemplateHash: art.PlanTemplateHash}, nil
}

// Code is the generated code of a plan: the Postgres artifact is what the
// sandbox runs and Static Validation analyses; the others (dbt, and the
// custom_template_library's) are artifacts for users who run elsewhere.
type Code = kernel.Code

// GenerateInput is step 9's code generation: the plan to render.
type GenerateInput struct {
	Planning Planning `json:"planning"`
}

// Generated is the code generation's outcome.
type Generated struct {
	Stage
	Code Code `json:"code"`
}

// GenerateCode renders the plan with the Postgres backend and every backend
// of the template library. A backend that refuses the plan blocks it.
func (a *Activities) GenerateCode(ctx context.Context, st Step, in GenerateInput) (Generated, error) {
	p := in.Planning.Plan
	if p == nil {
		return Generated{}, invalid(fmt.Errorf("generate code of intent %s: no plan; run PlanExecution first", st.IntentID))
	}
	out := Generated{}
	t := newTrail(st)
	code, refusal := kernel.Generate(*p, a.Catalog, a.Extensions.Templates.Backends())
	if f := refusal; f != nil {
		t.add(intent.StageCodeGen, "refused", audit.ActionInvoke, []string{"plan:" + p.Hash}, events.CodeGenerationRefused{Fault: *f})
		out.Summary = "refused: " + f.Message
		out.stop(kernel.PlanVote(decision.AuthorityStaticValidation, *f))
		if err := a.finish(ctx, t, &out.Stage); err != nil {
			return out, err
		}
		return out, a.recordPlanning(ctx, st, in.Planning, nil, nil, false)
	}
	out.Code = code
	var hashes []string
	for _, art := range code.Artifacts() {
		hashes = append(hashes, fmt.Sprintf("%s %s", art.Backend, art.Hash[:16]))
	}
	t.add(intent.StageCodeGen, "generated", audit.ActionWrite, []string{"code:" + out.Code.Postgres.Hash}, code.Record(p.Hash))
	out.Summary = strings.Join(hashes, ", ")
	a.log(st.IntentID, intent.StageCodeGen).Info("code generated", zap.String("plan_hash", p.Hash), zap.Strings("artifacts", hashes))
	return out, a.finish(ctx, t, &out.Stage)
}

// StaticInput is step 10's input: the planning and the code that would run.
type StaticInput struct {
	Planning Planning `json:"planning"`
	Code     Code     `json:"code"`
}

// Validated is step 10's outcome.
type Validated struct {
	Stage
	Static *events.StaticSummary `json:"static,omitempty"`
	// PublishOnly: nothing runs in SQL; the flow publishes instead of
	// executing (docs/adr/0073).
	PublishOnly bool   `json:"publish_only,omitempty"`
	Target      string `json:"target,omitempty"`
}

// ValidateStatic runs Static Validation (step 10) on the Postgres artifact
// against the governed plan's rules (I6), checks a supplied plan's
// conformance, and records the planning. A dry run stops here.
func (a *Activities) ValidateStatic(ctx context.Context, st Step, in StaticInput) (Validated, error) {
	p := in.Planning.Plan
	if p == nil {
		return Validated{}, invalid(fmt.Errorf("static validation of intent %s: no plan; run PlanExecution first", st.IntentID))
	}
	k, err := kernel.ValidateStatic(kernel.StaticInput{Plan: p, Governed: in.Planning.Governed, Conformance: in.Planning.Conformance,
		DryRun: in.Planning.DryRun, Code: in.Code}, a.Catalog)
	if err != nil {
		return Validated{}, invalid(fmt.Errorf("static validation of intent %s: %w", st.IntentID, err))
	}
	out := Validated{Target: p.Target, PublishOnly: k.PublishOnly}
	out.Summary, out.Votes, out.Stop = k.Summary, k.Votes, k.Stop
	if k.PublishOnly {
		return out, a.recordPlanning(ctx, st, in.Planning, &in.Code, nil, false)
	}
	rep := *k.Report
	out.Static = &events.StaticSummary{Passed: rep.Passed, Violated: rep.Violated()}
	outcome := "passed"
	if !rep.Passed {
		outcome = "blocked"
	}
	t := newTrail(st)
	hash := in.Code.Postgres.Hash
	t.add(intent.StageStatic, outcome, audit.ActionInvoke, []string{"code:" + hash}, events.CodeAnalysis{CodeHash: hash, Passed: rep.Passed, Violations: rep.Violations})
	a.log(st.IntentID, intent.StageStatic).Info("code analysis", zap.Bool("passed", rep.Passed), zap.Strings("violated_rules", rep.Violated()), zap.String("code_hash", hash))
	if f := k.Refused; f != nil {
		t.add(intent.StagePlanner, "refused", audit.ActionInvoke, []string{"plan:" + p.Hash}, events.ExecutionPlanRefused{Fault: *f})
	}
	if err := a.finish(ctx, t, &out.Stage); err != nil {
		return out, err
	}
	return out, a.recordPlanning(ctx, st, in.Planning, &in.Code, &rep, false)
}

// recordPlanning stores one signature's planning once.
func (a *Activities) recordPlanning(ctx context.Context, st Step, p Planning, code *Code, static *staticcheck.Report, readOnly bool) error {
	rec := db.PlanRecord{IntentID: st.IntentID, SignatureHash: p.SignatureHash, DryRun: p.DryRun, ReadOnly: readOnly}
	var err error
	if rec.PreCost, err = json.Marshal(p.PreCost); err != nil {
		return invalid(fmt.Errorf("encode pre-cost of intent %s: %w", st.IntentID, err))
	}
	if p.Plan != nil && !readOnly {
		rec.PlanHash = p.Plan.Hash
		if rec.Plan, err = json.Marshal(p.Plan); err != nil {
			return invalid(fmt.Errorf("encode plan of intent %s: %w", st.IntentID, err))
		}
	}
	if code != nil {
		rec.CodeHash = code.Postgres.Hash
		if rec.Artifacts, err = json.Marshal(code.Artifacts()); err != nil {
			return invalid(fmt.Errorf("encode code of intent %s: %w", st.IntentID, err))
		}
	}
	if static != nil {
		passed := static.Passed
		rec.StaticPassed = &passed
		if rec.StaticReport, err = json.Marshal(static); err != nil {
			return invalid(fmt.Errorf("encode static report of intent %s: %w", st.IntentID, err))
		}
	}
	return a.Store.RecordPlan(ctx, rec)
}

// PublishInput publishes a dataset (a publish-only plan).
type PublishInput struct {
	Dataset string `json:"dataset"`
}

// PublishDataset runs a publish-only plan: every committed partition of the
// dataset becomes visible in its published view. The latest registry
// snapshot is read in the same transaction: a dataset that is not committed
// with publish_allowed is refused (I7), whatever the plan said.
func (a *Activities) PublishDataset(ctx context.Context, st Step, in PublishInput) (Stage, error) {
	d, ok := a.Catalog.Get(in.Dataset)
	if !ok || !dataplane.Governed(d) {
		return Stage{}, invalid(fmt.Errorf("publish %s: not a silver or gold dataset of the catalog", in.Dataset))
	}
	pub, err := a.Store.Publish(ctx, d, st.IntentID, func(env registry.EnvironmentState) string { return publishRefusal(d, env) })
	if err != nil {
		return Stage{}, err
	}
	out := Stage{}
	if pub.Refused != "" {
		out.Summary = "publish refused: " + pub.Refused
		out.veto(projection.PublishRefusedViolation(pub.Refused))
		return out, nil
	}
	t := newTrail(st)
	t.add(intent.StageProjection, "published", audit.ActionWrite, []string{"dataset:" + d.Name}, events.EnvironmentPublished{Partitions: pub.Partitions})
	out.Summary = fmt.Sprintf("published %s: %s", d.Name, strings.Join(pub.Partitions, ", "))
	return out, a.finish(ctx, t, &out)
}

// publishRefusal says why d cannot be published from env (I7), "" when it
// can.
func publishRefusal(d catalog.Dataset, env registry.EnvironmentState) string {
	st, ok := env.Dataset(d.Name)
	switch {
	case !ok:
		// No projection ever recorded the dataset: whatever its table holds
		// did not come through a governed write (I7).
		return fmt.Sprintf("%s has no entry in registry %s: no execution was projected into it, so it is not known to be trusted (I7); write it with a governed intent first", d.Name, env.VersionID)
	case st.State != registry.StateCommitted || !st.PublishAllowed:
		return fmt.Sprintf("%s is %s with publish_allowed=%v in registry %s (I7)", d.Name, st.State, st.PublishAllowed, env.VersionID)
	}
	return ""
}
