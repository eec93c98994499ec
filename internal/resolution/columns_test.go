package resolution_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// The examples at the top of issue 14 that are about resolution, each as
// the issue says it must now behave.

func hashOf(t *testing.T, text string) string {
	t.Helper()
	r := resolved(t, text, registry.EnvironmentState{})
	h, err := r.Signature.Hash()
	require.NoError(t, err)
	return h
}

// "aggregate daily sales by store from vendas_diarias" (no store column)
// and "agregar vendas diárias por uf" gave one hash, auto-confirmed: the
// grouping was not in the signature and the unknown column was dropped.
func TestIssue14GroupingIsInTheSignatureAndUnknownColumnsBlock(t *testing.T) {
	t.Parallel()
	r := resolution.Resolve("aggregate daily sales by store from vendas_diarias", shipped, registry.EnvironmentState{})
	require.False(t, r.Resolved)
	require.Contains(t, r.Reason, `"store" is not a column of vendas_diarias`)
	require.Contains(t, r.Reason, "its columns are venda_id, produto_id, quantidade, valor, uf, sale_date")
	require.Empty(t, r.ConfirmationMode)

	pt := resolved(t, "agregar vendas diárias por uf", registry.EnvironmentState{})
	require.Equal(t, by("vendas_diarias.uf"), pt.Signature.Selection)
	require.Equal(t, confirmation.ModeAuto, pt.ConfirmationMode)

	// The same grouping in English is the same signature; another grouping,
	// or none, is another.
	require.Equal(t, hashOf(t, "agregar vendas diárias por uf"), hashOf(t, "aggregate daily sales by uf from vendas_diarias"))
	require.NotEqual(t, hashOf(t, "agregar vendas diárias por uf"), hashOf(t, "aggregate daily sales by produto_id from vendas_diarias"))
	require.NotEqual(t, hashOf(t, "agregar vendas diárias por uf"), hashOf(t, "aggregate daily sales from vendas_diarias"))
}

// "aggregate revenue by cliente from silver_documentos into
// gold_faturamento_uf" pulled clientes in as a source because "cliente"
// matched it: a word in a column position is a column.
func TestIssue14AColumnWordDoesNotPullADatasetIn(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"aggregate revenue by cliente from silver_documentos into gold_faturamento_uf",
		"aggregate revenue by clients from silver_documentos into gold_faturamento_uf",
		"aggregate revenue by customer from silver_documentos into gold_faturamento_uf",
		"agregar faturamento por cliente de silver_documentos para gold_faturamento_uf",
	} {
		r := resolved(t, text, registry.EnvironmentState{})
		s := r.Signature
		require.Equal(t, []string{"silver_documentos"}, names(s.Sources()), text)
		require.Equal(t, []string{"gold_faturamento_uf"}, names(s.Targets()), text)
		require.Equal(t, sumBy("silver_documentos.valor_total", "silver_documentos.cliente_id"), s.Canonical().Selection, text)
	}
	// Where no dataset in play has the column, it blocks, naming where the
	// catalog has it.
	r := resolution.Resolve("aggregate vendas_diarias by cliente", shipped, registry.EnvironmentState{})
	require.False(t, r.Resolved)
	require.Contains(t, r.Reason, `"cliente" is not a column of vendas_diarias`)
	require.Contains(t, r.Reason, "nfe.cliente_id")
	// A dataset named as a dataset is still one.
	r = resolved(t, "reconcile nfe with clientes by cliente_id", registry.EnvironmentState{})
	require.Equal(t, []string{"clientes", "nfe"}, names(r.Signature.Sources()))
}

