package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
)

func loadShipped(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	return c
}

func TestLoadShippedCatalog(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)

	require.Equal(t, []string{"clientes", "clientes_anon", "gold_faturamento_uf", "nfe", "produtos", "silver_documentos", "vendas_diarias"}, c.Names())
	require.Regexp(t, `^catalog_[0-9a-f]{16}$`, c.SnapshotVersion)

	nfe, ok := c.Get("nfe")
	require.True(t, ok)
	require.Equal(t, int64(4)<<40, nfe.SizeBytes)
	require.Equal(t, "high_volume", nfe.Classification)
	require.Equal(t, "nested_json", nfe.SourceType)
	require.Equal(t, "processing_date", nfe.PartitionKey)
	require.Equal(t, "nfe_id", nfe.MergeKey)
	require.True(t, nfe.HasColumn("valor_total"))

	cli, ok := c.Get("clientes")
	require.True(t, ok)
	require.Equal(t, []string{"cpf", "email"}, cli.PII)
	require.Equal(t, int64(500)<<20, cli.SizeBytes)

	anon, ok := c.Get("clientes_anon")
	require.True(t, ok)
	require.Equal(t, "clientes", anon.AnonymizedFrom)
	require.Empty(t, anon.PII)
	require.False(t, anon.HasColumn("email"))

	for _, d := range c.Datasets {
		require.Contains(t, []string{"fiscal", "master_data"}, d.Domain, d.Name)
	}
	_, ok = c.Get("nope")
	require.False(t, ok)
}

func TestLoadIsDeterministic(t *testing.T) {
	t.Parallel()
	require.Equal(t, loadShipped(t).SnapshotVersion, loadShipped(t).SnapshotVersion)
}

const minimal = `datasets:
  - name: vendas
    domain: fiscal
    layer: bronze
    size: 12GB
    classification: internal
    source_type: parquet
    partition_key: sale_date
    columns:
      - {name: venda_id, type: string}
      - {name: sale_date, type: date}
    aliases: [sales]
`

