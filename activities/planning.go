package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// PreCostInput is step 8's input: the approved signature, the environment
// it was governed in, the workflow's clock and the ceiling in force.
type PreCostInput struct {
	IntentID    string                    `json:"intent_id"`
	Signed      Signed                    `json:"signed"`
	Environment registry.EnvironmentState `json:"environment"`
	Now         time.Time                 `json:"now"`
	// CostCeilingDBU is cost_ceiling_dbu; 0 means the whitepaper's 50.
	CostCeilingDBU float64 `json:"cost_ceiling_dbu,omitempty"`
}

// PreCost is the Pre-cost Estimator's estimate and threshold verdict.
type PreCost struct {
	Estimate precost.Estimate `json:"estimate"`
	Verdict  precost.Verdict  `json:"verdict"`
}

// EstimatePreCost runs the Pre-cost Estimator (step 8) over the runs of the
// same intent_signature_hash in the last 30 days.
func (a *Activities) EstimatePreCost(ctx context.Context, in PreCostInput) (PreCost, error) {
	key, err := in.Signed.Signature.ShapeHash()
	if err != nil {
		return PreCost{}, invalid(err)
	}
	runs, err := a.Store.CostHistory(ctx, key, in.Now, precost.HistoryWindow)
	if err != nil {
		return PreCost{}, fmt.Errorf("pre-cost of intent %s: %w", in.IntentID, err)
	}
	hist := make([]precost.Run, len(runs))
	for i, r := range runs {
		hist[i] = precost.Run{At: r.ExecutedAt, ActualDBU: r.ActualDBU, ActualShuffleGB: r.ActualShuffleGB}
	}
	e, err := precost.EstimateCost(precost.Input{
		Signature: in.Signed.Signature, Catalog: a.Catalog, Environment: in.Environment,
		History: hist, Now: in.Now, CostCeilingDBU: in.CostCeilingDBU,
	})
	if err != nil {
		return PreCost{}, invalid(fmt.Errorf("pre-cost of intent %s: %w", in.IntentID, err))
	}
	v := precost.Evaluate(e, in.CostCeilingDBU)
	a.log(in.IntentID, "pre_cost_estimator").Info("pre-cost estimate",
		zap.Float64("estimated_dbu", e.EstimatedDBU), zap.Float64("confidence", e.Confidence),
		zap.Int("history_runs", e.HistoryRuns), zap.String("action", string(v.Action)))
	return PreCost{Estimate: e, Verdict: v}, nil
}

// CostReplanInput asks for the replan of a force_replan_with_filter verdict.
type CostReplanInput struct {
	IntentID    string                    `json:"intent_id"`
	Signed      Signed                    `json:"signed"`
	Environment registry.EnvironmentState `json:"environment"`
	Verdict     precost.Verdict           `json:"verdict"`
	// Propose ends the cycle with the replanned signature (replan_mode
	// propose) instead of governing it.
	Propose bool `json:"propose,omitempty"`
}

// ReplanForCost applies the Pre-cost Estimator's filter as one replan
// (counted toward the 3) and governs the new signature again.
func (a *Activities) ReplanForCost(_ context.Context, in CostReplanInput) (Governance, error) {
	v := in.Verdict
	if v.Action != precost.ActionForceReplanWithFilter || v.Intervention == nil || v.Fault == nil {
		return Governance{}, invalid(fmt.Errorf("replan for cost of intent %s: verdict %s carries no filter to apply", in.IntentID, v.Action))
	}
	iv := policy.Intervention{Op: v.Intervention.Op, LastDays: v.Intervention.LastDays}
	replan := policy.ReplanWith
	if in.Propose {
		replan = policy.ProposeWith
	}
	g, err := replan(in.Signed.Signature, []policy.Intervention{iv}, *v.Fault, in.Environment, a.Catalog, a.Bundle)
	if err != nil {
		return Governance{}, invalid(err)
	}
	return a.governance(in.IntentID, g), nil
}

// PlanInput is step 9's input. Supplied is a plan from an external planner
// (the execution_planner extension point, whitepaper 9): it replaces the
// governed plan as the code's source, and the governed plan still sets the
// rules its code is checked against (docs/adr/0075).
type PlanInput struct {
	IntentID  string                 `json:"intent_id"`
	Signed    Signed                 `json:"signed"`
	AsOf      string                 `json:"as_of"`
	Composite bool                   `json:"composite,omitempty"`
	Supplied  *planner.ExecutionPlan `json:"supplied,omitempty"`
}