// "count invoices" and other reads were approved and returned nothing;
// "show me nfe" and "read clientes" were refused as having no operation.
func TestIssue14ReadIntentsResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text      string
		ops       []string
		sources   []string
		layer     string
		temporal  *signature.TemporalFilter
		sel       *signature.Selection
		competing int
	}{
		{text: "count invoices", ops: []string{"aggregate"}, sources: []string{"nfe"}, layer: "bronze",
			sel: &signature.Selection{Measures: []signature.Measure{{Function: "count"}}}},
		{text: "show me nfe", ops: []string{"read"}, sources: []string{"nfe"}, layer: "bronze"},
		{text: "show me nfe for 2026-01-02", ops: []string{"read"}, sources: []string{"nfe"}, layer: "bronze",
			temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-03"}},
		{text: "read clientes", ops: []string{"read"}, sources: []string{"clientes"}, layer: "bronze"},
		{text: "sum of valor_total by uf last 7 days", ops: []string{"aggregate"}, sources: []string{"nfe"}, layer: "bronze",
			temporal: &signature.TemporalFilter{Column: "processing_date", LastDays: 7}, sel: sumBy("nfe.valor_total", "nfe.uf"), competing: 3},
		{text: "list clientes where uf = SP", ops: []string{"read"}, sources: []string{"clientes"}, layer: "bronze",
			sel: &signature.Selection{Filters: []signature.RowFilter{{Column: "clientes.uf", Operator: "=", Value: "SP"}}}},
		{text: "mostrar notas fiscais do dia 2026-01-02", ops: []string{"read"}, sources: []string{"nfe"}, layer: "bronze",
			temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-03"}},
		{text: "listar clientes onde uf é SP", ops: []string{"read"}, sources: []string{"clientes"}, layer: "bronze",
			sel: &signature.Selection{Filters: []signature.RowFilter{{Column: "clientes.uf", Operator: "=", Value: "SP"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := resolved(t, tc.text, registry.EnvironmentState{})
			s := r.Signature
			require.Equal(t, tc.ops, s.Operations)
			require.Equal(t, tc.sources, names(s.Sources()))
			require.Empty(t, s.Targets(), "a read writes nothing")
			require.Equal(t, tc.layer, s.TargetLayer, "a lone layer: a read")
			require.Equal(t, tc.temporal, s.Constraints.TemporalFilter)
			require.Equal(t, tc.sel, s.Canonical().Selection)
			require.Len(t, r.CompetingInterpretations, tc.competing)
			require.True(t, resolution.ConfirmationInput(r, registry.EnvironmentState{}).ReadOnly)
			if slices.Equal(tc.ops, []string{"read"}) {
				require.Equal(t, "read_report", s.Intent)
			}
		})
	}
	// A read writes nothing: a destination is refused, not dropped.
	r := resolution.Resolve("show me nfe into silver_documentos", shipped, registry.EnvironmentState{})
	require.False(t, r.Resolved)
	require.Contains(t, r.Reason, "a read returns rows and writes nothing")
}

// An approver facing competing interpretations ("anonymize master data
// into silver": clientes or produtos) can choose one.
func TestIssue14ChoosingAnInterpretation(t *testing.T) {
	t.Parallel()
	const text = "anonymize master data into silver"
	r := resolved(t, text, registry.EnvironmentState{})
	require.Equal(t, []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}, r.CompetingInterpretations)

	chosen, err := resolution.ResolveAs(text, shipped, registry.EnvironmentState{}, "anonymize_clientes_silver")
	require.NoError(t, err)
	require.Equal(t, []string{"clientes"}, names(chosen.Signature.Sources()))
	require.Equal(t, []string{"clientes_anon"}, names(chosen.Signature.Targets()))

	// produtos has no anonymized silver copy: the reading does not resolve,
	// and the error says why and what else to choose.
	_, err = resolution.ResolveAs(text, shipped, registry.EnvironmentState{}, "anonymize_produtos_silver")
	require.ErrorContains(t, err, "no silver dataset of the catalog fits")
	require.ErrorContains(t, err, "choose another of anonymize_clientes_silver, anonymize_produtos_silver")
}

// The micro_batch/time_window and cross_dataset_atomic rules of 5.5 were
// reachable by no phrase.
func TestIssue14ExecutionModePhrases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		mode    string
		window  string
		atomic  bool
		targets []string
	}{
		{"ingest nfe every 15 minutes", "micro_batch", "15m", false, []string{"nfe"}},
		{"ingerir nfe a cada 15 minutos", "micro_batch", "15m", false, []string{"nfe"}},
		{"merge nfe into silver_documentos in micro-batches of 5 minutes", "micro_batch", "5m", false, []string{"silver_documentos"}},
		{"merge nfe into silver_documentos as a micro-batch of 5 minutes", "micro_batch", "5m", false, []string{"silver_documentos"}},
		{"merge nfe into silver_documentos in 15 minute windows", "micro_batch", "15m", false, []string{"silver_documentos"}},
		{"merge nfe into silver_documentos in 15-minute windows", "micro_batch", "15m", false, []string{"silver_documentos"}},
		{"mesclar nfe em silver_documentos em janelas de 10 minutos", "micro_batch", "10m", false, []string{"silver_documentos"}},
		{"ingest nfe every hour", "micro_batch", "1h", false, []string{"nfe"}},
		{"ingest nfe every 120 minutes", "micro_batch", "2h", false, []string{"nfe"}},
		{"ingest nfe every 90 minutes", "micro_batch", "90m", false, []string{"nfe"}},
		{"ingest nfe de hora em hora", "micro_batch", "1h", false, []string{"nfe"}},
		{"atomically update silver_documentos and clientes_anon from nfe and clientes", "", "", true, []string{"clientes_anon", "silver_documentos"}},
		{"atualizar atomicamente silver_documentos e clientes_anon a partir de nfe e clientes", "", "", true, []string{"clientes_anon", "silver_documentos"}},
		{"atomically merge nfe into silver_documentos and clientes into clientes_anon", "", "", true, []string{"clientes_anon", "silver_documentos"}},
		{"merge nfe into silver_documentos and clientes into clientes_anon, all or nothing", "", "", true, []string{"clientes_anon", "silver_documentos"}},
		{"tudo ou nada: mesclar nfe em silver_documentos e clientes em clientes_anon", "", "", true, []string{"clientes_anon", "silver_documentos"}},
		{"merge nfe into silver_documentos in a single transaction", "", "", true, []string{"silver_documentos"}},
		// "every" before a column is still a grouping.
		{"merge nfe into silver_documentos", "", "", false, []string{"silver_documentos"}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := resolved(t, tc.text, registry.EnvironmentState{})
			s := r.Signature
			require.Equal(t, tc.mode, s.ExecutionMode)
			require.Equal(t, tc.window, s.TimeWindow)
			require.Equal(t, tc.atomic, s.CrossDatasetAtomic)
			require.Equal(t, tc.targets, names(s.Targets()))
		})
	}
	r := resolved(t, "sum daily sales for every uf", registry.EnvironmentState{})
	require.Empty(t, r.Signature.ExecutionMode)
	require.Equal(t, by("vendas_diarias.uf"), r.Signature.Selection)
	r = resolved(t, "sum daily sales for each day", registry.EnvironmentState{})
	require.Empty(t, r.Signature.ExecutionMode)
	require.Equal(t, by("vendas_diarias.sale_date"), r.Signature.Selection)
	// Mode hashes differ from batch.
	require.NotEqual(t, hashOf(t, "ingest nfe every 15 minutes"), hashOf(t, "ingest nfe"))
	require.NotEqual(t, hashOf(t, "ingest nfe every 15 minutes"), hashOf(t, "ingest nfe every 5 minutes"))
	require.Equal(t, hashOf(t, "ingest nfe every 60 minutes"), hashOf(t, "ingest nfe every hour"))
}

