package resolution_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// whitepaper52 is the State Signature example of whitepaper 5.2, verbatim.
const whitepaper52 = `
signature:
  domain: fiscal_data_processing
  intent: reconciliation_and_persist
  source_type: nested_json
  target_layer: bronze_to_silver
  datasets:
    - name: nfe
      size: 4TB
      classification: high_volume
    - name: clientes
      size: 500MB
      classification: sensitive
      pii: [cpf, email]
  constraints:
    no_pii_raw: true
    partition_by: [processing_date]
    enforce_types: true
    merge_key_required: true
  execution_context:
    policy_bundle_version: "v4.2"
    catalog_snapshot_version: "catalog_2026_03_22"
`

func parse(t *testing.T, doc string) signature.Signature {
	t.Helper()
	var w struct {
		Signature signature.Signature `yaml:"signature"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &w))
	return w.Signature
}

func TestResolveStructuredWhitepaperExample(t *testing.T) {
	t.Parallel()
	r := resolution.ResolveStructured(parse(t, whitepaper52), shipped, partiallyCommitted)
	require.True(t, r.Resolved, r.Reason)
	s := r.Signature

	// The submitter's fields are kept.
	require.Equal(t, "fiscal_data_processing", s.Domain)
	require.Equal(t, "reconciliation_and_persist", s.Intent)
	require.Equal(t, "bronze_to_silver", s.TargetLayer)
	require.Equal(t, signature.ExecutionContext{PolicyBundleVersion: "v4.2", CatalogSnapshotVersion: "catalog_2026_03_22"}, s.ExecutionContext)
	require.True(t, s.Constraints.NoPIIRaw && s.Constraints.EnforceTypes && s.Constraints.MergeKeyRequired)
	require.Equal(t, []string{"processing_date"}, s.Constraints.PartitionBy)

	// The catalog fills the rest; the operation comes from the intent label
	// and the target from the documented default.
	require.Equal(t, []string{signature.OpJoin}, s.Operations)
	require.Equal(t, []string{"nfe", "clientes"}, []string{s.Sources()[0].Name, s.Sources()[1].Name})
	nfe := s.Sources()[0]
	require.Equal(t, "processing_date", nfe.PartitionKey)
	require.Equal(t, "nfe_id", nfe.MergeKey)
	require.Equal(t, "nested_json", nfe.SourceType)
	require.Equal(t, "bronze", nfe.Layer)
	require.Equal(t, []string{"silver_documentos"}, names(s.Targets()))

	require.Equal(t, []string{"silver_documentos.state = partially_committed", "silver_documentos.publish_allowed = false"}, r.EnvironmentConstraintsInjected)
	require.Equal(t, []string{"silver_documentos"}, s.Constraints.PublishBlocked)
	require.Equal(t, resolution.AmbiguityMedium, r.AmbiguityLevel) // operations were inferred
	require.InDelta(t, 0.90, r.ConfidenceScore, 1e-9)
	require.Equal(t, confirmation.ModeHumanEscalation, r.ConfirmationMode)

	clean := resolution.ResolveStructured(parse(t, whitepaper52), shipped, registry.EnvironmentState{})
	require.Equal(t, confirmation.ModeHardRequired, clean.ConfirmationMode)
}

func TestResolveStructuredMatchesText(t *testing.T) {
	t.Parallel()
	text := resolution.Resolve("reconcile nfe with clientes and persist to silver", shipped, registry.EnvironmentState{})
	sig := signature.Signature{
		Operations:  []string{signature.OpJoin},
		TargetLayer: "bronze_to_silver",
		Datasets: []signature.Dataset{
			{Name: "clientes", Role: signature.RoleSource},
			{Name: "nfe", Role: signature.RoleSource},
			{Name: "silver_documentos", Role: signature.RoleTarget},
		},
	}
	st := resolution.ResolveStructured(sig, shipped, registry.EnvironmentState{})
	require.True(t, st.Resolved, st.Reason)
	a, err := text.Signature.Encode()
	require.NoError(t, err)
	b, err := st.Signature.Encode()
	require.NoError(t, err)
	require.Equal(t, string(a), string(b))
	require.Equal(t, 1.0, st.ConfidenceScore)
}

func TestResolveStructuredRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sig    signature.Signature
		reason []string
	}{
		{"unknown dataset names closest", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "nfee"}}},
			[]string{`"nfee" (closest: nfe`, "by their catalog name"}},
		{"alias is not a catalog name", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "invoices"}}},
			[]string{`"invoices"`, "closest: nfe"}},
		{"unknown operation", signature.Signature{Operations: []string{"explode"}, Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`operation "explode"`}},
		{"no operation and unknown intent", signature.Signature{Intent: "do_stuff", Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`intent "do_stuff" names no operation`}},
		{"bad target layer", signature.Signature{Operations: []string{"aggregate"}, TargetLayer: "bronze_to_platinum", Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`target_layer "bronze_to_platinum"`}},
		{"bad role", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "nfe", Role: "sink"}}},
			[]string{`role "sink"`}},
		{"no datasets", signature.Signature{Operations: []string{"aggregate"}},
			[]string{"names no datasets"}},
		{"target in another layer", signature.Signature{Operations: []string{"join"}, TargetLayer: "bronze_to_gold", Datasets: []signature.Dataset{{Name: "nfe"}, {Name: "clientes"}, {Name: "silver_documentos", Role: "target"}}},
			[]string{"target silver_documentos is a silver dataset"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.ResolveStructured(tc.sig, shipped, registry.EnvironmentState{})
			require.False(t, r.Resolved)
			for _, w := range tc.reason {
				require.Contains(t, r.Reason, w)
			}
		})
	}
}

// A structured signature carries the selection and the execution mode,
// validated against the catalog: names exactly, no aliases.
func TestResolveStructuredSelectionAndModes(t *testing.T) {
	t.Parallel()
	sig := parse(t, `
signature:
  operations: [aggregate]
  target_layer: bronze_to_gold
  datasets:
    - {name: vendas_diarias}
    - {name: gold_faturamento_uf, role: target}
  selection:
    group_by: [vendas_diarias.uf]
    measures:
      - {function: sum, column: vendas_diarias.valor}
      - {function: count}
    filters:
      - {column: vendas_diarias.quantidade, operator: ">", value: "0"}
  execution_mode: micro_batch
  time_window: 15m0s
`)
	r := resolution.ResolveStructured(sig, shipped, registry.EnvironmentState{})
	require.True(t, r.Resolved, r.Reason)
	s := r.Signature
	require.Equal(t, sig.Selection, s.Selection)
	require.Equal(t, "micro_batch", s.ExecutionMode)
	require.Equal(t, "15m", s.TimeWindow, "written as Resolve writes it")

	// The same intent as text is the same signature.
	text := resolved(t, "sum valor by uf from vendas_diarias where quantidade > 0 into gold_faturamento_uf every 15 minutes", registry.EnvironmentState{})
	text.Signature.Selection.Measures = append(text.Signature.Selection.Measures, signature.Measure{Function: "count"})
	a, err := text.Signature.Hash()
	require.NoError(t, err)
	b, err := s.Hash()
	require.NoError(t, err)
	require.Equal(t, a, b)

	atomic := resolution.ResolveStructured(signature.Signature{
		Operations: []string{"merge"}, TargetLayer: "bronze_to_silver", CrossDatasetAtomic: true,
		Datasets: []signature.Dataset{{Name: "nfe"}, {Name: "clientes"}, {Name: "silver_documentos", Role: "target"}, {Name: "clientes_anon", Role: "target"}},
	}, shipped, registry.EnvironmentState{})
	require.True(t, atomic.Resolved, atomic.Reason)
	require.True(t, atomic.Signature.CrossDatasetAtomic)
	require.Equal(t, []string{"clientes_anon", "silver_documentos"}, names(atomic.Signature.Targets()))

	read := resolution.ResolveStructured(signature.Signature{
		Operations: []string{"read"}, Datasets: []signature.Dataset{{Name: "clientes"}},
		Selection: &signature.Selection{Columns: []string{"clientes.uf"}, Filters: []signature.RowFilter{{Column: "clientes.segmento", Operator: "=", Value: "varejo"}}},
	}, shipped, registry.EnvironmentState{})
	require.True(t, read.Resolved, read.Reason)
	require.Equal(t, "read_report", read.Signature.Intent)
	require.Equal(t, "bronze", read.Signature.TargetLayer)
}

func TestResolveStructuredRefusesABadSelectionOrMode(t *testing.T) {
	t.Parallel()
	base := func(mut func(*signature.Signature)) signature.Signature {
		s := signature.Signature{Operations: []string{"aggregate"}, TargetLayer: "bronze_to_gold",
			Datasets: []signature.Dataset{{Name: "nfe"}, {Name: "gold_faturamento_uf", Role: "target"}}}
		mut(&s)
		return s
	}
	sel := func(s signature.Selection) func(*signature.Signature) {
		return func(x *signature.Signature) { x.Selection = &s }
	}
	tests := []struct {
		name   string
		sig    signature.Signature
		reason string
	}{
		{"unknown column names the columns", base(sel(signature.Selection{GroupBy: []string{"nfe.store"}})),
			"store is not a column of nfe; its columns are nfe_id, cpf, cliente_id, emitente_cnpj, valor_total, uf, emitted_at, processing_date, itens"},
		{"alias is not a column name", base(sel(signature.Selection{GroupBy: []string{"nfe.state"}})), "state is not a column of nfe"},
		{"not qualified", base(sel(signature.Selection{Columns: []string{"uf"}})), `"uf" is not dataset.column`},
		{"dataset not in the signature", base(sel(signature.Selection{GroupBy: []string{"clientes.uf"}})), "names dataset clientes, which is not among the signature's datasets (nfe, gold_faturamento_uf)"},
		{"unknown function", base(sel(signature.Selection{Measures: []signature.Measure{{Function: "median", Column: "nfe.valor_total"}}})), `measure function "median"`},
		{"sum of a string", base(sel(signature.Selection{Measures: []signature.Measure{{Function: "sum", Column: "nfe.uf"}}})), "not a number"},
		{"sum without a column", base(sel(signature.Selection{Measures: []signature.Measure{{Function: "sum"}}})), "measure sum needs a column"},
		{"bad operator", base(sel(signature.Selection{Filters: []signature.RowFilter{{Column: "nfe.uf", Operator: "like", Value: "S%"}}})), `operator "like"`},
		{"bad value", base(sel(signature.Selection{Filters: []signature.RowFilter{{Column: "nfe.valor_total", Operator: ">", Value: "lots"}}})), "compare it with a number"},
		{"unknown mode", base(func(s *signature.Signature) { s.ExecutionMode = "streaming" }), `execution_mode "streaming" is not a mode`},
		{"micro_batch without window", base(func(s *signature.Signature) { s.ExecutionMode = "micro_batch" }), "needs time_window"},
		{"window without micro_batch", base(func(s *signature.Signature) { s.TimeWindow = "15m" }), "execution_mode is not micro_batch"},
		{"bad window", base(func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = "micro_batch", "soon" }), `time_window "soon" is not a duration`},
		{"window of a day", base(func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = "micro_batch", "24h" }), "below 24h"},
		{"atomic read", signature.Signature{Operations: []string{"aggregate"}, CrossDatasetAtomic: true, Datasets: []signature.Dataset{{Name: "nfe"}}}, "writes nothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.ResolveStructured(tc.sig, shipped, registry.EnvironmentState{})
			require.False(t, r.Resolved)
			require.Contains(t, r.Reason, tc.reason)
		})
	}
}
