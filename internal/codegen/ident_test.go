package codegen_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
)

// identCases are the shapes Ident must quote exactly as pgx does: the
// catalog's plain names, qualified names, and the escapes a tampered name
// could carry (quotes, NUL, UTF-8).
var identCases = map[string][]string{
	"none":            {},
	"plain":           {"nfe"},
	"qualified":       {"silver", "nfe_conciliada"},
	"three parts":     {"db", "silver", "nfe"},
	"empty part":      {""},
	"empty parts":     {"", ""},
	"quote":           {`a"b`},
	"only quotes":     {`""`, `"`},
	"nul":             {"a\x00b"},
	"nul and quote":   {"\x00\"\x00", `x`},
	"utf-8":           {"ação", "ü\"ß"},
	"invalid utf-8":   {"\xff\xfe\"", "\xc3"},
	"dot inside part": {"a.b"},
}

func TestIdentMatchesPgx(t *testing.T) {
	t.Parallel()
	for name, parts := range identCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, pgx.Identifier(parts).Sanitize(), codegen.Ident(parts...))
			want := make([]string, len(parts))
			for i, p := range parts {
				want[i] = pgx.Identifier{p}.Sanitize()
			}
			require.Equal(t, strings.Join(want, ", "), codegen.IdentList(parts))
		})
	}
}

// FuzzIdent holds Ident to pgx's quoting for any two parts.
func FuzzIdent(f *testing.F) {
	for _, parts := range identCases {
		if len(parts) == 2 {
			f.Add(parts[0], parts[1])
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		require.Equal(t, pgx.Identifier{a, b}.Sanitize(), codegen.Ident(a, b))
		require.Equal(t, pgx.Identifier{a}.Sanitize()+", "+pgx.Identifier{b}.Sanitize(), codegen.IdentList([]string{a, b}))
	})
}

// BenchmarkIdent is one qualified name, as the generator quotes a table.
func BenchmarkIdent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = codegen.Ident("silver", "nfe_conciliada")
	}
}