func TestExecutionModePhrasesRefused(t *testing.T) {
	t.Parallel()
	for text, reason := range map[string]string{
		"ingest nfe every day":                                                  `"every day" is a schedule`,
		"ingerir nfe a cada 2 dias":                                             "is a schedule",
		"ingest nfe every 30 hours":                                             "shorter than a day",
		"ingest nfe every 7 minutes":                                            "divide a day into whole windows",
		"ingest nfe every 30 seconds":                                           "at least a minute",
		"merge nfe into silver_documentos as micro-batch":                       "micro-batch needs a window",
		"merge nfe into silver_documentos every 5 minutes in 10 minute windows": "two micro-batch windows",
		"count nfe every 15 minutes":                                            "writes nothing",
		"atomically read nfe":                                                   "atomically applies to what an intent writes",
	} {
		r := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		require.False(t, r.Resolved, text)
		require.Contains(t, r.Reason, reason, text)
	}
}

// Columns resolved against the datasets in play, with the catalog's column
// aliases (English and Portuguese) and typo tolerance.
func TestColumnsInText(t *testing.T) {
	t.Parallel()
	m := func(fn, col string) signature.Measure { return signature.Measure{Function: fn, Column: col} }
	f := func(col, op, v string) signature.RowFilter {
		return signature.RowFilter{Column: col, Operator: op, Value: v}
	}
	tests := []struct {
		text     string
		sources  []string
		ops      []string
		sel      *signature.Selection
		temporal *signature.TemporalFilter
	}{
		{text: "sum of valor_total by uf from nfe", sources: []string{"nfe"}, sel: sumBy("nfe.valor_total", "nfe.uf")},
		{text: "total valor_total per state from nfe", sources: []string{"nfe"}, sel: sumBy("nfe.valor_total", "nfe.uf")},
		{text: "somar faturamento por estado das notas fiscais", sources: []string{"nfe"}, sel: sumBy("nfe.valor_total", "nfe.uf")},
		{text: "média de valor_total por uf de silver_documentos", sources: []string{"silver_documentos"},
			sel: &signature.Selection{GroupBy: []string{"silver_documentos.uf"}, Measures: []signature.Measure{m("avg", "silver_documentos.valor_total")}}},
		{text: "average revenue per state from nfe", sources: []string{"nfe"},
			sel: &signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{m("avg", "nfe.valor_total")}}},
		{text: "max valor and min valor by uf from vendas_diarias", sources: []string{"vendas_diarias"},
			sel: &signature.Selection{GroupBy: []string{"vendas_diarias.uf"}, Measures: []signature.Measure{m("max", "vendas_diarias.valor"), m("min", "vendas_diarias.valor")}}},
		{text: "sum of valor and quantidade by uf from vendas_diarias", sources: []string{"vendas_diarias"},
			sel: &signature.Selection{GroupBy: []string{"vendas_diarias.uf"}, Measures: []signature.Measure{m("sum", "vendas_diarias.quantidade"), m("sum", "vendas_diarias.valor")}}},
		{text: "count distinct cliente_id from nfe", sources: []string{"nfe"},
			sel: &signature.Selection{Measures: []signature.Measure{m("count_distinct", "nfe.cliente_id")}}},
		{text: "contar clientes distintos em nfe", sources: []string{"nfe"},
			sel: &signature.Selection{Measures: []signature.Measure{m("count_distinct", "nfe.cliente_id")}}},
		{text: "how many invoices by uf", sources: []string{"nfe"},
			sel: &signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{m("count", "")}}},
		{text: "quantas notas fiscais por estado", sources: []string{"nfe"},
			sel: &signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{m("count", "")}}},
		{text: "count nfe by uf and segmento", sources: nil}, // refused below: segmento is not an nfe column
		{text: "count clientes by uf and segmento", sources: []string{"clientes"},
			sel: &signature.Selection{GroupBy: []string{"clientes.segmento", "clientes.uf"}, Measures: []signature.Measure{m("count", "")}}},
		{text: "count clientes by uf, segmento", sources: []string{"clientes"},
			sel: &signature.Selection{GroupBy: []string{"clientes.segmento", "clientes.uf"}, Measures: []signature.Measure{m("count", "")}}},
		{text: "aggregate vendas_diarias by produto", sources: []string{"vendas_diarias"}, sel: by("vendas_diarias.produto_id")},
		{text: "aggregate vendas_diarias by day", sources: []string{"vendas_diarias"}, sel: by("vendas_diarias.sale_date")},
		{text: "agregar quantidade por uf de vendas_diarias", sources: []string{"vendas_diarias"}, sel: sumBy("vendas_diarias.quantidade", "vendas_diarias.uf")},
		{text: "sum documentos by uf from gold_faturamento_uf", sources: []string{"gold_faturamento_uf"}, sel: sumBy("gold_faturamento_uf.documentos", "gold_faturamento_uf.uf")},
		{text: "sum nfe.valor_total by nfe.uf", sources: []string{"nfe"}, sel: sumBy("nfe.valor_total", "nfe.uf")},
		// Filters.
		{text: "list clientes where uf = 'SP' and segmento = varejo", sources: []string{"clientes"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("clientes.segmento", "=", "varejo"), f("clientes.uf", "=", "SP")}}},
		{text: "show me nfe with valor_total > 1000", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("nfe.valor_total", ">", "1000")}}},
		{text: "show me nfe with valor_total above 1000.50", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("nfe.valor_total", ">", "1000.50")}}},
		{text: "sum valor_total for uf SP from nfe", sources: []string{"nfe"},
			sel: &signature.Selection{Measures: []signature.Measure{m("sum", "nfe.valor_total")}, Filters: []signature.RowFilter{f("nfe.uf", "=", "SP")}}},
		{text: "list clientes whose segmento is not varejo", sources: []string{"clientes"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("clientes.segmento", "!=", "varejo")}}},
		{text: "notas fiscais onde valor_total maior que 500", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("nfe.valor_total", ">", "500")}}},
		{text: "nfe where uf = SP", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Filters: []signature.RowFilter{f("nfe.uf", "=", "SP")}}},
		// A comparison of the window's column with a date is the window.
		{text: "show me nfe where processing_date >= 2026-01-01", sources: []string{"nfe"}, ops: []string{"read"},
			temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"}},
		{text: "show me nfe where processing_date = 2026-01-02", sources: []string{"nfe"}, ops: []string{"read"},
			temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-03"}},
		// Projections.
		{text: "show me uf and valor_total of nfe", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Columns: []string{"nfe.uf", "nfe.valor_total"}}},
		{text: "select cliente_id, uf from clientes", sources: []string{"clientes"}, ops: []string{"read"},
			sel: &signature.Selection{Columns: []string{"clientes.cliente_id", "clientes.uf"}}},
		{text: "show invoice number and issuer from nfe", sources: []string{"nfe"}, ops: []string{"read"},
			sel: &signature.Selection{Columns: []string{"nfe.emitente_cnpj", "nfe.nfe_id"}}},
		{text: "mostrar clientes anonimizados", sources: []string{"clientes_anon"}, ops: []string{"read"}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := resolution.Resolve(tc.text, shipped, registry.EnvironmentState{})
			if tc.sources == nil {
				require.False(t, r.Resolved)
				return
			}
			require.True(t, r.Resolved, r.Reason)
			s := r.Signature
			require.Equal(t, tc.sources, names(s.Sources()))
			if tc.ops == nil {
				tc.ops = []string{"aggregate"}
			}
			require.Equal(t, tc.ops, s.Operations)
			require.Equal(t, tc.sel, s.Canonical().Selection)
			require.Equal(t, tc.temporal, s.Constraints.TemporalFilter)
		})
	}
}

