package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// ErrInvalidInput marks an input no retry can fix: the stage activity
// returns it as a non-retryable error.
var ErrInvalidInput = errors.New("invalid stage input")

// Draft is a custom_domain_resolver's reading of intent text.
type Draft struct {
	Signature  signature.Signature
	Confidence float64
	Competing  []string
}

// Normalizer answers the intent_normalizer's extension points (whitepaper
// 9): live in the activity, from the SEMANTIC_RESOLUTION record in a
// replay.
type Normalizer interface {
	// Resolve asks the custom_domain_resolvers in order and returns the
	// first draft with its resolver's name; a nil draft when none reads
	// the text.
	Resolve(ctx context.Context, text string, cat *catalog.Catalog, env registry.EnvironmentState) (resolver string, draft *Draft, err error)
	// Enrich is the catalog_enrichment_hook; ok is false when none is set.
	Enrich(ctx context.Context, sig signature.Signature, cat *catalog.Catalog) (enriched signature.Signature, ok bool, err error)
	// Score is the confidence_scorer_override; ok is false when none is set.
	Score(ctx context.Context, res resolution.SemanticResolution) (score float64, ok bool, err error)
}

// NormalizeInput is step 4's input: text or a structured signature, and
// what the cost trigger prices the resolved signature with
// (resolution.Costed): the stage's time and the intent's ceiling. A zero
// Cost.Now prices nothing.
type NormalizeInput struct {
	Text      string
	Signature *signature.Signature
	Cost      resolution.CostInput
}

// Normalized is what step 4 decides.
type Normalized struct {
	Resolution resolution.SemanticResolution
	// Record is the SEMANTIC_RESOLUTION event, with the extension points'
	// answers, so the intent replays without them (ADR 0127).
	Record events.SemanticResolution
	// Outcome is resolved, unresolved or out_of_bounds.
	Outcome string
	// Stop is the vote that ends the flow here; nil when it goes on.
	Stop *decision.Vote
}

// Normalize is the Intent Normalizer + Semantic Resolution (step 4) over
// the registry snapshot consulted at step 2, with the extension points n
// answers. An intent it cannot resolve, or whose resolved signature is out
// of bounds, stops the flow: it is blocked, not guessed.
func Normalize(ctx context.Context, in NormalizeInput, cat *catalog.Catalog, env registry.EnvironmentState, n Normalizer) (Normalized, error) {
	if in.Signature != nil && in.Text != "" {
		return Normalized{}, fmt.Errorf("normalize: %w: give either text or a structured signature, not both", ErrInvalidInput)
	}
	res, rec, err := resolve(ctx, in, cat, env, n)
	if err != nil {
		return Normalized{}, err
	}
	// The cost trigger (5.1, 5.1b), last: it prices the signature every
	// extension point agreed on. A signature the model cannot price keeps
	// its cost triggers silent; step 8 refuses it with the reason.
	if costed, err := resolution.Costed(res, cat, env, in.Cost); err == nil {
		res = costed
	}
	out := Normalized{Outcome: "resolved"}
	switch {
	case !res.Resolved:
		out.Outcome = "unresolved"
		v := resolution.UnresolvedVote(res.Reason)
		out.Stop = &v
	default:
		// Text, a custom resolver or the enrichment hook can produce what a
		// submitted signature may not: check the resolved one too.
		if err := bounds.Signature(res.Signature); err != nil {
			v := bounds.Vote(err)
			out.Stop = &v
			res.Resolved, res.Reason, out.Outcome = false, v.Reason, "out_of_bounds"
		}
	}
	rec.Confidence, rec.AmbiguityLevel, rec.CompetingInterpretations = res.ConfidenceScore, res.AmbiguityLevel, res.CompetingInterpretations
	rec.ConfirmationMode, rec.ConfirmationTriggers = res.ConfirmationMode, res.ConfirmationTriggers
	rec.EnvironmentConstraintsInjected, rec.EnvironmentStateConsulted, rec.Reason = res.EnvironmentConstraintsInjected, true, res.Reason
	rec.EstimatedCostDBU, rec.CostCeilingDBU = res.EstimatedCostDBU, res.CostCeilingDBU
	out.Resolution, out.Record = res, rec
	return out, nil
}

// resolve asks the custom domain resolvers first (text only), then the
// shipped normalizer, and applies the enrichment hook and the scorer.
func resolve(ctx context.Context, in NormalizeInput, cat *catalog.Catalog, env registry.EnvironmentState, n Normalizer) (resolution.SemanticResolution, events.SemanticResolution, error) {
	var rec events.SemanticResolution
	var res resolution.SemanticResolution
	resolved := false
	if in.Signature == nil {
		name, draft, err := n.Resolve(ctx, in.Text, cat, env.Clone())
		if err != nil {
			return res, rec, fmt.Errorf("custom_domain_resolver %s: %w", name, err)
		}
		if draft != nil {
			raw := draft.Signature.Clone()
			res = resolution.Complete(draft.Signature, draft.Confidence, draft.Competing, cat, env)
			// The answer as it counts: the confidence clamped (a NaN has no
			// JSON), the competing readings as returned.
			confidence := res.ConfidenceScore
			rec.Resolver, rec.Raw, rec.RawConfidence, rec.RawCompeting = name, &raw, &confidence, draft.Competing
			resolved = true
		}
	}
	switch {
	case resolved:
	case in.Signature != nil:
		res = resolution.ResolveStructured(*in.Signature, cat, env)
	default:
		res = resolution.Resolve(in.Text, cat, env)
	}
	if !res.Resolved {
		return res, rec, nil
	}
	enriched, ok, err := n.Enrich(ctx, res.Signature.Clone(), cat)
	if err != nil {
		return res, rec, fmt.Errorf("catalog_enrichment_hook: %w", err)
	}
	if ok {
		answer := enriched.Clone()
		rec.Enriched = &answer
		res = resolution.WithEnrichment(res, enriched, env)
	}
	probe := res
	probe.Signature = res.Signature.Clone()
	score, ok, err := n.Score(ctx, probe)
	if err != nil {
		return res, rec, fmt.Errorf("confidence_scorer_override: %w", err)
	}
	if ok {
		res = resolution.WithConfidence(res, score, env)
		effective := res.ConfidenceScore // clamped: a NaN has no JSON
		rec.Scored = &effective
	}
	return res, rec, nil
}

// Shipped is the Normalizer of a deployment that sets none of the
// intent_normalizer's extension points.
type Shipped struct{}

// Resolve reads nothing: the shipped normalizer does.
func (Shipped) Resolve(context.Context, string, *catalog.Catalog, registry.EnvironmentState) (string, *Draft, error) {
	return "", nil, nil
}

// Enrich has no hook.
func (Shipped) Enrich(context.Context, signature.Signature, *catalog.Catalog) (signature.Signature, bool, error) {
	return signature.Signature{}, false, nil
}

// Score has no scorer.
func (Shipped) Score(context.Context, resolution.SemanticResolution) (float64, bool, error) {
	return 0, false, nil
}
