package extension

import "context"

// Resolution is a custom resolver's reading of an intent: a draft signature
// (datasets by catalog name, operations, target_layer, constraints) and how
// sure it is.
type Resolution struct {
	Signature Signature
	// Confidence is the resolver's confidence_score in [0, 1].
	Confidence float64
	// Competing lists the other readings it saw (competing_interpretations).
	Competing []string
}

// DomainResolver is intent_normalizer.custom_domain_resolver:
// domain-specific interpretation of intent text.
//
// CFA gives it the intent text, the catalog and the registry snapshot
// consulted at step 2. It returns its reading, or nil when the text is not
// for it (the next resolver, then the shipped normalizer, reads it).
//
// The core completes the draft as it completes a structured signature
// (every dataset must be in the catalog, which fills layer, size,
// classification and PII; the registry's constraints are injected, I3) and
// the Confirmation Orchestrator chooses the mode from the result: a custom
// reading is confirmed, signed, governed and audited like any other, and
// the resolver's name and raw draft are recorded in the SEMANTIC_RESOLUTION
// event so the intent can be replayed without the resolver.
type DomainResolver interface {
	Name() string
	Resolve(ctx context.Context, text string, cat *Catalog, env EnvironmentState) (*Resolution, error)
}

// CatalogEnrichmentHook is intent_normalizer.catalog_enrichment_hook:
// enrichment of the resolved datasets from an external catalog, before the
// signature is generated.
//
// CFA gives it the resolved signature and the catalog; it returns the
// signature with its datasets enriched (PII columns, classification, size).
//
// The core only takes what adds protection: PII columns are added to what
// the catalog declares, never removed; classification and size are taken
// only for datasets of the signature; datasets, operations and constraints
// are kept as resolved. The confirmation mode is chosen again from the
// enriched signature, so a column found to be PII escalates as it should.
type CatalogEnrichmentHook interface {
	Enrich(ctx context.Context, sig Signature, cat *Catalog) (Signature, error)
}

// ConfidenceScorer is intent_normalizer.confidence_scorer_override: a custom
// semantic-confidence model.
//
// CFA gives it the resolution (signature, shipped score, ambiguity,
// competing readings); it returns a confidence_score in [0, 1].
//
// The core clamps the score to [0, 1] (NaN counts as 0) and chooses the
// confirmation mode from it with the whitepaper's triggers: a scorer can
// make an intent escalate, and can make it proceed only where the other
// triggers (PII, silver or gold writes, cost, ambiguity) allow.
type ConfidenceScorer interface {
	Score(ctx context.Context, res SemanticResolution) (float64, error)
}
