package staticcheck

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// readRules are a read of bronze.nfe's day 2026-01-02 with a row limit of
// 100 (docs/adr/0132).
func readRules() Rules {
	return Rules{
		HighVolumeTables: []string{"bronze.nfe"},
		TemporalColumns:  map[string]string{"bronze.nfe": "processing_date"},
		SignedWindows:    map[string]Window{"bronze.nfe": {From: "2026-01-02", To: "2026-01-03"}},
		ExpectedColumns:  []string{"uf", "cpf_hash"},
		ForbiddenColumns: []string{"cpf", "email"},
		AllowedFunctions: []string{"convert_to", "count", "encode", "sha256", "sum"},
		ReadOnly:         true,
		MaxRows:          101,
	}
}

func TestValidateRead(t *testing.T) {
	t.Parallel()
	const from = ` FROM bronze.nfe WHERE processing_date >= DATE '2026-01-02' AND processing_date < DATE '2026-01-03'`
	cases := []struct {
		name string
		sql  string
		want []Rule
	}{
		{"masked and bounded", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 101`, nil},
		{"through a CTE", `WITH e AS (SELECT uf, cpf` + from + `) SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash FROM e ORDER BY uf LIMIT 10`, nil},
		{"raw cpf", `SELECT uf, cpf AS cpf_hash` + from + ` LIMIT 101`, []Rule{RuleContractForbiddenColumn}},
		{"no limit", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from, []Rule{RuleUnboundedResult}},
		{"limit over the row limit", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 102`, []Rule{RuleUnboundedResult}},
		{"limit not a constant", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT ALL`, []Rule{RuleUnboundedResult}},
		{"a write first", `UPDATE bronze.clientes SET uf = 'SP' WHERE cliente_id = 'x'; SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 1`,
			[]Rule{RuleForbiddenStatement}},
		{"a data-modifying CTE", `WITH d AS (DELETE FROM bronze.clientes WHERE cliente_id = 'x' RETURNING uf) SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 1`,
			[]Rule{RuleForbiddenStatement}},
		{"select into", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash INTO staging.x` + from + ` LIMIT 1`, []Rule{RuleContractMissingColumn, RuleForbiddenStatement}},
		{"row lock", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 1 FOR UPDATE`, []Rule{RuleForbiddenStatement}},
		{"a setting", `SET work_mem = '64MB'; SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash` + from + ` LIMIT 1`, []Rule{RuleForbiddenStatement}},
		{"outside the signed day", `SELECT uf, encode(sha256(convert_to(cpf::text, 'UTF8')), 'hex') AS cpf_hash FROM bronze.nfe WHERE processing_date >= DATE '2026-01-01' LIMIT 1`,
			[]Rule{RuleOutsideSignedWindow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := Validate(tc.sql, readRules())
			var got []Rule
			for _, v := range rep.Violations {
				got = append(got, v.Rule)
			}
			slices.Sort(got)
			got = slices.Compact(got)
			require.Equal(t, tc.want, got, "%v", rep.Violations)
			require.Equal(t, len(tc.want) == 0, rep.Passed)
		})
	}
}

// TestValidateReadRulesOff: a script that writes is judged as before when
// the rules are not a read's.
func TestValidateReadRulesOff(t *testing.T) {
	t.Parallel()
	rep := Validate(`UPDATE bronze.clientes SET uf = 'SP' WHERE cliente_id = 'x'`, Rules{})
	require.True(t, rep.Passed, "%v", rep.Violations)
}
