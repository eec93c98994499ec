package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// PromotionInput is what step 18 needs of one executed intent.
type PromotionInput struct {
	IntentID  string                `json:"intent_id"`
	Signature signature.Signature   `json:"signature"` // as signed: domain and execution_context
	ShapeHash string                `json:"shape_hash"`
	Plan      planner.ExecutionPlan `json:"plan"`
	CodeHash  string                `json:"code_hash"`
	DecidedAt time.Time             `json:"decided_at"`
	Decision  decision.Decision     `json:"decision"`
	// DriftReplans: stale_environment_state and pre-cost replans.
	DriftReplans int `json:"drift_replans"`
	Units        int `json:"units"`
	// Attempts over every unit (a retried unit counts each attempt).
	Attempts int `json:"attempts"`
	// Committed are the units committed into the target: their
	// partitions are where the merge key must still be unique.
	Committed       []string `json:"committed,omitempty"`
	CommittedUnits  int      `json:"committed_units"`
	CriticalFailure bool     `json:"critical_failure"` // panic rollback or projection failure
	// Runtime is the aggregated runtime validation; nil when no unit
	// reported (a panic before any finished).
	Runtime *runtimevalidation.Report `json:"runtime,omitempty"`
}

// EvaluatePromotion is step 18: it gathers the execution's evidence (the
// target's key uniqueness and the policy in force are read now), evaluates
// the skill over its window and records both, once per intent.
func (a *Activities) EvaluatePromotion(ctx context.Context, in PromotionInput) (lifecycle.Evaluation, error) {
	target, ok := a.Catalog.Get(in.Plan.Target)
	if !ok {
		return lifecycle.Evaluation{}, invalid(fmt.Errorf("evaluate promotion of intent %s: target %q is not in the catalog", in.IntentID, in.Plan.Target))
	}
	var partitions []string
	if target.PartitionKey != "" {
		partitions = in.Committed
	}
	dups, err := a.Store.DuplicateKeys(ctx, target, partitions)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	compliant, err := a.policyCompliant(ctx, in)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	ex := evidence(in, dups == 0, compliant, target.Layer == declaredLayer(in.Signature.TargetLayer))
	pol := lifecycle.DefaultPolicy()
	_, window, err := pol.Window(ex.Domain)
	if err != nil {
		return lifecycle.Evaluation{}, invalid(err)
	}
	history, err := a.Store.SkillExecutions(ctx, ex.PromotionUnit, ex.DecidedAt.Add(-window), ex.DecidedAt)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	ev, err := lifecycle.Evaluate(pol, ex, history)
	if err != nil {
		return lifecycle.Evaluation{}, invalid(err)
	}
	ev, err = a.Store.RecordSkillExecution(ctx, ex, ev)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	a.log(in.IntentID, "promotion_engine").Info("promotion evaluated",
		zap.String("outcome", ev.Outcome), zap.String("reason", ev.Reason), zap.Int("executions", ev.Executions),
		zap.Float64("ifo", ev.IFo), zap.Float64("ifs", ev.IFs), zap.Float64("ifg", ev.IFg), zap.Float64("idi", ev.IDI))
	return ev, nil
}

// governanceInvariants are the invariants whose veto is a governance
// violation; I4 (an uncertain environment) and I5 are environmental or
// audit failures, which IFo's stability already scores.
var governanceInvariants = []string{"invariant:I1", "invariant:I2", "invariant:I6", "invariant:I7"}

// policyCompliant: no governance invariant vetoed the decision, and the
// policy in force still approves the signature (a changed bundle may
// invalidate the skill, whitepaper 5.12 "Policy change").
func (a *Activities) policyCompliant(ctx context.Context, in PromotionInput) (bool, error) {
	if slices.Contains(governanceInvariants, in.Decision.DecidedBy) {
		return false, nil
	}
	if a.Bundle.Version == in.Signature.ExecutionContext.PolicyBundleVersion {
		return true, nil
	}
	env, err := a.Store.LatestSnapshot(ctx)
	if err != nil {
		return false, err
	}
	return a.Bundle.Evaluate(in.Signature, env).Outcome == policy.Approve, nil
}

// evidence maps one execution onto the Promotion Engine's inputs.
func evidence(in PromotionInput, keyUnique, compliant, layerAdherent bool) lifecycle.Execution {
	ec := in.Signature.ExecutionContext
	ex := lifecycle.Execution{
		IntentID: in.IntentID, PromotionUnit: in.ShapeHash, Domain: in.Signature.Domain, DecidedAt: in.DecidedAt.UTC(),
		DecisionState: in.Decision.State, DriftReplans: in.DriftReplans,
		Units: in.Units, Attempts: max(in.Attempts, in.Units), CommittedUnits: in.CommittedUnits, CriticalFailure: in.CriticalFailure,
		KeyUnique: keyUnique, PolicyCompliant: compliant, PIIProtected: true, LayerAdherent: layerAdherent,
		Reproducible: ec.PolicyBundleVersion != "" && ec.CatalogSnapshotVersion != "" && ec.RegistryVersionID != "" &&
			in.Plan.Hash != "" && in.CodeHash != "",
	}
	rep := in.Runtime
	if rep == nil {
		return ex
	}
	// The unit reports are of each unit's last attempt: earlier attempts'
	// duration and cost are not in them.
	ex.DurationMS, ex.CostDBU = rep.Totals.DurationMS, rep.Totals.CostDBU
	for _, u := range rep.Units {
		for _, c := range u.Metrics.OutputSchema {
			if containsFold(in.Plan.Contract.ForbiddenColumns, c.Name) {
				ex.PIIProtected = false
			}
		}
		if u.Passed {
			continue
		}
		switch f, _ := u.Primary(); f.Code {
		case runtimevalidation.CodeSchemaDrift:
			ex.SchemaFaultUnits++
		case runtimevalidation.CodeRowLimitExceeded, runtimevalidation.CodeOutputBelowExpectedRange, runtimevalidation.CodeOutputAboveExpectedRange,
			runtimevalidation.CodeNullRatioExceeded, runtimevalidation.CodeShuffleLimitExceeded:
			ex.DriftFaultUnits++
		}
	}
	return ex
}

// declaredLayer is the destination of a signature's target_layer:
// bronze_to_silver declares silver.
func declaredLayer(targetLayer string) string {
	if i := strings.LastIndex(targetLayer, "_to_"); i >= 0 {
		return targetLayer[i+len("_to_"):]
	}
	return targetLayer
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