// A word in a column position that names no column of the datasets in
// play is never dropped: with no candidate it blocks, naming the word and
// the columns; with several it is an ambiguity an approver chooses from.
func TestColumnWordsAreNeverDropped(t *testing.T) {
	t.Parallel()
	for text, reason := range map[string]string{
		"aggregate daily sales per store":                   `"store" is not a column of vendas_diarias`,
		"sum daily sales for each store":                    `"store" is not a column of vendas_diarias`,
		"somar vendas diarias pela loja":                    `"loja" is not a column of vendas_diarias`,
		"sum vendas diarias por loja e salvar na gold":      `"loja" is not a column of vendas_diarias`,
		"count nfe by release":                              `"release" is not a column of nfe`, // a key, not publish
		"count nfe by load":                                 `"load" is not a column of nfe`,    // not ingest
		"sum daily sales by group":                          `"group" is not a column of vendas_diarias`,
		"aggregate sales by mix":                            `"mix" is not a column of vendas_diarias`,
		"count nfe by uf and segmento":                      `"segmento" is not a column of nfe`,
		"show me stores from vendas_diarias":                `"stores" is not a column of vendas_diarias`,
		"list clientes where stor = SP":                     `"stor" is not a column of clientes`,
		"sum of uf from nfe":                                "sum of nfe.uf: the column is string, not a number",
		"list nfe where valor_total > abc":                  "compare it with a number",
		"list nfe where processing_date > yesterday":        "write the date as YYYY-MM-DD",
		"list clientes where uf =":                          "has no value after it",
		"list clientes where = SP":                          "has no column before it",
		"list clientes where uf":                            `the filter on "uf" has no value`,
		"sum nfex.valor_total":                              "nfex is not a dataset of the catalog",
		"sum of valor_total by uf and segmento last 7 days": "no dataset of the catalog has the columns valor_total, uf, segmento together",
		"reconcile nfe with clientes by loja and aggregate": `"loja" is not a column of nfe or clientes`,
	} {
		r := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		require.False(t, r.Resolved, text)
		require.Contains(t, r.Reason, reason, text)
	}

	// A column in two sources competes.
	r := resolved(t, "reconcile nfe with clientes where uf = SP", registry.EnvironmentState{})
	require.Equal(t, []string{"join_nfe_clientes_where_clientes_uf", "join_nfe_clientes_where_nfe_uf"}, r.CompetingInterpretations)
	require.Equal(t, resolution.AmbiguityHigh, r.AmbiguityLevel)
	require.Equal(t, confirmation.ModeHumanEscalation, r.ConfirmationMode)
	chosen, err := resolution.ResolveAs("reconcile nfe with clientes where uf = SP", shipped, registry.EnvironmentState{}, "join_nfe_clientes_where_nfe_uf")
	require.NoError(t, err)
	require.Equal(t, []signature.RowFilter{{Column: "nfe.uf", Operator: "=", Value: "SP"}}, chosen.Signature.Selection.Filters)

	// One close candidate resolves, at a cost (as a misspelt dataset does).
	r = resolved(t, "count nfe by estdo", registry.EnvironmentState{})
	require.Equal(t, []string{"nfe.uf"}, r.Signature.Selection.GroupBy)
	require.Equal(t, resolution.AmbiguityMedium, r.AmbiguityLevel)
	exact := resolved(t, "count nfe by uf", registry.EnvironmentState{})
	require.Less(t, r.ConfidenceScore, exact.ConfidenceScore)
}