// Planned is the Execution Planner's outcome: a plan, or a refusal fault.
type Planned struct {
	Plan *planner.ExecutionPlan `json:"plan,omitempty"`
	// Governed is the planner's own plan when Plan was supplied.
	Governed *planner.ExecutionPlan `json:"governed,omitempty"`
	Fault    *fault.Fault           `json:"fault,omitempty"`
	// ReadOnly: the signature writes no dataset, so there is no write to
	// plan, generate or validate (docs/adr/0077).
	ReadOnly bool `json:"read_only,omitempty"`
	// Conformance is planner.Verify's finding on a supplied plan; the
	// workflow applies it after static validation has judged the code.
	Conformance *fault.Fault `json:"conformance,omitempty"`
}

// PlanExecution runs the Execution Planner (step 9). A signature no template
// can satisfy is a refusal (a fault), not an activity error.
func (a *Activities) PlanExecution(_ context.Context, in PlanInput) (Planned, error) {
	if len(in.Signed.Signature.Targets()) == 0 && in.Supplied == nil {
		a.log(in.IntentID, "execution_planner").Info("read-only intent: no write to plan")
		return Planned{ReadOnly: true}, nil
	}
	p, err := planner.Plan(in.Signed.Signature, a.Catalog, planner.Options{AsOf: in.AsOf, Composite: in.Composite})
	if err != nil {
		if errors.Is(err, planner.ErrInvalidOptions) {
			return Planned{}, invalid(err)
		}
		f := planFault(err)
		return Planned{Fault: &f}, nil
	}
	out := Planned{Plan: &p}
	if s := in.Supplied; s != nil {
		if f := suppliedPlanFault(*s, in.Signed.Hash, a.Catalog.SnapshotVersion); f != nil {
			return Planned{Fault: f}, nil
		}
		out.Plan, out.Governed = s, &p
		if err := planner.Verify(*s, in.Signed.Signature, a.Catalog); err != nil {
			f := planFault(err)
			out.Conformance = &f
		}
	}
	a.log(in.IntentID, "execution_planner").Info("execution plan",
		zap.String("plan_hash", out.Plan.Hash), zap.Int("steps", len(out.Plan.Steps)),
		zap.String("consistency_unit", string(out.Plan.ConsistencyUnit)), zap.Bool("supplied", in.Supplied != nil))
	return out, nil
}

// planFault turns a planner refusal into the fault the decision records.
func planFault(err error) fault.Fault {
	f := fault.Fault{
		Code: fault.CodePlanConstraintViolated, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageExecutionPlanner, DetectedBeforeExecution: true, MandatoryAction: "block",
		Message: err.Error(), Remediation: []string{"change the intent so a governed template fits it (one target, sources in the catalog), then resubmit"},
	}
	var ce *planner.ConstraintError
	if errors.As(err, &ce) {
		f.Rule = ce.Constraint
		if ce.Remediation != "" {
			f.Remediation = []string{ce.Remediation}
		}
	}
	return f
}

// suppliedPlanFault checks that a supplied plan is intact and made for this
// signature and catalog; what it does is static validation's to judge.
func suppliedPlanFault(p planner.ExecutionPlan, sigHash, catalogVersion string) *fault.Fault {
	var problem string
	switch h, err := planner.HashPlan(p); {
	case err != nil:
		problem = err.Error()
	case h != p.Hash:
		problem = fmt.Sprintf("the supplied plan's hash %s does not match its content (%s): it was edited after hashing", p.Hash, h)
	case p.SignatureHash != sigHash:
		problem = fmt.Sprintf("the supplied plan was made for signature %s, the approved signature is %s", p.SignatureHash, sigHash)
	case p.CatalogSnapshotVersion != catalogVersion:
		problem = fmt.Sprintf("the supplied plan was made against %s, the catalog is %s", p.CatalogSnapshotVersion, catalogVersion)
	default:
		return nil
	}
	return &fault.Fault{
		Code: fault.CodePlanConstraintViolated, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
		Stage: fault.StageExecutionPlanner, DetectedBeforeExecution: true, MandatoryAction: "block", Rule: "supplied_plan_integrity",
		Message: problem, Remediation: []string{"re-export the plan with `cfa plan ID -o json` for this signature, edit it, and recompute its hash"},
	}
}

// GenerateInput is step 9's code generation: the plan to render.
type GenerateInput struct {
	IntentID string                `json:"intent_id"`
	Plan     planner.ExecutionPlan `json:"plan"`
}

// Generated holds the artifacts of every backend; Postgres is the one the
// executor runs, dbt the artifact for users who run elsewhere.
type Generated struct {
	Postgres codegen.Artifact `json:"postgres"`
	DBT      codegen.Artifact `json:"dbt"`
	Fault    *fault.Fault     `json:"fault,omitempty"`
}

