package codegen_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// TestReadQueriesPassStaticValidation: the SELECT of every read fixture
// passes Static Validation against the rules of its own plan, and those
// rules are a read's: read only, bounded by the row limit plus one, the
// raw PII names forbidden and the query's columns expected.
func TestReadQueriesPassStaticValidation(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	cases := []struct {
		name     string
		hv       []string
		maxRows  int64
		expected []string
	}{
		{"read_count_invoices", []string{"bronze.nfe"}, 1001, []string{"count"}},
		{"read_invoices_of_day", []string{"bronze.nfe"}, 1001, []string{"nfe_id", "cpf_hash", "cliente_id", "emitente_cnpj", "valor_total", "uf", "emitted_at", "processing_date", "itens"}},
		{"read_revenue_by_uf_last_7_days", []string{"bronze.nfe"}, 1001, []string{"uf", "sum_valor_total"}},
		{"read_clientes", nil, 21, []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}},
		{"read_sp_segments", []string{"bronze.nfe"}, 1001, []string{"segmento", "avg_valor_total", "count", "count_distinct_cpf"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := planFor(t, cat, goldenNamed(t, tc.name))
			script, rules, rep, err := validateScript(t, p, cat)
			require.NoError(t, err)
			require.True(t, rep.Passed, "%v\n%s", rep.Violations, script)
			require.True(t, rules.ReadOnly)
			require.Equal(t, tc.maxRows, rules.MaxRows)
			require.Equal(t, tc.hv, rules.HighVolumeTables)
			require.Equal(t, tc.expected, rules.ExpectedColumns)
			require.Empty(t, rules.TargetTable, "a read writes no table")
			require.Subset(t, rules.ForbiddenColumns, []string{"cpf"})
			require.NotContains(t, script, `"cpf" AS`, "raw cpf never leaves the query")
		})
	}
}

// TestReadQueryTamperedIsCaught: code that returns raw PII, reads past the
// signed window, drops the LIMIT or writes fails Static Validation against
// the read plan's rules; a plan whose query returns raw PII is refused
// before any code is generated.
func TestReadQueryTamperedIsCaught(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	p := planFor(t, cat, goldenNamed(t, "read_invoices_of_day"))
	script, rules, rep, err := validateScript(t, p, cat)
	require.NoError(t, err)
	require.True(t, rep.Passed)
	masked := `encode(sha256(convert_to("cpf"::text, 'UTF8')), 'hex') AS "cpf_hash"`
	require.Contains(t, script, masked)
	cases := []struct {
		name string
		edit func(string) string
		want staticcheck.Rule
	}{
		{"raw cpf under another name", func(s string) string { return strings.Replace(s, masked, `"cpf" AS "cpf_hash"`, 1) }, staticcheck.RuleContractForbiddenColumn},
		{"raw cpf by its name", func(s string) string { return strings.Replace(s, masked, `"cpf"`, 1) }, staticcheck.RuleContractForbiddenColumn},
		{"no limit", func(s string) string { return strings.Replace(s, "LIMIT 1001;", ";", 1) }, staticcheck.RuleUnboundedResult},
		{"a larger limit", func(s string) string { return strings.Replace(s, "LIMIT 1001;", "LIMIT 1000000;", 1) }, staticcheck.RuleUnboundedResult},
		{"outside the signed day", func(s string) string { return strings.Replace(s, "DATE '2026-01-02'", "DATE '2025-01-02'", 1) }, staticcheck.RuleOutsideSignedWindow},
		{"unbounded scan", func(s string) string {
			return strings.Replace(s, `WHERE "processing_date" >= DATE '2026-01-02' AND "processing_date" < DATE '2026-01-03'`, "", 1)
		}, staticcheck.RuleUnboundedScan},
		{"a write", func(s string) string { return "DELETE FROM \"bronze\".\"clientes\" WHERE \"uf\" = 'SP';\n" + s }, staticcheck.RuleForbiddenStatement},
		{"a row lock", func(s string) string { return strings.Replace(s, "LIMIT 1001;", "LIMIT 1001 FOR UPDATE;", 1) }, staticcheck.RuleForbiddenStatement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			edited := tc.edit(script)
			require.NotEqual(t, script, edited)
			got := staticcheck.Validate(edited, rules)
			require.False(t, got.Passed)
			require.Contains(t, ruleNames(got), tc.want, "%v", got.Violations)
		})
	}

	t.Run("a plan returning raw PII is refused", func(t *testing.T) {
		t.Parallel()
		bad := planFor(t, cat, goldenNamed(t, "read_invoices_of_day"))
		q := bad.Steps[len(bad.Steps)-1].Params.Query
		for i := range q.Select {
			q.Select[i].Mask = ""
		}
		var err error
		bad.Hash, err = planner.HashPlan(bad)
		require.NoError(t, err)
		_, err = codegen.Postgres{}.Generate(bad, cat)
		require.ErrorIs(t, err, codegen.ErrInvalidPlan)
		require.ErrorContains(t, err, "returns raw PII nfe.cpf unmasked")
	})
}

// TestReadFilterLiterals: filter values reach the code only as typed
// literals of the column's catalog type, a string's quotes doubled; in
// dbt a string holding Jinja's delimiters is printed, never rendered.
func TestReadFilterLiterals(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.ReadClientes(cat)
	sig.Selection = &signature.Selection{Filters: []signature.RowFilter{
		{Column: "clientes.segmento", Operator: "=", Value: "O'Brien {{ run_query('drop') }}"},
		{Column: "clientes.created_at", Operator: ">=", Value: "2025-06-01"},
	}}
	p, err := planner.Plan(sig, cat, planner.Options{Masks: plannertest.ReadMasks()})
	require.NoError(t, err)
	script, _, rep, err := validateScript(t, p, cat)
	require.NoError(t, err)
	require.True(t, rep.Passed, "%v", rep.Violations)
	require.Contains(t, script, `"created_at" >= TIMESTAMP '2025-06-01 00:00:00'`)
	require.Contains(t, script, `"segmento" = 'O''Brien {{ run_query(''drop'') }}'`)

	art, err := codegen.DBT{}.Generate(p, cat)
	require.NoError(t, err)
	var model string
	for _, f := range art.Files {
		if strings.HasPrefix(f.Path, "analyses/") {
			model = f.Content
		}
	}
	require.Contains(t, model, `{{ "'O''Brien {{ run_query(''drop'') }}'" }}`, "dbt prints the literal, never renders it")
}