// Words that name the dataset inside an alias are not columns; words of
// an alias that holds a grouping are ("revenue by state").
func TestAliasWordsAndColumns(t *testing.T) {
	t.Parallel()
	r := resolved(t, "show state revenue", registry.EnvironmentState{})
	require.Equal(t, []string{"gold_faturamento_uf"}, names(r.Signature.Sources()))
	require.Nil(t, r.Signature.Selection)
	r = resolved(t, "count documentos fiscais by cliente_id", registry.EnvironmentState{})
	require.Equal(t, &signature.Selection{GroupBy: []string{"silver_documentos.cliente_id"}, Measures: []signature.Measure{{Function: "count"}}}, r.Signature.Canonical().Selection)
	r = resolved(t, "total revenue by state from nfe", registry.EnvironmentState{})
	require.Equal(t, sumBy("nfe.valor_total", "nfe.uf"), r.Signature.Canonical().Selection)
	require.Equal(t, []string{"nfe"}, names(r.Signature.Sources()), "the gold alias describes the result")
}

func TestInferredDatasetFromColumns(t *testing.T) {
	t.Parallel()
	// One dataset holds the columns: it is read, with medium ambiguity.
	r := resolved(t, "sum of quantidade by uf", registry.EnvironmentState{})
	require.Equal(t, []string{"vendas_diarias"}, names(r.Signature.Sources()))
	require.Empty(t, r.CompetingInterpretations)
	require.Equal(t, resolution.AmbiguityMedium, r.AmbiguityLevel)
	// Several: the lowest layer first, the others compete.
	r = resolved(t, "sum of valor_total by uf last 7 days", registry.EnvironmentState{})
	require.Equal(t, []string{"aggregate_gold_faturamento_uf", "aggregate_nfe", "aggregate_silver_documentos"}, r.CompetingInterpretations)
	require.Equal(t, confirmation.ModeHumanEscalation, r.ConfirmationMode)
	gold, err := resolution.ResolveAs("sum of valor_total by uf last 7 days", shipped, registry.EnvironmentState{}, "aggregate_gold_faturamento_uf")
	require.NoError(t, err)
	require.Equal(t, []string{"gold_faturamento_uf"}, names(gold.Signature.Sources()))
	require.Equal(t, sumBy("gold_faturamento_uf.valor_total", "gold_faturamento_uf.uf"), gold.Signature.Canonical().Selection)
	require.Equal(t, &signature.TemporalFilter{Column: "processing_date", LastDays: 7}, gold.Signature.Constraints.TemporalFilter)
}

