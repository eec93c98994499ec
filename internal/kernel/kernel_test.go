package kernel_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// scorer answers the confidence_scorer_override with a fixed score.
type scorer struct {
	kernel.Shipped
	score float64
}

func (s scorer) Score(context.Context, resolution.SemanticResolution) (float64, bool, error) {
	return s.score, true, nil
}

// enricher adds a PII column to vendas_diarias.
type enricher struct{ kernel.Shipped }

func (enricher) Enrich(_ context.Context, sig signature.Signature, _ *catalog.Catalog) (signature.Signature, bool, error) {
	out := sig.Clone()
	for i := range out.Datasets {
		if out.Datasets[i].Name == "vendas_diarias" {
			out.Datasets[i].PII = append(out.Datasets[i].PII, "cpf_comprador")
		}
	}
	return out, true, nil
}

// TestNormalizeRecordsTheAnswersItWasGiven: what the extension points
// answered is in the record, as it counted (a NaN score counts as 0, which
// JSON can carry), so that the same answers give the same resolution.
func TestNormalizeRecordsTheAnswersItWasGiven(t *testing.T) {
	cat := plannertest.Catalog()
	env := registry.EnvironmentState{VersionID: "r1"}
	in := kernel.NormalizeInput{Text: "aggregate vendas_diarias by day"}
	tests := []struct {
		name  string
		n     kernel.Normalizer
		check func(t *testing.T, k kernel.Normalized)
	}{
		{"shipped", kernel.Shipped{}, func(t *testing.T, k kernel.Normalized) {
			require.Nil(t, k.Record.Scored)
			require.Nil(t, k.Record.Enriched)
		}},
		{"a NaN score", scorer{score: math.NaN()}, func(t *testing.T, k kernel.Normalized) {
			require.NotNil(t, k.Record.Scored)
			require.Equal(t, 0.0, *k.Record.Scored)
			require.Equal(t, 0.0, k.Resolution.ConfidenceScore)
		}},
		{"an enrichment", enricher{}, func(t *testing.T, k kernel.Normalized) {
			require.NotNil(t, k.Record.Enriched)
			require.Contains(t, k.Resolution.Signature.Datasets[0].PII, "cpf_comprador")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := kernel.Normalize(t.Context(), in, cat, env, tc.n)
			require.NoError(t, err)
			require.Equal(t, "resolved", k.Outcome)
			tc.check(t, k)
			again, err := kernel.Normalize(t.Context(), in, cat, env, tc.n)
			require.NoError(t, err)
			require.Equal(t, k, again, "deterministic")
		})
	}
	_, err := kernel.Normalize(t.Context(), kernel.NormalizeInput{Text: "x", Signature: &signature.Signature{}}, cat, env, kernel.Shipped{})
	require.ErrorIs(t, err, kernel.ErrInvalidInput)
}

func TestPreCostVote(t *testing.T) {
	tests := []struct {
		action precost.Action
		vote   decision.State
		stop   bool
	}{
		{precost.ActionProceed, decision.Approved, false},
		{precost.ActionEscalate, decision.Approved, false},
		{precost.ActionForceReplanWithFilter, "", false},
		{precost.ActionBlock, decision.Blocked, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.action), func(t *testing.T) {
			v, stop := kernel.PreCostVote(precost.Verdict{Action: tc.action, Reason: "why"})
			require.Equal(t, tc.stop, stop)
			require.Equal(t, tc.vote, v.Outcome)
			if tc.vote != "" {
				require.Equal(t, decision.AuthorityPreCostEstimator, v.Authority)
			}
		})
	}
}