func fsOf(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestSnapshotVersionChangesWithContent(t *testing.T) {
	t.Parallel()
	base, err := catalog.Load(fsOf(map[string]string{"a.yaml": minimal}))
	require.NoError(t, err)

	for name, edit := range map[string]string{
		"size":         strings.Replace(minimal, "12GB", "13GB", 1),
		"alias":        strings.Replace(minimal, "[sales]", "[sales, vendas totais]", 1),
		"column":       strings.Replace(minimal, "{name: venda_id, type: string}", "{name: venda_id, type: bigint}", 1),
		"column alias": strings.Replace(minimal, "{name: venda_id, type: string}", "{name: venda_id, type: string, aliases: [sale id]}", 1),
	} {
		c, err := catalog.Load(fsOf(map[string]string{"a.yaml": edit}))
		require.NoError(t, err, name)
		require.NotEqual(t, base.SnapshotVersion, c.SnapshotVersion, name)
	}

	// Comments and file layout are not content.
	moved, err := catalog.Load(fsOf(map[string]string{"z.yaml": "# note\n" + minimal}))
	require.NoError(t, err)
	require.Equal(t, base.SnapshotVersion, moved.SnapshotVersion)
}

func TestLoadErrorsNameFileDatasetAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"bad yaml", map[string]string{"a.yaml": "datasets: [\n"}, []string{"catalog file a.yaml", "fix the YAML"}},
		{"empty file", map[string]string{"a.yaml": ""}, []string{"a.yaml", "file is empty"}},
		{"no files", map[string]string{"readme.md": "x"}, []string{"no *.yaml file"}},
		{"unknown field", map[string]string{"a.yaml": strings.Replace(minimal, "layer: bronze", "layer: bronze\n    owner: me", 1)}, []string{"a.yaml", "field owner not found"}},
		{"bad layer", map[string]string{"a.yaml": strings.Replace(minimal, "layer: bronze", "layer: platinum", 1)}, []string{`a.yaml, dataset "vendas", field layer`, `"platinum" is not a layer`, "bronze, silver, gold"}},
		{"bad classification", map[string]string{"a.yaml": strings.Replace(minimal, "classification: internal", "classification: secret", 1)}, []string{`dataset "vendas", field classification`, "high_volume, sensitive, internal, public"}},
		{"bad size", map[string]string{"a.yaml": strings.Replace(minimal, "12GB", "twelve gigs", 1)}, []string{`dataset "vendas", field size`, "e.g. 500MB or 4TB"}},
		{"pii not a column", map[string]string{"a.yaml": strings.Replace(minimal, "classification: internal", "classification: sensitive\n    pii: [cpf]", 1)}, []string{`dataset "vendas", field pii`, `"cpf" is not among the columns`}},
		{"partition key not a column", map[string]string{"a.yaml": strings.Replace(minimal, "partition_key: sale_date", "partition_key: day", 1)}, []string{`field partition_key`, `"day" is not among the columns`}},
		{"merge key not a column", map[string]string{"a.yaml": strings.Replace(minimal, "partition_key: sale_date", "partition_key: sale_date\n    merge_key: id", 1)}, []string{`field merge_key`, `"id"`}},
		{"missing domain", map[string]string{"a.yaml": strings.Replace(minimal, "    domain: fiscal\n", "", 1)}, []string{`dataset "vendas", field domain`}},
		{"duplicate name across files", map[string]string{"a.yaml": minimal, "b.yaml": minimal}, []string{`catalog file b.yaml, dataset "vendas", field name`, "first in a.yaml"}},
		{"alias is another name", map[string]string{"a.yaml": minimal + strings.NewReplacer("datasets:\n", "", "name: vendas", "name: outras", "[sales]", "[vendas]").Replace(minimal)}, []string{`dataset "outras", field aliases`}},
		{"anonymized_from unknown", map[string]string{"a.yaml": strings.Replace(minimal, "source_type: parquet", "source_type: parquet\n    anonymized_from: ghost", 1)}, []string{`field anonymized_from`, `"ghost"`}},
		{"column alias empty", map[string]string{"a.yaml": strings.Replace(minimal, "{name: venda_id, type: string}", "{name: venda_id, type: string, aliases: [\"--\"]}", 1)}, []string{`field columns[0].aliases`, "no letters or digits"}},
		{"column alias repeats its name", map[string]string{"a.yaml": strings.Replace(minimal, "{name: venda_id, type: string}", "{name: venda_id, type: string, aliases: [Venda ID]}", 1)}, []string{`field columns[0].aliases`, "repeats the name or another alias of column venda_id"}},
		{"column alias names another column", map[string]string{"a.yaml": strings.Replace(minimal, "{name: sale_date, type: date}", "{name: sale_date, type: date, aliases: [venda_id]}", 1)}, []string{`field columns[1].aliases`, "already names column venda_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.Load(fsOf(tc.files))
			require.Error(t, err)
			require.True(t, errors.Is(err, catalog.ErrInvalid), err.Error())
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"4TB": 4 << 40, "500MB": 500 << 20, "12GB": 12 << 30, "7 kb": 7 << 10, "1B": 1} {
		got, err := catalog.ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "4", "1.5GB", "-3MB", "4XB", "99999999999PB"} {
		_, err := catalog.ParseSize(in)
		require.Error(t, err, in)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	tests := []struct {
		term     string
		datasets []string
		kind     catalog.MatchKind
	}{
		{"nfe", []string{"nfe"}, catalog.MatchExact},
		{"NFE", []string{"nfe"}, catalog.MatchExact},
		{"Notas Fiscais", []string{"nfe"}, catalog.MatchAlias},
		{"NF-e", []string{"nfe"}, catalog.MatchAlias},
		{"notas fiscais eletrônicas", []string{"nfe"}, catalog.MatchAlias},
		{"customers", []string{"clientes"}, catalog.MatchAlias},
		{"cadastro de clientes", []string{"clientes"}, catalog.MatchAlias},
		{"faturamento por UF", []string{"gold_faturamento_uf"}, catalog.MatchAlias},
		{"master data", []string{"clientes", "produtos"}, catalog.MatchAlias}, // shared on purpose
		{"nfee", []string{"nfe"}, catalog.MatchTypo},
		{"clietnes", []string{"clientes"}, catalog.MatchTypo},
		{"silver_documento", []string{"silver_documentos"}, catalog.MatchTypo},
		{"customer", []string{"clientes"}, catalog.MatchTypo},
	}
	for _, tc := range tests {
		t.Run(tc.term, func(t *testing.T) {
			t.Parallel()
			ms, err := c.Lookup(tc.term)
			require.NoError(t, err)
			var got []string
			for _, m := range ms {
				require.Equal(t, tc.kind, m.Kind)
				got = append(got, m.Dataset)
			}
			require.Equal(t, tc.datasets, got)
		})
	}
}

func TestLookupUnknownNamesClosest(t *testing.T) {
	t.Parallel()
	c := loadShipped(t)
	for _, term := range []string{"nf", "xyz", "fatura"} {
		_, err := c.Lookup(term)
		require.ErrorIs(t, err, catalog.ErrUnknownDataset, term)
		var ue *catalog.UnknownError
		require.ErrorAs(t, err, &ue)
		require.Len(t, ue.Closest, 3)
		require.Contains(t, err.Error(), "use one of them")
	}
	require.Equal(t, "nfe", c.Closest("nf", 1)[0])
}

func TestHandBuiltCatalogLooksUp(t *testing.T) {
	t.Parallel()
	c := &catalog.Catalog{Datasets: []catalog.Dataset{{Name: "nfe", Aliases: []string{"invoices"}}}}
	ms, err := c.Lookup("Invoices")
	require.NoError(t, err)
	require.Equal(t, "nfe", ms[0].Dataset)
}

func TestTypoTolerance(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1, catalog.TypoDistance("totla", "total"))
	require.Equal(t, 2, catalog.TypoDistance("tolta", "total"))
	_, ok := catalog.WithinTypo("nf", "nfe")
	require.False(t, ok, "terms of 3 runes or fewer get no typo budget")
	_, ok = catalog.WithinTypo("mfe", "nfe")
	require.False(t, ok, "first letter must match")
	d, ok := catalog.WithinTypo("nfee", "nfe")
	require.True(t, ok)
	require.Equal(t, 1, d)
	require.Equal(t, "notas fiscais eletronicas", catalog.Normalize("  Notas-Fiscais   Eletrônicas!"))
}

func BenchmarkLookupTypo(b *testing.B) {
	c, err := catalog.Load(catalogfiles.FS)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.Lookup("clietnes")
	}
}