// GenerateCode renders the plan with the Postgres and dbt backends.
func (a *Activities) GenerateCode(_ context.Context, in GenerateInput) (Generated, error) {
	var out Generated
	for _, gen := range []struct {
		backend codegen.Backend
		into    *codegen.Artifact
	}{{codegen.Postgres{}, &out.Postgres}, {codegen.DBT{}, &out.DBT}} {
		art, err := gen.backend.Generate(in.Plan, a.Catalog)
		if err != nil {
			out.Fault = &fault.Fault{
				Code: fault.CodeCodeGenerationRefused, Family: fault.StaticSafetyFaults, Severity: fault.SeverityCritical,
				Stage: fault.StageStaticValidation, DetectedBeforeExecution: true, MandatoryAction: "block", Rule: gen.backend.Name(),
				Message: err.Error(), Remediation: []string{"the plan does not match the catalog; replan the intent against the current catalog"},
			}
			return out, nil
		}
		*gen.into = art
	}
	a.log(in.IntentID, "code_generation").Info("code generated",
		zap.String("plan_hash", in.Plan.Hash), zap.String("code_hash", out.Postgres.Hash), zap.String("dbt_hash", out.DBT.Hash))
	return out, nil
}

// StaticInput is step 10's input: the code that would run and the governed
// plan whose contract and scope it must respect.
type StaticInput struct {
	IntentID string                `json:"intent_id"`
	Governed planner.ExecutionPlan `json:"governed"`
	Code     codegen.Artifact      `json:"code"`
}

// ValidateStatic runs Static Validation (step 10) on every file of the
// Postgres artifact; a violation is a Static Safety Fault.
func (a *Activities) ValidateStatic(_ context.Context, in StaticInput) (staticcheck.Report, error) {
	rules, err := codegen.Postgres{}.StaticRules(in.Governed, a.Catalog)
	if err != nil {
		return staticcheck.Report{}, invalid(fmt.Errorf("static validation of intent %s: %w", in.IntentID, err))
	}
	rep := staticcheck.Report{Passed: true, Violations: []staticcheck.Violation{}}
	for _, f := range in.Code.Files {
		r := staticcheck.Validate(f.Content, rules)
		rep.Passed = rep.Passed && r.Passed
		rep.Violations = append(rep.Violations, r.Violations...)
	}
	violated := make([]string, 0, len(rep.Violations))
	for _, v := range rep.Violations {
		violated = append(violated, string(v.Rule))
	}
	a.log(in.IntentID, "static_validation").Info("code analysis",
		zap.Bool("passed", rep.Passed), zap.Strings("violated_rules", violated), zap.String("code_hash", in.Code.Hash))
	return rep, nil
}

// RecordPlanInput is everything steps 8–10 produced, for `cfa plan` and
// `cfa code`.
type RecordPlanInput struct {
	IntentID      string                 `json:"intent_id"`
	SignatureHash string                 `json:"intent_signature_hash"`
	PreCost       PreCost                `json:"pre_cost"`
	Plan          *planner.ExecutionPlan `json:"plan,omitempty"`
	Code          *Generated             `json:"code,omitempty"`
	Static        *staticcheck.Report    `json:"static,omitempty"`
	DryRun        bool                   `json:"dry_run,omitempty"`
	ReadOnly      bool                   `json:"read_only,omitempty"`
}

// RecordPlan stores the planning of an intent once.
func (a *Activities) RecordPlan(ctx context.Context, in RecordPlanInput) error {
	rec := db.PlanRecord{IntentID: in.IntentID, SignatureHash: in.SignatureHash, DryRun: in.DryRun, ReadOnly: in.ReadOnly}
	var err error
	if rec.PreCost, err = json.Marshal(in.PreCost); err != nil {
		return invalid(fmt.Errorf("encode pre-cost of intent %s: %w", in.IntentID, err))
	}
	if in.Plan != nil {
		rec.PlanHash = in.Plan.Hash
		if rec.Plan, err = json.Marshal(in.Plan); err != nil {
			return invalid(fmt.Errorf("encode plan of intent %s: %w", in.IntentID, err))
		}
	}
	if in.Code != nil && in.Code.Fault == nil {
		rec.CodeHash = in.Code.Postgres.Hash
		if rec.Artifacts, err = json.Marshal([]any{in.Code.Postgres, in.Code.DBT}); err != nil {
			return invalid(fmt.Errorf("encode code of intent %s: %w", in.IntentID, err))
		}
	}
	if in.Static != nil {
		passed := in.Static.Passed
		rec.StaticPassed = &passed
		if rec.StaticReport, err = json.Marshal(in.Static); err != nil {
			return invalid(fmt.Errorf("encode static report of intent %s: %w", in.IntentID, err))
		}
	}
	return a.Store.RecordPlan(ctx, rec)
}

// ShapeHash returns the signature's shape hash, the key of the pre-cost
// history (encoding is not workflow code's business).
func (a *Activities) ShapeHash(_ context.Context, sig signature.Signature) (string, error) {
	h, err := sig.ShapeHash()
	if err != nil {
		return "", invalid(err)
	}
	return h, nil
}
