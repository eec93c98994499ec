package planner_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

// readMasks is the shipped privacy wall's masking: cpf hashed, email
// redacted.
var readMasks = map[string]planner.Mask{"nfe.cpf": planner.MaskSHA256, "clientes.cpf": planner.MaskSHA256, "clientes.email": planner.MaskRedact}

func readOf(cat *catalog.Catalog, sel *signature.Selection, tf *signature.TemporalFilter, ops []string, sources ...string) signature.Signature {
	sig := signature.Signature{Domain: "fiscal", Intent: "read", TargetLayer: signature.LayerBronze, Operations: ops, Selection: sel,
		Constraints:      signature.Constraints{TemporalFilter: tf},
		ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion}}
	for _, s := range sources {
		sig.Datasets = append(sig.Datasets, signature.Dataset{Name: s, Role: signature.RoleSource})
	}
	return sig
}

func last30() *signature.TemporalFilter {
	return &signature.TemporalFilter{Column: "processing_date", LastDays: 30}
}

func TestPlanRead(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	day := &signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-03"}
	cases := []struct {
		name    string
		sig     signature.Signature
		steps   []string
		columns []string
		query   planner.Query
		masked  []planner.MaskedColumn
	}{
		{name: "count invoices",
			sig:     readOf(cat, &signature.Selection{Measures: []signature.Measure{{Function: signature.FuncCount}}}, last30(), []string{signature.OpAggregate}, "nfe"),
			steps:   []string{"01_extract_nfe", "02_query_nfe"},
			columns: []string{"count"},
			query:   planner.Query{Select: []planner.Output{{As: "count", Func: "count"}}, Limit: 1000}},
		{name: "show me nfe for 2026-01-02",
			sig:     readOf(cat, nil, day, nil, "nfe"),
			steps:   []string{"01_extract_nfe", "02_query_nfe"},
			columns: []string{"nfe_id", "cpf_hash", "cliente_id", "emitente_cnpj", "valor_total", "uf", "emitted_at", "processing_date", "itens"},
			masked:  []planner.MaskedColumn{{Column: "nfe.cpf", As: "cpf_hash", Mask: planner.MaskSHA256}}},
		{name: "sum of valor_total by uf last 7 days",
			sig: readOf(cat, &signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{{Function: signature.FuncSum, Column: "nfe.valor_total"}}},
				&signature.TemporalFilter{Column: "processing_date", LastDays: 7}, []string{signature.OpAggregate}, "nfe"),
			steps:   []string{"01_extract_nfe", "02_query_nfe"},
			columns: []string{"uf", "sum_valor_total"},
			query: planner.Query{Select: []planner.Output{{As: "uf", Column: "uf"}, {As: "sum_valor_total", Column: "valor_total", Func: "sum"}},
				GroupBy: []string{"uf"}, OrderBy: []string{"uf"}, Limit: 1000}},
		{name: "read clientes",
			sig:     readOf(cat, nil, nil, []string{planner.OpRead}, "clientes"),
			steps:   []string{"01_extract_clientes", "02_query_clientes"},
			columns: []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"},
			masked: []planner.MaskedColumn{{Column: "clientes.cpf", As: "cpf_hash", Mask: planner.MaskSHA256},
				{Column: "clientes.email", As: "email_redacted", Mask: planner.MaskRedact}}},
		{name: "distinct customers of SP invoices",
			sig: readOf(cat, &signature.Selection{Measures: []signature.Measure{{Function: signature.FuncCountDistinct, Column: "nfe.cpf"}},
				Filters: []signature.RowFilter{{Column: "nfe.uf", Operator: "=", Value: "SP"}, {Column: "nfe.valor_total", Operator: ">=", Value: "+100,5"}}},
				last30(), []string{signature.OpAggregate}, "nfe"),
			steps:   []string{"01_extract_nfe", "02_query_nfe"},
			columns: []string{"count_distinct_cpf"},
			query: planner.Query{Select: []planner.Output{{As: "count_distinct_cpf", Column: "cpf", Func: "count_distinct", Mask: planner.MaskSHA256}},
				Where: []planner.Predicate{{Column: "uf", Operator: "=", Value: "SP", Type: "string"}, {Column: "valor_total", Operator: ">=", Value: "100.5", Type: "decimal(18,2)"}},
				Limit: 1000},
			masked: []planner.MaskedColumn{{Column: "nfe.cpf", As: "count_distinct_cpf", Mask: planner.MaskSHA256}}},
		{name: "invoices per segmento joined with clientes",
			sig: readOf(cat, &signature.Selection{GroupBy: []string{"clientes.segmento"}, Measures: []signature.Measure{{Function: signature.FuncCount}}},
				last30(), []string{signature.OpJoin, signature.OpAggregate}, "nfe", "clientes"),
			steps:   []string{"01_extract_nfe", "02_extract_clientes", "03_join_nfe_clientes", "04_query_nfe"},
			columns: []string{"segmento", "count"},
			query: planner.Query{Select: []planner.Output{{As: "segmento", Column: "segmento"}, {As: "count", Func: "count"}},
				GroupBy: []string{"segmento"}, OrderBy: []string{"segmento"}, Limit: 1000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(tc.sig, cat, planner.Options{AsOf: plannertest.AsOf, Masks: readMasks})
			require.NoError(t, err)
			require.True(t, p.Read())
			require.Equal(t, tc.steps, kinds(p))
			q, ok := p.QueryStep()
			require.True(t, ok)
			require.Equal(t, tc.columns, planner.Names(q.Columns))
			if tc.query.Select != nil {
				require.Equal(t, tc.query, *q.Params.Query)
			}
			require.Equal(t, tc.masked, p.MaskedColumns())
			require.Equal(t, tc.columns, p.Contract.ExpectedColumns)
			require.Equal(t, "", p.Target)
			require.Equal(t, planner.ReadOnly, p.Strategy)
			require.Equal(t, planner.UnitDataset, p.ConsistencyUnit)
			for _, s := range p.Steps {
				require.Equal(t, planner.ReadOnly, s.Idempotence, s.ID)
			}
			require.NoError(t, planner.Verify(p, tc.sig, cat))
		})
	}
}

