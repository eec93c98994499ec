package resolution

import (
	"math"
	"slices"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// The intent_normalizer's extension points (whitepaper 9) change a
// resolution only through these functions, which keep what the core
// guarantees: every dataset comes from the catalog, the registry's
// constraints are injected (I3) and the Confirmation Orchestrator chooses
// the mode from the final resolution.

// Complete turns a custom_domain_resolver's draft signature into a
// resolution, completed as a structured signature is (ResolveStructured),
// with the resolver's confidence and competing readings.
func Complete(draft signature.Signature, confidence float64, competing []string, cat *catalog.Catalog, env registry.EnvironmentState) SemanticResolution {
	res := ResolveStructured(draft, cat, env)
	if !res.Resolved {
		return res
	}
	res.ConfidenceScore = clamp(confidence)
	res.CompetingInterpretations = slices.Compact(slices.Sorted(slices.Values(competing)))
	if len(res.CompetingInterpretations) < 2 {
		res.CompetingInterpretations = []string{}
	}
	if len(res.CompetingInterpretations) > 1 {
		res.AmbiguityLevel = AmbiguityHigh
	}
	return Reconfirm(res, env)
}

// WithEnrichment merges a catalog_enrichment_hook's answer into the
// resolution, taking only what adds protection: for each dataset of the
// signature, PII columns are added (never removed), a larger size is taken
// (a larger scan is governed more strictly), and a classification is taken
// only where the catalog gives none or it is sensitive. Datasets,
// operations and constraints stay as resolved.
func WithEnrichment(res SemanticResolution, enriched signature.Signature, env registry.EnvironmentState) SemanticResolution {
	res.Signature = res.Signature.Clone() // res is the caller's: change a copy
	byName := map[string]signature.Dataset{}
	for _, d := range enriched.Datasets {
		byName[d.Name] = d
	}
	for i, d := range res.Signature.Datasets {
		e, ok := byName[d.Name]
		if !ok {
			continue
		}
		pii := append(slices.Clone(d.PII), e.PII...)
		slices.Sort(pii)
		res.Signature.Datasets[i].PII = slices.Compact(pii)
		if e.Classification != "" && (d.Classification == "" || e.Classification == "sensitive") {
			res.Signature.Datasets[i].Classification = e.Classification
		}
		if e.Size != "" && e.SizeBytes > d.SizeBytes {
			res.Signature.Datasets[i].Size, res.Signature.Datasets[i].SizeBytes = e.Size, e.SizeBytes
		}
	}
	return Reconfirm(res, env)
}

// WithConfidence sets a confidence_scorer_override's score (clamped to
// [0, 1], NaN as 0) and chooses the confirmation mode again.
func WithConfidence(res SemanticResolution, score float64, env registry.EnvironmentState) SemanticResolution {
	res.ConfidenceScore = clamp(score)
	return Reconfirm(res, env)
}

// Reconfirm chooses the confirmation mode of a resolution again.
func Reconfirm(res SemanticResolution, env registry.EnvironmentState) SemanticResolution {
	if !res.Resolved {
		return res
	}
	c := confirmation.Evaluate(ConfirmationInput(res, env))
	res.ConfirmationMode, res.ConfirmationTriggers = c.Mode, c.Triggers
	return res
}

func clamp(c float64) float64 {
	if math.IsNaN(c) || c < 0 {
		return 0
	}
	return math.Min(c, 1)
}
