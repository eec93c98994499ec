package runtimevalidation

import (
	"fmt"
	"slices"
	"strings"
)

// drift compares the observed output schema with the contract. Missing
// columns, changed types and unexpected columns fail the unit; a different
// order of the same columns only warns (docs/adr/0081). Names compare
// exactly; types compare after CanonicalType.
func drift(expected, observed []Column) []finding {
	obs := make(map[string]string, len(observed))
	for _, c := range observed {
		obs[c.Name] = c.Type
	}
	exp := make(map[string]bool, len(expected))
	var out []finding
	for _, c := range expected {
		exp[c.Name] = true
		got, ok := obs[c.Name]
		switch {
		case !ok:
			out = append(out, newFinding(RuleSchemaMissingColumn, c.Name,
				fmt.Sprintf("contract column %q (%s) is missing from the output", c.Name, c.Type)))
		case CanonicalType(got) != CanonicalType(c.Type):
			out = append(out, newFinding(RuleSchemaTypeChanged, c.Name,
				fmt.Sprintf("column %q is %s in the output, the contract says %s", c.Name, got, c.Type)))
		}
	}
	for _, c := range observed {
		if !exp[c.Name] {
			out = append(out, newFinding(RuleSchemaUnexpectedColumn, c.Name,
				fmt.Sprintf("output column %q (%s) is not in the contract", c.Name, c.Type)))
		}
	}
	if len(out) == 0 && !slices.EqualFunc(expected, observed, func(a, b Column) bool { return a.Name == b.Name }) {
		out = append(out, newFinding(RuleSchemaColumnOrder, "",
			fmt.Sprintf("output columns are in order %s, the contract's order is %s", names(observed), names(expected))))
	}
	return out
}

func names(cols []Column) string {
	n := make([]string, len(cols))
	for i, c := range cols {
		n[i] = c.Name
	}
	return "[" + strings.Join(n, ", ") + "]"
}

// typeSynonyms maps catalog type names and Postgres aliases to the name
// Postgres' format_type() prints. The catalog side mirrors
// codegen.PostgresType, so a contract may be passed in catalog types.
var typeSynonyms = map[string]string{
	"string":                      "text",
	"int":                         "integer",
	"int4":                        "integer",
	"int8":                        "bigint",
	"int2":                        "smallint",
	"bool":                        "boolean",
	"double":                      "double precision",
	"float8":                      "double precision",
	"float4":                      "real",
	"decimal":                     "numeric",
	"timestamp without time zone": "timestamp",
	"timestamptz":                 "timestamp with time zone",
	"character varying":           "varchar",
}

// CanonicalType normalises a type name for comparison: lower case, single
// spaces, no spaces inside parentheses, synonyms resolved (decimal(18,2) →
// numeric(18,2), string → text), catalog nested types (array<…>,
// struct<…>, map<…>) → jsonb as the Postgres backend stores them.
func CanonicalType(t string) string {
	t = tightPunctuation(strings.ToLower(strings.Join(strings.Fields(t), " ")))
	for _, p := range []string{"array<", "struct<", "map<"} {
		if strings.HasPrefix(t, p) {
			return "jsonb"
		}
	}
	base, args, hasArgs := strings.Cut(t, "(")
	if s, ok := typeSynonyms[base]; ok {
		base = s
	}
	if hasArgs {
		return base + "(" + args
	}
	return base
}

// tightPunctuation drops the single spaces before "(", "," and ")" and
// after "(" and ",": "numeric ( 18 , 2 )" → "numeric(18,2)".
func tightPunctuation(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] == ' ' {
			prevTight := i > 0 && (t[i-1] == '(' || t[i-1] == ',')
			nextTight := i+1 < len(t) && (t[i+1] == '(' || t[i+1] == ',' || t[i+1] == ')')
			if prevTight || nextTight {
				continue
			}
		}
		b.WriteByte(t[i])
	}
	return b.String()
}