func TestPlanReadWindowAndPruning(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := readOf(cat, &signature.Selection{Measures: []signature.Measure{{Function: signature.FuncCount}}}, last30(), nil, "nfe")
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: "2026-01-03", RowLimit: 50})
	require.NoError(t, err)
	require.Equal(t, &planner.Window{Column: "processing_date", From: "2025-12-05", To: "2026-01-04"}, p.Window)
	ex := step(t, p, "01_extract_nfe")
	require.Equal(t, p.Window, ex.Params.Filter)
	require.Equal(t, []string{"processing_date"}, planner.Names(ex.Columns), "count(*) reads no column but the one the window filters on")
	q, _ := p.QueryStep()
	require.Equal(t, 50, q.Params.Query.Limit)
	require.Contains(t, p.Contract.ForbiddenColumns, "cpf", "a read forbids raw PII names whatever no_pii_raw says")
}

func TestPlanReadRefusals(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	count := &signature.Selection{Measures: []signature.Measure{{Function: signature.FuncCount}}}
	cases := []struct {
		name string
		sig  signature.Signature
		opts planner.Options
		want error
		msg  string
	}{
		{"unbounded high volume read", readOf(cat, count, nil, nil, "nfe"), planner.Options{}, planner.ErrUnboundedScan, "processing_date"},
		{"a read cannot dedupe", readOf(cat, nil, nil, []string{signature.OpDedupe}, "clientes"), planner.Options{}, planner.ErrNoTemplate, "cannot dedupe"},
		{"unknown column", readOf(cat, &signature.Selection{Columns: []string{"clientes.store"}}, nil, nil, "clientes"), planner.Options{}, planner.ErrUnknownColumn, "clientes has no column \"store\""},
		{"dataset not read", readOf(cat, &signature.Selection{Columns: []string{"produtos.ncm"}}, nil, nil, "clientes"), planner.Options{}, planner.ErrUnknownDataset, "does not read"},
		{"filter on raw pii", readOf(cat, &signature.Selection{Filters: []signature.RowFilter{{Column: "clientes.cpf", Operator: "=", Value: "1"}}}, nil, nil, "clientes"),
			planner.Options{}, planner.ErrConstraint, "reveal raw PII"},
		{"max of raw pii", readOf(cat, &signature.Selection{Measures: []signature.Measure{{Function: "max", Column: "clientes.email"}}}, nil, nil, "clientes"),
			planner.Options{}, planner.ErrConstraint, "would reveal personal data"},
		{"group on a redacted column", readOf(cat, &signature.Selection{GroupBy: []string{"clientes.email"}, Measures: []signature.Measure{{Function: "count"}}}, nil, nil, "clientes"),
			planner.Options{Masks: readMasks}, planner.ErrConstraint, "redacts"},
		{"sum of a string", readOf(cat, &signature.Selection{Measures: []signature.Measure{{Function: "sum", Column: "clientes.uf"}}}, nil, nil, "clientes"),
			planner.Options{}, planner.ErrNoTemplate, "sum a numeric column"},
		{"filter value of the wrong type", readOf(cat, &signature.Selection{Filters: []signature.RowFilter{{Column: "nfe.valor_total", Operator: ">", Value: "lots"}}}, last30(), nil, "nfe"),
			planner.Options{AsOf: plannertest.AsOf}, planner.ErrNoTemplate, "not a decimal number"},
		{"unknown operator", readOf(cat, &signature.Selection{Filters: []signature.RowFilter{{Column: "clientes.uf", Operator: "~", Value: "S"}}}, nil, nil, "clientes"),
			planner.Options{}, planner.ErrNoTemplate, "operator must be one of"},
		{"row limit too large", readOf(cat, nil, nil, nil, "clientes"), planner.Options{RowLimit: planner.MaxRowLimit + 1}, planner.ErrInvalidOptions, "row_limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := planner.Plan(tc.sig, cat, tc.opts)
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.want), "%v is not %v", err, tc.want)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestVerifyReadRefusesRawPII(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := readOf(cat, nil, nil, nil, "clientes")
	p, err := planner.Plan(sig, cat, planner.Options{})
	require.NoError(t, err)
	q := p.Steps[len(p.Steps)-1].Params.Query
	for i := range q.Select {
		q.Select[i].Mask = "" // a tampered plan that returns cpf raw
	}
	require.ErrorIs(t, planner.Verify(p, sig, cat), planner.ErrConstraint)
}

func TestCanonicalValue(t *testing.T) {
	t.Parallel()
	cases := []struct{ typ, in, want, err string }{
		{"bigint", " 0042", "42", ""},
		{"int", "4.2", "", "not an integer"},
		{"decimal(18,2)", "+1234,50", "1234.50", ""},
		{"decimal(18,2)", "1e3", "", "not a decimal"},
		{"double", "1e3", "1000", ""},
		{"date", "2026-01-02", "2026-01-02", ""},
		{"date", "2026-02-30", "", "not a calendar date"},
		{"timestamp", "2026-01-02T10:00:00-03:00", "2026-01-02 13:00:00", ""},
		{"timestamp", "2026-01-02", "2026-01-02 00:00:00", ""},
		{"boolean", "sim", "true", ""},
		{"string", "O'Brien", "O'Brien", ""},
		{"string", "a\x00b", "", "printable"},
		{"array<string>", "x", "", "cannot be filtered"},
	}
	for _, tc := range cases {
		got, err := planner.CanonicalValue(tc.typ, tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%s %q", tc.typ, tc.in)
			continue
		}
		require.NoError(t, err, "%s %q", tc.typ, tc.in)
		require.Equal(t, tc.want, got, "%s %q", tc.typ, tc.in)
	}
}
