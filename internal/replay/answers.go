package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// The extension points' answers, as the audit trail recorded them: the
// replay never calls a plug-in (whitepaper 9: "a plug-in's name and raw
// answer are recorded in the audit trail so the intent can be replayed
// without it").

// recordedNormalizer answers the intent_normalizer's extension points from
// the SEMANTIC_RESOLUTION event.
type recordedNormalizer struct{ rec events.SemanticResolution }

func (n recordedNormalizer) Resolve(context.Context, string, *catalog.Catalog, registry.EnvironmentState) (string, *kernel.Draft, error) {
	r := n.rec
	if r.Resolver == "" || r.Raw == nil {
		return "", nil, nil
	}
	// Records made before the resolver's confidence and competing
	// readings were kept: the resolution's own are the best answer left.
	confidence, competing := r.Confidence, r.CompetingInterpretations
	if r.RawConfidence != nil {
		confidence, competing = *r.RawConfidence, r.RawCompeting
	}
	return r.Resolver, &kernel.Draft{Signature: r.Raw.Clone(), Confidence: confidence, Competing: competing}, nil
}

func (n recordedNormalizer) Enrich(context.Context, signature.Signature, *catalog.Catalog) (signature.Signature, bool, error) {
	if n.rec.Enriched == nil {
		return signature.Signature{}, false, nil
	}
	return n.rec.Enriched.Clone(), true, nil
}

func (n recordedNormalizer) Score(context.Context, resolution.SemanticResolution) (float64, bool, error) {
	if n.rec.Scored == nil {
		return 0, false, nil
	}
	return *n.rec.Scored, true, nil
}

// recordedCompliance answers the external_compliance_validators with the
// faults recorded for the signature they were asked about.
type recordedCompliance map[string][]fault.Fault

func (c recordedCompliance) Validate(_ context.Context, sig signature.Signature, _ registry.EnvironmentState) ([]fault.Fault, error) {
	h, err := sig.Hash()
	if err != nil {
		return nil, err
	}
	return c[h], nil
}

// recordedEstimator answers the pre_cost_estimator_backend with the
// PRE_COST_ESTIMATED event: a plug-in's answer is recorded in full. For
// the shipped model the history only moves the figures: what an estimate
// rests on (the priced shape, the model's own figures) is computed again
// over the same signature, catalog and time, with the record's figures;
// with no history at all the estimate is computed again whole, and
// compared.
type recordedEstimator struct {
	rec events.PreCostEstimated
}

func (e recordedEstimator) Name() string {
	if e.rec.Backend != "" {
		return e.rec.Backend
	}
	return extensionShippedEstimator
}

// extensionShippedEstimator is the shipped backend's name
// (extension.ShippedCostEstimator).
const extensionShippedEstimator = "cfa_history_weighted"

func (e recordedEstimator) Estimate(_ context.Context, in precost.Input) (precost.Estimate, error) {
	if a := e.rec.BackendEstimate; a != nil {
		return *a, nil
	}
	in.History = nil
	model, err := precost.EstimateCost(in)
	if err != nil && e.rec.Backend == "" {
		return precost.Estimate{}, err
	}
	if e.recomputed() {
		return model, nil
	}
	r := e.rec
	out := model
	out.EstimatedDBU, out.EstimatedShuffleGB, out.CostRiskScore = r.EstimatedDBU, r.EstimatedShuffleGB, r.CostRiskScore
	out.Confidence, out.Basis, out.HistoryRuns, out.CostCeilingDBU = r.Confidence, r.Basis, r.HistoryRuns, r.CostCeilingDBU
	return out, nil
}

// recomputed: the shipped model with no run in its history depends on the
// signature, the catalog, the snapshot and the time only.
func (e recordedEstimator) recomputed() bool { return e.rec.Backend == "" && e.rec.HistoryRuns == 0 }

// recordedBackend answers a custom_template_library backend with the
// artifact recorded for it.
type recordedBackend struct {
	name string
	art  *codegen.Artifact
	// refusal is the recorded refusal, when this backend refused.
	refusal *fault.Fault
}

func (b recordedBackend) Name() string { return b.name }

func (b recordedBackend) Generate(planner.ExecutionPlan, *catalog.Catalog) (codegen.Artifact, error) {
	switch {
	case b.refusal != nil:
		return codegen.Artifact{}, errors.New(b.refusal.Message)
	case b.art == nil:
		return codegen.Artifact{}, fmt.Errorf("backend %s: no artifact recorded", b.name)
	}
	return *b.art, nil
}

func (b recordedBackend) ForbiddenOperations() []string { return nil }
