package resolution_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

var shipped = func() *catalog.Catalog {
	c, err := catalog.Load(catalogfiles.FS)
	if err != nil {
		panic(err)
	}
	return c
}()

// The whitepaper's 5.9 example environment.
var partiallyCommitted = registry.EnvironmentState{VersionID: "v1", Datasets: []registry.DatasetState{
	{Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true},
	{Name: "silver_documentos", State: registry.StatePartiallyCommitted, PublishAllowed: false, LastSuccessfulPartition: "2026-01-02", PendingPartitions: []string{"2026-01-03"}},
}}

var staleNFE = registry.EnvironmentState{VersionID: "v2", Datasets: []registry.DatasetState{
	{Name: "nfe", State: registry.StateStale, PublishAllowed: true},
}}

const (
	high   = "high"
	medium = "medium"
	low    = "low"
)

func band(score float64) string {
	switch {
	case score >= confirmation.HighConfidence:
		return high
	case score >= confirmation.LowConfidence:
		return medium
	}
	return low
}

type want struct {
	intent      string
	ops         []string
	sources     []string // sorted
	targets     []string // sorted
	targetLayer string
	temporal    *signature.TemporalFilter
	mergeKey    string
	anonymize   []string
	band        string
	ambiguity   string
	mode        confirmation.Mode
	competing   int
	injected    []string
	blocked     []string
	sel         *signature.Selection // canonical
	execMode    string
	window      string
	atomic      bool
}

type textCase struct {
	text string
	env  registry.EnvironmentState
	want want
}

