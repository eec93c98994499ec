package resolution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
)

// Every competing interpretation Resolve lists can be chosen by name, and
// gives the signature of that reading; the text's confidence, ambiguity
// and competing list stay, so the mode is computed as usual.
func TestResolveAsEveryCompetingInterpretation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		chosen  string
		ops     []string
		sources []string
		targets []string
		layer   string
	}{
		// A shared alias.
		{"enrich nfe with master data", "enrich_nfe_with_produtos", []string{"enrich"}, []string{"nfe", "produtos"}, nil, "bronze"},
		{"enrich nfe with master data", "enrich_nfe_with_clientes", []string{"enrich"}, []string{"clientes", "nfe"}, nil, "bronze"},
		// A vague verb: join or enrich.
		{"combine nfe with clientes into silver", "enrich_nfe_with_clientes_silver", []string{"enrich"}, []string{"clientes", "nfe"}, []string{"silver_documentos"}, "bronze_to_silver"},
		{"combine nfe with clientes into silver", "join_nfe_clientes_silver", []string{"join"}, []string{"clientes", "nfe"}, []string{"silver_documentos"}, "bronze_to_silver"},
		// Read or write.
		{"agregar vendas_diarias na gold_faturamento_uf", "aggregate_vendas_diarias_gold_faturamento_uf", []string{"aggregate"}, []string{"gold_faturamento_uf", "vendas_diarias"}, nil, "bronze"},
		{"agregar vendas_diarias na gold_faturamento_uf", "aggregate_vendas_diarias_gold_into_gold_faturamento_uf", []string{"aggregate"}, []string{"vendas_diarias"}, []string{"gold_faturamento_uf"}, "bronze_to_gold"},
		// A dataset inferred from its columns.
		{"sum of valor_total by uf last 7 days", "aggregate_silver_documentos", []string{"aggregate"}, []string{"silver_documentos"}, nil, "silver"},
	}
	for _, tc := range tests {
		t.Run(tc.text+" as "+tc.chosen, func(t *testing.T) {
			t.Parallel()
			env := registry.EnvironmentState{}
			first := resolved(t, tc.text, env)
			require.Contains(t, first.CompetingInterpretations, tc.chosen)
			r, err := resolution.ResolveAs(tc.text, shipped, env, tc.chosen)
			require.NoError(t, err)
			require.True(t, r.Resolved)
			s := r.Signature
			require.Equal(t, tc.ops, s.Operations)
			require.Equal(t, tc.sources, names(s.Sources()))
			require.Equal(t, tc.targets, names(s.Targets()))
			require.Equal(t, tc.layer, s.TargetLayer)
			require.Equal(t, first.CompetingInterpretations, r.CompetingInterpretations)
			require.Equal(t, first.ConfidenceScore, r.ConfidenceScore)
			require.Equal(t, first.AmbiguityLevel, r.AmbiguityLevel)
			require.Equal(t, first.ConfirmationMode, r.ConfirmationMode, "the choice is confirmed like the text")

			again, err := resolution.ResolveAs(tc.text, shipped, env, tc.chosen)
			require.NoError(t, err)
			require.Equal(t, r, again, "deterministic (I8)")
		})
	}
}

func TestResolveAsRefusesWhatIsNotAnInterpretation(t *testing.T) {
	t.Parallel()
	env := registry.EnvironmentState{}
	_, err := resolution.ResolveAs("enrich nfe with master data", shipped, env, "join_nfe_clientes")
	require.ErrorContains(t, err, `interpretation "join_nfe_clientes" is not one of the intent's competing interpretations; choose one of enrich_nfe_with_clientes, enrich_nfe_with_produtos`)

	_, err = resolution.ResolveAs("show me nfe", shipped, env, "read_nfe")
	require.ErrorContains(t, err, "one interpretation only")

	_, err = resolution.ResolveAs("aggregate daily sales by store from vendas_diarias", shipped, env, "aggregate_vendas_diarias")
	require.ErrorContains(t, err, `"store" is not a column of vendas_diarias`)

	// No name: Resolve.
	r, err := resolution.ResolveAs("enrich nfe with master data", shipped, env, "")
	require.NoError(t, err)
	require.Equal(t, resolution.Resolve("enrich nfe with master data", shipped, env), r)
	r, err = resolution.ResolveAs("hello", shipped, env, "")
	require.NoError(t, err)
	require.False(t, r.Resolved)
}

// The chosen reading carries the registry's constraints of its own
// datasets.
func TestResolveAsInjectsTheChosenReadingsConstraints(t *testing.T) {
	t.Parallel()
	env := registry.EnvironmentState{VersionID: "v9", Datasets: []registry.DatasetState{
		{Name: "produtos", State: registry.StateStale, PublishAllowed: true},
	}}
	first := resolution.Resolve("enrich nfe with master data", shipped, env)
	require.Empty(t, first.EnvironmentConstraintsInjected, "clientes is read first")
	r, err := resolution.ResolveAs("enrich nfe with master data", shipped, env, "enrich_nfe_with_produtos")
	require.NoError(t, err)
	require.Equal(t, []string{"produtos.state = stale"}, r.EnvironmentConstraintsInjected)
}