// A value with no column is refused, not dropped: dropping "SP" would
// return every state's rows.
func TestValuesWithoutAColumnAreRefused(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"give me nfe for SP", "quantas notas fiscais de SP", "show me nfe 'SP'", "MOSTRAR AS NOTAS FISCAIS DE SP"} {
		r := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		require.False(t, r.Resolved, text)
		require.Contains(t, r.Reason, "looks like a value to filter on, but no column is named", text)
	}
	require.True(t, resolution.Resolve("SHOW ME NFE", shipped, registry.EnvironmentState{}).Resolved)
}

func TestColumnResolutionIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"sum of valor_total by uf last 7 days", "reconcile nfe with clientes where uf = SP", "count clientes by uf, segmento",
		"atomically update silver_documentos and clientes_anon from nfe and clientes", "ingest nfe every 15 minutes",
		"show invoice number and issuer from nfe", "aggregate revenue by cliente from silver_documentos into gold_faturamento_uf",
	} {
		a := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		for range 5 {
			require.Equal(t, a, resolution.Resolve(text, shipped, registry.EnvironmentState{}), text)
		}
		ea, err := a.Signature.Encode()
		require.NoError(t, err)
		eb, err := resolution.Resolve(text, shipped, registry.EnvironmentState{}).Signature.Encode()
		require.NoError(t, err)
		require.Equal(t, string(ea), string(eb), text)
	}
}