var textCases = []textCase{
	{text: "reconcile nfe with clientes and persist to silver", want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "conciliar nfe com clientes e gravar na silver desde 2026-01-01", want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"},
		band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "Reconciliar notas fiscais com o cadastro de clientes e salvar na camada prata", want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: medium, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "reconcile nfe with clientes and persist to silver", env: partiallyCommitted, want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation,
		injected: []string{"silver_documentos.state = partially_committed", "silver_documentos.publish_allowed = false"}, blocked: []string{"silver_documentos"}}},
	{text: "reconcle nfe with clientes and persist to silver", want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: medium, ambiguity: medium, mode: confirmation.ModeHardRequired}},
	{text: "cruzar nfe com clientes", want: want{
		intent: "reconciliation_report", ops: []string{"join"}, sources: []string{"clientes", "nfe"},
		targetLayer: "bronze", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "reconcile nfe with clietnes", want: want{
		intent: "reconciliation_report", ops: []string{"join"}, sources: []string{"clientes", "nfe"},
		targetLayer: "bronze", band: high, ambiguity: medium, mode: confirmation.ModeHardRequired}},
	{text: "agregar faturamento por uf", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"gold_faturamento_uf"},
		targetLayer: "gold", band: high, ambiguity: low, mode: confirmation.ModeAuto,
		sel: sumBy("gold_faturamento_uf.valor_total", "gold_faturamento_uf.uf")}},
	{text: "totla revenue by state from nfee last 7 days", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"nfe"},
		targetLayer: "bronze", temporal: &signature.TemporalFilter{Column: "processing_date", LastDays: 7},
		band: medium, ambiguity: medium, mode: confirmation.ModeHardRequired, sel: sumBy("nfe.valor_total", "nfe.uf")}},
	{text: "total revenue by state from nfe into gold", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"nfe"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "bronze_to_gold", band: high, ambiguity: medium, mode: confirmation.ModeHumanEscalation, sel: sumBy("nfe.valor_total", "nfe.uf")}},
	{text: "aggregate vendas_diarias by uf", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"},
		targetLayer: "bronze", band: high, ambiguity: low, mode: confirmation.ModeAuto, sel: by("vendas_diarias.uf")}},
	{text: "soma das vendas diárias por uf nos últimos 30 dias", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"},
		targetLayer: "bronze", temporal: &signature.TemporalFilter{Column: "sale_date", LastDays: 30},
		band: high, ambiguity: low, mode: confirmation.ModeAuto, sel: by("vendas_diarias.uf")}},
	{text: "sum daily sales between 2026-01-01 and 2026-01-31", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"},
		targetLayer: "bronze", temporal: &signature.TemporalFilter{Column: "sale_date", From: "2026-01-01", To: "2026-02-01"},
		band: high, ambiguity: low, mode: confirmation.ModeAuto}},
	{text: "sum valor_total of invoices by uf from 2026-01-01 to 2026-01-31", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"nfe"},
		targetLayer: "bronze", temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-02-01"},
		band: high, ambiguity: low, mode: confirmation.ModeHardRequired, sel: sumBy("nfe.valor_total", "nfe.uf")}},
	{text: "aggregate nfe", env: staleNFE, want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"nfe"},
		targetLayer: "bronze", band: high, ambiguity: low, mode: confirmation.ModeHardRequired, injected: []string{"nfe.state = stale"}}},
	{text: "aggregate silver_documentos by uf into gold", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"silver_documentos"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "silver_to_gold", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation, sel: by("silver_documentos.uf")}},
	{text: "enrich nfe with master data", want: want{
		intent: "enrichment_report", ops: []string{"enrich"}, sources: []string{"clientes", "nfe"},
		targetLayer: "bronze", band: medium, ambiguity: high, mode: confirmation.ModeHumanEscalation, competing: 2}},
	{text: "combine nfe with clientes into silver", want: want{
		intent: "reconciliation_and_persist", ops: []string{"join"}, sources: []string{"clientes", "nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: medium, ambiguity: high, mode: confirmation.ModeHumanEscalation, competing: 2}},
	{text: "enriquecer notas fiscais com produtos e gravar em silver", want: want{
		intent: "enrichment_and_persist", ops: []string{"enrich"}, sources: []string{"nfe", "produtos"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "publish silver_documentos", env: partiallyCommitted, want: want{
		intent: "publish_dataset", ops: []string{"publish"}, targets: []string{"silver_documentos"},
		targetLayer: "silver_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation,
		injected: []string{"silver_documentos.state = partially_committed", "silver_documentos.publish_allowed = false"}, blocked: []string{"silver_documentos"}}},
	{text: "publicar clientes_anon", env: partiallyCommitted, want: want{
		intent: "publish_dataset", ops: []string{"publish"}, targets: []string{"clientes_anon"},
		targetLayer: "silver_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "merge nfe into silver_documentos by nfe_id", want: want{
		intent: "merge_and_persist", ops: []string{"merge"}, sources: []string{"nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", mergeKey: "nfe_id", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "anonimizar clientes e gravar na silver", want: want{
		intent: "anonymization_and_persist", ops: []string{"anonymize"}, sources: []string{"clientes"}, targets: []string{"clientes_anon"},
		targetLayer: "bronze_to_silver", anonymize: []string{"clientes.cpf", "clientes.email"}, band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "anonymize customers", want: want{
		intent: "anonymization_report", ops: []string{"anonymize"}, sources: []string{"clientes"},
		targetLayer: "bronze", anonymize: []string{"clientes.cpf", "clientes.email"}, band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "dedupe nfe since 2026-02-01 and persist to silver with merge key nfe_id", want: want{
		intent: "deduplication_and_persist", ops: []string{"dedupe"}, sources: []string{"nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-02-01"}, mergeKey: "nfe_id",
		band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "deduplicar vendas diarias", want: want{
		intent: "deduplication_report", ops: []string{"dedupe"}, sources: []string{"vendas_diarias"},
		targetLayer: "bronze", band: high, ambiguity: low, mode: confirmation.ModeAuto}},
	{text: "ingest nfe since 2026-03-01", want: want{
		intent: "ingestion", ops: []string{"ingest"}, targets: []string{"nfe"},
		targetLayer: "raw_to_bronze", temporal: &signature.TemporalFilter{Column: "processing_date", From: "2026-03-01"},
		band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	// A named target says where the ingestion lands: nfe stays the source.
	{text: "ingest nfe into silver_documentos last 30 days", want: want{
		intent: "ingestion", ops: []string{"ingest"}, sources: []string{"nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", temporal: &signature.TemporalFilter{Column: "processing_date", LastDays: 30},
		band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	{text: "ingerir vendas_diarias", want: want{
		intent: "ingestion", ops: []string{"ingest"}, targets: []string{"vendas_diarias"},
		targetLayer: "raw_to_bronze", band: high, ambiguity: low, mode: confirmation.ModeSoft}},
	{text: "aggregate vendas_diarias into gold", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "bronze_to_gold", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation}},

	// Regression: a dataset named by alias ("revenue by state") and by name
	// in a target position is one target; the second mention used to be
	// dropped, turning a gold write into a silver read (mode soft).
	{text: "aggregate revenue by state from silver_documentos into gold_faturamento_uf", want: goldFromSilver},
	{text: "aggregate revenue by state into gold_faturamento_uf from silver_documentos", want: goldFromSilver},
	{text: "aggregate revenue by state from silver_documentos to gold_faturamento_uf", want: goldFromSilver},
	{text: "aggregate revenue by state from silver_documentos e gravar em gold_faturamento_uf", want: goldFromSilver},
	{text: "agregar faturamento por uf de silver_documentos para gold_faturamento_uf", want: goldFromSilver},
	{text: "aggregate silver_documentos to gold_faturamento_uf", want: goldFromSilverWhole},
	{text: "aggregate gold_faturamento_uf from silver_documentos into gold_faturamento_uf", want: goldFromSilverWhole},
	// "na gold" with no write verb: nothing read is in gold, so gold is the
	// destination (inferred write: lower confidence, medium ambiguity).
	{text: "agregar faturamento por uf de silver_documentos na gold", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"silver_documentos"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "silver_to_gold", band: high, ambiguity: medium, mode: confirmation.ModeHumanEscalation,
		sel: sumBy("silver_documentos.valor_total", "silver_documentos.uf")}},
	{text: "agregar faturamento por uf de silver_documentos e gravar na gold", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"silver_documentos"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "silver_to_gold", band: high, ambiguity: medium, mode: confirmation.ModeHumanEscalation,
		sel: sumBy("silver_documentos.valor_total", "silver_documentos.uf")}},
	{text: "merge nfe na silver by nfe_id", want: want{
		intent: "merge_and_persist", ops: []string{"merge"}, sources: []string{"nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", mergeKey: "nfe_id", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
	// ... but "in silver" where the data read lives is still a read.
	{text: "aggregate documents in silver", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"silver_documentos"},
		targetLayer: "silver", band: high, ambiguity: low, mode: confirmation.ModeAuto}},
	{text: "agregar faturamento por uf na gold", want: want{
		intent: "aggregate_report", ops: []string{"aggregate"}, sources: []string{"gold_faturamento_uf"},
		targetLayer: "gold", band: high, ambiguity: low, mode: confirmation.ModeAuto,
		sel: sumBy("gold_faturamento_uf.valor_total", "gold_faturamento_uf.uf")}},
	// A dataset after "na" in a one-input intent is read too or written:
	// both readings compete, and the signature carries the write.
	{text: "agregar vendas_diarias na gold_faturamento_uf", want: want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "bronze_to_gold", band: high, ambiguity: high, mode: confirmation.ModeHumanEscalation, competing: 2}},
	// Read and rewritten in place only when "from" says so.
	{text: "dedupe from silver_documentos into silver_documentos", want: want{
		intent: "deduplication_and_persist", ops: []string{"dedupe"}, sources: []string{"silver_documentos"}, targets: []string{"silver_documentos"},
		targetLayer: "silver_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},

	// Regression: "by store" is a grouping, not the write verb "store";
	// since it names no column it is now refused (TestColumnWordsAreNeverDropped).
	// Verb uses of store/salvar still write; a gerund after "by" is a verb.
	{text: "aggregate daily sales by uf from vendas_diarias and store it in gold", want: salesToGold},
	{text: "aggregate daily sales by uf from vendas_diarias and store to gold", want: salesToGold},
	{text: "sum vendas diarias por uf e salvar na gold", want: salesToGold},
	{text: "dedupe nfe by merging into silver_documentos", want: want{
		intent: "deduplication_and_persist", ops: []string{"dedupe", "merge"}, sources: []string{"nfe"}, targets: []string{"silver_documentos"},
		targetLayer: "bronze_to_silver", band: high, ambiguity: low, mode: confirmation.ModeHardRequired}},
}

var (
	goldFromSilver = want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"silver_documentos"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "silver_to_gold", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation,
		sel: sumBy("silver_documentos.valor_total", "silver_documentos.uf")}
	goldFromSilverWhole = want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"silver_documentos"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "silver_to_gold", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation}
	salesToGold = want{
		intent: "aggregation_and_persist", ops: []string{"aggregate"}, sources: []string{"vendas_diarias"}, targets: []string{"gold_faturamento_uf"},
		targetLayer: "bronze_to_gold", band: high, ambiguity: low, mode: confirmation.ModeHumanEscalation, sel: by("vendas_diarias.uf")}
)

// by is a selection grouping by cols.
func by(cols ...string) *signature.Selection { return &signature.Selection{GroupBy: cols} }

// sumBy sums col grouped by group.
func sumBy(col string, group ...string) *signature.Selection {
	return &signature.Selection{GroupBy: group, Measures: []signature.Measure{{Function: signature.FuncSum, Column: col}}}
}

func names(ds []signature.Dataset) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	slices.Sort(out)
	return out
}

func TestResolveText(t *testing.T) {
	t.Parallel()
	for _, tc := range textCases {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := resolution.Resolve(tc.text, shipped, tc.env)
			require.True(t, r.Resolved, r.Reason)
			s, w := r.Signature, tc.want
			require.Equal(t, w.intent, s.Intent)
			require.Equal(t, w.ops, s.Operations)
			require.Equal(t, w.sources, names(s.Sources()))
			require.Equal(t, w.targets, names(s.Targets()))
			require.Equal(t, w.targetLayer, s.TargetLayer)
			require.Equal(t, w.temporal, s.Constraints.TemporalFilter)
			require.Equal(t, w.mergeKey, s.Constraints.MergeKey)
			require.Equal(t, w.anonymize, s.Constraints.Anonymize)
			require.Equal(t, w.band, band(r.ConfidenceScore), "confidence %.2f", r.ConfidenceScore)
			require.Equal(t, w.ambiguity, r.AmbiguityLevel)
			require.Equal(t, w.mode, r.ConfirmationMode, "triggers %v", r.ConfirmationTriggers)
			require.Len(t, r.CompetingInterpretations, w.competing)
			require.Equal(t, append([]string{}, w.injected...), r.EnvironmentConstraintsInjected)
			require.Equal(t, w.blocked, s.Constraints.PublishBlocked)
			require.Equal(t, w.sel, s.Canonical().Selection)
			require.Equal(t, w.execMode, s.ExecutionMode)
			require.Equal(t, w.window, s.TimeWindow)
			require.Equal(t, w.atomic, s.CrossDatasetAtomic)

			// Invariants of every resolution.
			require.Empty(t, s.ExecutionContext, "the caller fills execution_context")
			require.NotEmpty(t, s.Domain)
			require.NotEmpty(t, s.SourceType)
			writesUpper := s.DestinationLayer() == signature.LayerSilver || s.DestinationLayer() == signature.LayerGold
			require.Equal(t, writesUpper && s.TargetLayer != s.DestinationLayer(), s.Constraints.NoPIIRaw)
			require.Equal(t, s.Constraints.NoPIIRaw, s.Constraints.MergeKeyRequired)
		})
	}
}

func TestResolveWhitepaperReconcileExample(t *testing.T) {
	t.Parallel()
	r := resolution.Resolve("reconcile nfe with clientes and persist to silver", shipped, partiallyCommitted)
	require.True(t, r.Resolved)
	s := r.Signature
	require.Equal(t, "fiscal", s.Domain)
	require.Equal(t, "nested_json", s.SourceType)
	require.Equal(t, []string{"processing_date"}, s.Constraints.PartitionBy)
	require.True(t, s.Constraints.EnforceTypes)
	// The normalizer records what was asked; the Policy Engine replans to
	// add anonymization and the merge key.
	require.Empty(t, s.Constraints.Anonymize)
	require.Empty(t, s.Constraints.MergeKey)
	cli := s.Sources()[1]
	require.Equal(t, "clientes", cli.Name)
	require.Equal(t, signature.Dataset{Name: "clientes", Role: "source", Layer: "bronze", Size: "500MB", SizeBytes: 500 << 20, Classification: "sensitive", SourceType: "table", PII: []string{"cpf", "email"}, MergeKey: "cliente_id"}, cli)
	require.Equal(t, []confirmation.Trigger{confirmation.TriggerSilverWritePublishBlocked, confirmation.TriggerPIIDetected, confirmation.TriggerSilverWrite}, r.ConfirmationTriggers)
}

func TestResolveCompetingInterpretations(t *testing.T) {
	t.Parallel()
	r := resolution.Resolve("combine nfe with clientes into silver", shipped, registry.EnvironmentState{})
	require.Equal(t, []string{"enrich_nfe_with_clientes_silver", "join_nfe_clientes_silver"}, r.CompetingInterpretations)
	r = resolution.Resolve("enrich nfe with master data", shipped, registry.EnvironmentState{})
	require.Equal(t, []string{"enrich_nfe_with_clientes", "enrich_nfe_with_produtos"}, r.CompetingInterpretations)
}

func TestResolveRefusesToGuess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text   string
		reason string
	}{
		{"", "the intent is empty"},
		{"   ", "the intent is empty"},
		{"hello world", "no catalog dataset found"},
		{"asdf qwerty zxcv", "no catalog dataset found"},
		{"nfe", "no operation found"},
		{"tell me about nfe", "no operation found"},
		{"reconcile nfe", "join needs two datasets"},
		{"enriquecer nfe", "enrich needs two datasets"},
		{"reconcile nfe with clientes and persist", "says not where"},
		{"aggregate nfe since 01/02/2026", "write it as YYYY-MM-DD"},
		{"aggregate nfe since 2026-02-30", "not a calendar date"},
		{"aggregate nfe 2026-02-01", "has no since, until or between"},
		{"aggregate nfe between 2026-02-01 and 2026-01-01", "is empty; put the earlier date first"},
		{"aggregate produtos since 2026-01-01", "has a partition key"},
		{"aggregate nfe last month", "write the dates"},
		{"agregar nfe do mes passado", "write the dates"},
		{"reconcile nfe with clientes, write to silver and to gold", "one intent per target layer"},
		{"merge nfe into silver_documentos by cpf", "merge key cpf is not a column of target silver_documentos"},
		{"aggregate nfe into clientes_anon and persist to gold", "target clientes_anon is a silver dataset"},
		{"publish to silver", "no catalog dataset found"},
		{"aggregate vendas_diarias and persist to silver", "no silver dataset of the catalog fits"},
		// A verb use of "store" still asks to persist.
		{"aggregate daily sales by uf and store", "says not where"},
		{"aggregate nfe in silver and in gold", "one intent per target layer"},
		// The target is kept even when that leaves nothing to read.
		{"dedupe silver_documentos into silver_documentos", "names only the target silver_documentos"},
		{"sum revenue by state and persist into gold_faturamento_uf", "names only the target gold_faturamento_uf"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := resolution.Resolve(tc.text, shipped, registry.EnvironmentState{})
			require.False(t, r.Resolved)
			require.Contains(t, r.Reason, tc.reason)
			require.Empty(t, r.Signature.Datasets)
			require.Empty(t, r.ConfirmationMode)
		})
	}
}

func TestResolveIsDeterministic(t *testing.T) {
	t.Parallel()
	for _, tc := range textCases {
		a := resolution.Resolve(tc.text, shipped, tc.env)
		b := resolution.Resolve(tc.text, shipped, tc.env)
		ea, err := a.Signature.Encode()
		require.NoError(t, err)
		eb, err := b.Signature.Encode()
		require.NoError(t, err)
		require.Equal(t, string(ea), string(eb), tc.text)
		require.Equal(t, a, b, tc.text)
	}
}

func TestPhrasingsOfOneIntentShareASignature(t *testing.T) {
	t.Parallel()
	var hashes []string
	for _, text := range []string{
		"reconcile nfe with clientes and persist to silver",
		"Conciliar NFE com clientes e gravar na silver",
		"reconcile clientes with nfe into silver",
		"cruzar nfe com clientes e salvar na camada prata",
	} {
		r := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		require.True(t, r.Resolved, text)
		h, err := r.Signature.Hash()
		require.NoError(t, err)
		hashes = append(hashes, h)
	}
	require.Len(t, slices.Compact(hashes), 1)
}

// A target named after into/to/para/em is never lost, however else the text
// names that dataset: every phrasing is the same gold write.
func TestNamedTargetIsNeverDropped(t *testing.T) {
	t.Parallel()
	var hashes []string
	for _, text := range []string{
		"aggregate revenue by state from silver_documentos into gold_faturamento_uf",
		"aggregate revenue by state from silver_documentos to gold_faturamento_uf",
		"aggregate revenue by state from silver_documentos e gravar em gold_faturamento_uf",
		"agregar faturamento por uf de silver_documentos na gold",
		"agregar faturamento por estado de silver_documentos para gold_faturamento_uf",
		"aggregate silver_documentos into gold_faturamento_uf by uf summing valor_total",
	} {
		r := resolution.Resolve(text, shipped, registry.EnvironmentState{})
		require.True(t, r.Resolved, text)
		require.Equal(t, []string{"gold_faturamento_uf"}, names(r.Signature.Targets()), text)
		require.Equal(t, confirmation.ModeHumanEscalation, r.ConfirmationMode, text)
		require.False(t, resolution.ConfirmationInput(r, registry.EnvironmentState{}).ReadOnly, text)
		h, err := r.Signature.Hash()
		require.NoError(t, err)
		hashes = append(hashes, h)
	}
	require.Len(t, slices.Compact(hashes), 1)
}

func TestConfirmationInputCarriesPreCost(t *testing.T) {
	t.Parallel()
	r := resolution.Resolve("aggregate vendas_diarias by uf", shipped, registry.EnvironmentState{})
	require.Equal(t, confirmation.ModeAuto, r.ConfirmationMode)
	in := resolution.ConfirmationInput(r, registry.EnvironmentState{})
	require.True(t, in.ReadOnly)
	in.EstimatedCost, in.CostCeilingDBU = 90, 100
	require.Equal(t, confirmation.ModeHumanEscalation, confirmation.Evaluate(in).Mode)
}

func BenchmarkResolve(b *testing.B) {
	env := partiallyCommitted
	b.ReportAllocs()
	for b.Loop() {
		r := resolution.Resolve("conciliar nfe com clientes e gravar na silver desde 2026-01-01", shipped, env)
		if !r.Resolved {
			b.Fatal(r.Reason)
		}
	}
}
