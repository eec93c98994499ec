package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
)

func TestMatchColumns(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	get := func(names ...string) []catalog.Dataset {
		var out []catalog.Dataset
		for _, n := range names {
			d, ok := c.Get(n)
			require.True(t, ok, n)
			out = append(out, d)
		}
		return out
	}
	tests := []struct {
		term     string
		datasets []string
		refs     []string
		kind     catalog.MatchKind
	}{
		{"uf", []string{"nfe"}, []string{"nfe.uf"}, catalog.MatchExact},
		{"UF", []string{"nfe"}, []string{"nfe.uf"}, catalog.MatchExact},
		{"valor total", []string{"nfe"}, []string{"nfe.valor_total"}, catalog.MatchExact},
		{"state", []string{"nfe"}, []string{"nfe.uf"}, catalog.MatchAlias},
		{"states", []string{"nfe"}, []string{"nfe.uf"}, catalog.MatchAlias},
		{"Estado", []string{"vendas_diarias"}, []string{"vendas_diarias.uf"}, catalog.MatchAlias},
		{"revenue", []string{"nfe"}, []string{"nfe.valor_total"}, catalog.MatchAlias},
		{"revenue", []string{"vendas_diarias"}, []string{"vendas_diarias.valor"}, catalog.MatchAlias},
		{"valor", []string{"vendas_diarias"}, []string{"vendas_diarias.valor"}, catalog.MatchExact},
		{"valor", []string{"nfe"}, []string{"nfe.valor_total"}, catalog.MatchAlias},
		{"clientes", []string{"silver_documentos"}, []string{"silver_documentos.cliente_id"}, catalog.MatchAlias},
		{"emitted", []string{"nfe"}, []string{"nfe.emitted_at"}, catalog.MatchPart},
		{"estdo", []string{"nfe"}, []string{"nfe.uf"}, catalog.MatchTypo},
		{"valor_totl", []string{"nfe"}, []string{"nfe.valor_total"}, catalog.MatchTypo},
		// A tie across datasets keeps every candidate, in the order given.
		{"uf", []string{"nfe", "clientes"}, []string{"nfe.uf", "clientes.uf"}, catalog.MatchExact},
		// The strongest evidence wins: an exact name over a typo elsewhere.
		{"segmento", []string{"clientes", "nfe"}, []string{"clientes.segmento"}, catalog.MatchExact},
		{"store", []string{"vendas_diarias"}, nil, ""},
		{"id", []string{"nfe"}, nil, ""}, // too short to be a part of nfe_id
	}
	for _, tc := range tests {
		ms := catalog.MatchColumns(get(tc.datasets...), tc.term)
		var refs []string
		for _, m := range ms {
			require.Equal(t, tc.kind, m.Kind, tc.term)
			refs = append(refs, m.Ref())
		}
		require.Equal(t, tc.refs, refs, "%s in %v", tc.term, tc.datasets)
	}
}

func TestColumnTermsAndDatasetsWithColumns(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	for _, term := range []string{"uf", "valor_total", "Valor Total", "revenue", "faturamento", "clients", "estado"} {
		require.True(t, c.IsColumnTerm(term), term)
	}
	for _, term := range []string{"store", "nfe", "estdo", "emitted"} {
		require.False(t, c.IsColumnTerm(term), "%s: exact names and aliases only", term)
	}
	require.Equal(t, []string{"gold_faturamento_uf", "nfe", "silver_documentos"}, c.DatasetsWithColumns([]string{"valor_total", "state"}))
	require.Equal(t, []string{"vendas_diarias"}, c.DatasetsWithColumns([]string{"quantidade"}))
	require.Empty(t, c.DatasetsWithColumns([]string{"valor_total", "segmento"}))

	nfe, _ := c.Get("nfe")
	v, ok := nfe.Column("valor_total")
	require.True(t, ok)
	require.True(t, v.Numeric())
	require.False(t, v.Temporal())
	d, _ := nfe.Column("processing_date")
	require.True(t, d.Temporal())
	require.False(t, d.Numeric())
	_, ok = nfe.Column("store")
	require.False(t, ok)
	require.Equal(t, []string{"states", "state"}, catalog.Singulars("states"))
	require.Equal(t, []string{"valores", "valore", "valor"}, catalog.Singulars("valores"))
	require.Equal(t, []string{"gas"}, catalog.Singulars("gas"), "three letters keep their s")
}
