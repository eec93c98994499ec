package signature_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/signature"
)

// asked is an intent as a user states it: "sum valor_total by uf from nfe
// where uf = SP, last 400 days, into silver_documentos".
func asked() signature.Signature {
	return signature.Signature{
		Domain: "fiscal_data_processing", Intent: "aggregate_persist", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpAggregate},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, PartitionKey: "processing_date", PII: []string{"cpf"}},
			{Name: "silver_documentos", Role: signature.RoleTarget},
		},
		Selection: &signature.Selection{
			Columns:  []string{"nfe.uf", "nfe.cpf"},
			GroupBy:  []string{"nfe.uf"},
			Measures: []signature.Measure{{Function: signature.FuncSum, Column: "nfe.valor_total"}},
			Filters:  []signature.RowFilter{{Column: "nfe.uf", Operator: "=", Value: "SP"}},
		},
		Constraints: signature.Constraints{TemporalFilter: &signature.TemporalFilter{Column: "processing_date", LastDays: 400}},
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	window := func(tf *signature.TemporalFilter) func(*signature.Signature) {
		return func(s *signature.Signature) { s.Constraints.TemporalFilter = tf }
	}
	cases := []struct {
		name  string
		asked func(*signature.Signature) // edits asked() before the replan
		got   func(*signature.Signature) // the replan's edit
		want  []signature.Change
	}{
		{name: "nothing asked changed: a replan count and a new execution_context", got: func(s *signature.Signature) {
			s.Replan, s.ExecutionContext.RegistryVersionID = 2, "v9"
		}},
		{name: "treatments only: merge key, merge and anonymize of a column nobody asked for", got: func(s *signature.Signature) {
			s.Operations = append(s.Operations, signature.OpMerge, signature.OpAnonymize)
			s.Constraints.MergeKey, s.Constraints.MergeKeyRequired = "nfe_id", true
			s.Constraints.Anonymize = []string{"nfe.email"}
		}},
		{name: "set order is not a change", got: func(s *signature.Signature) {
			s.Selection.Columns = []string{"nfe.cpf", "nfe.uf", "nfe.uf"}
			s.Datasets[0], s.Datasets[1] = s.Datasets[1], s.Datasets[0]
		}},
		{name: "window: last 400 days narrowed to 60", got: window(&signature.TemporalFilter{Column: "processing_date", LastDays: 60}),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeNarrowed, Before: "last 400 days", After: "last 60 days"}}},
		{name: "window: widened", got: window(&signature.TemporalFilter{Column: "processing_date", LastDays: 500}),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeWidened, Before: "last 400 days", After: "last 500 days"}}},
		{name: "window: dropped", got: window(nil),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeWidened, Before: "last 400 days", After: "no window (every partition)"}}},
		{name: "window: explicit dates narrowed", asked: window(&signature.TemporalFilter{Column: "processing_date", From: "2025-01-01"}),
			got:  window(&signature.TemporalFilter{Column: "processing_date", From: "2025-06-01", To: "2025-07-01"}),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeNarrowed, Before: "since 2025-01-01", After: "from 2025-06-01 until 2025-07-01"}}},
		{name: "window: dates against a relative window changed", asked: window(&signature.TemporalFilter{Column: "processing_date", From: "2025-01-01"}),
			got:  window(&signature.TemporalFilter{Column: "processing_date", LastDays: 1}),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeChanged, Before: "since 2025-01-01", After: "last 1 day"}}},
		{name: "window: another column", got: window(&signature.TemporalFilter{Column: "emitted_at", LastDays: 400}),
			want: []signature.Change{{Field: signature.FieldTemporalWindow, Change: signature.ChangeChanged, Before: "last 400 days on processing_date", After: "last 400 days on emitted_at"}}},
		{name: "window: none asked, a replan's default is not reported", asked: window(nil),
			got: window(&signature.TemporalFilter{Column: "processing_date", LastDays: 30})},
		{name: "columns: one dropped", got: func(s *signature.Signature) { s.Selection.Columns = []string{"nfe.uf"} },
			want: []signature.Change{{Field: signature.FieldColumns, Change: signature.ChangeNarrowed, Before: "nfe.cpf, nfe.uf", After: "nfe.uf"}}},
		{name: "columns: selection gone", got: func(s *signature.Signature) { s.Selection = nil },
			want: []signature.Change{
				{Field: signature.FieldColumns, Change: signature.ChangeNarrowed, Before: "nfe.cpf, nfe.uf", After: "none"},
				{Field: signature.FieldGroupBy, Change: signature.ChangeChanged, Before: "nfe.uf", After: "none"},
				{Field: signature.FieldMeasures, Change: signature.ChangeNarrowed, Before: "sum(nfe.valor_total)", After: "none"},
				{Field: signature.FieldFilters, Change: signature.ChangeWidened, Before: "nfe.uf = SP", After: "none"},
			}},
		{name: "grouping changed", got: func(s *signature.Signature) { s.Selection.GroupBy = []string{"nfe.uf", "nfe.processing_date"} },
			want: []signature.Change{{Field: signature.FieldGroupBy, Change: signature.ChangeChanged, Before: "nfe.uf", After: "nfe.processing_date, nfe.uf"}}},
		{name: "measure replaced", got: func(s *signature.Signature) {
			s.Selection.Measures = []signature.Measure{{Function: signature.FuncCount}}
		}, want: []signature.Change{{Field: signature.FieldMeasures, Change: signature.ChangeChanged, Before: "sum(nfe.valor_total)", After: "count(*)"}}},
		{name: "a row filter added keeps fewer rows", got: func(s *signature.Signature) {
			s.Selection.Filters = append(s.Selection.Filters, signature.RowFilter{Column: "nfe.valor_total", Operator: ">", Value: "0"})
		}, want: []signature.Change{{Field: signature.FieldFilters, Change: signature.ChangeNarrowed, Before: "nfe.uf = SP", After: "nfe.uf = SP, nfe.valor_total > 0"}}},
		{name: "anonymize: a requested column hashed or dropped", got: func(s *signature.Signature) {
			s.Operations = append(s.Operations, signature.OpAnonymize)
			s.Constraints.Anonymize, s.Constraints.NoPIIRaw = []string{"nfe.cpf"}, true
		}, want: []signature.Change{{Field: signature.FieldAnonymize + "nfe.cpf", Change: signature.ChangeAnonymized, Before: "raw",
			After: "sha256-hashed, or dropped when the target keeps no hash of it"}}},
		{name: "anonymize: already asked is no change", asked: func(s *signature.Signature) { s.Constraints.Anonymize = []string{"nfe.cpf"} },
			got: func(s *signature.Signature) { s.Constraints.Anonymize = []string{"nfe.cpf"} }},
		{name: "anonymize: no selection asked, whole datasets are the default", asked: func(s *signature.Signature) { s.Selection = nil },
			got: func(s *signature.Signature) { s.Constraints.Anonymize = []string{"nfe.cpf"} }},
		{name: "target: another dataset and layer", got: func(s *signature.Signature) {
			s.Datasets[1].Name, s.TargetLayer = "gold_faturamento_uf", "silver_to_gold"
		}, want: []signature.Change{
			{Field: signature.FieldTargets, Change: signature.ChangeChanged, Before: "silver_documentos", After: "gold_faturamento_uf"},
			{Field: signature.FieldTargetLayer, Change: signature.ChangeChanged, Before: "bronze_to_silver", After: "silver_to_gold"},
		}},
		{name: "a source dropped", asked: func(s *signature.Signature) {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "clientes", Role: signature.RoleSource})
		}, got: func(s *signature.Signature) { s.Datasets = s.Datasets[:2] },
			want: []signature.Change{{Field: signature.FieldSources, Change: signature.ChangeNarrowed, Before: "clientes, nfe", After: "nfe"}}},
		{name: "an operation dropped (drop_publish)", asked: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) },
			got:  func(s *signature.Signature) { s.Operations = []string{signature.OpAggregate, signature.OpMerge} },
			want: []signature.Change{{Field: signature.FieldOperations, Change: signature.ChangeNarrowed, Before: "aggregate, publish", After: "aggregate, merge"}}},
		{name: "execution mode changed", asked: func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "15m" },
			got:  func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = "", "" },
			want: []signature.Change{{Field: signature.FieldExecutionMode, Change: signature.ChangeChanged, Before: "micro_batch every 15m", After: "batch"}}},
		{name: "several at once, in a fixed order", got: func(s *signature.Signature) {
			s.Datasets[1].Name = "other"
			s.Constraints.TemporalFilter.LastDays = 7
			s.Selection.Columns = []string{"nfe.uf"}
		}, want: []signature.Change{
			{Field: signature.FieldTemporalWindow, Change: signature.ChangeNarrowed, Before: "last 400 days", After: "last 7 days"},
			{Field: signature.FieldColumns, Change: signature.ChangeNarrowed, Before: "nfe.cpf, nfe.uf", After: "nfe.uf"},
			{Field: signature.FieldTargets, Change: signature.ChangeChanged, Before: "silver_documentos", After: "other"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := asked()
			if c.asked != nil {
				c.asked(&a)
			}
			g := a.Clone()
			c.got(&g)
			before := a.Clone()
			require.Equal(t, c.want, signature.Diff(a, g))
			require.Equal(t, before, a, "Diff changes nothing it is given")
		})
	}
}

func TestChangeString(t *testing.T) {
	t.Parallel()
	for want, c := range map[string]signature.Change{
		"temporal window narrowed: last 400 days → last 60 days": {Field: signature.FieldTemporalWindow, Change: signature.ChangeNarrowed, Before: "last 400 days", After: "last 60 days"},
		"requested column nfe.cpf anonymized: raw → hashed":      {Field: signature.FieldAnonymize + "nfe.cpf", Change: signature.ChangeAnonymized, Before: "raw", After: "hashed"},
		"target layer changed: bronze_to_silver → none":          {Field: signature.FieldTargetLayer, Change: signature.ChangeChanged, Before: "bronze_to_silver", After: "none"},
	} {
		require.Equal(t, want, c.String())
	}
}
