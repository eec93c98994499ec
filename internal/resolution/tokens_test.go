package resolution

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/contextualflux/cfa/internal/catalog"
)

// The patterns tokens.go spells out by hand.
var (
	tokenPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d+\.\d+|[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*|[a-z0-9_]+|!=|<>|>=|<=|==|=|>|<`)
	isoDate      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	slashDate    = regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{2,4}$`)
	number       = regexp.MustCompile(`^[0-9]+$`)
	decimal      = regexp.MustCompile(`^\d+\.\d+$`)
	qualified    = regexp.MustCompile(`^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$`)
)

func TestTokenClassesMatchPatterns(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"0", "1", "12", "123", "2026", "/", "-", " ", "a", "_", "z", "x1", "é", "Ç", "\xff", "\t", ".", "2026-01-01", "1/2/26", "12/31/2026", "nfe", ".", "=", "<", ">", "!", ",", "nfe.uf", "12.5"}
	inputs := []string{"", "conciliar nfe com clientes e gravar na silver desde 2026-01-01", "12/1/20261", "2026-01-015", "x2026-01-01", "1//2/3", "123/4/56", "where uf >= 10.5 and nfe.uf<>x", "a.b.c 1.2.3 x1.y 1x.y"}
	for range 20000 {
		var s string
		for range r.IntN(8) {
			s += pieces[r.IntN(len(pieces))]
		}
		inputs = append(inputs, s)
	}
	for _, in := range inputs {
		want := tokenPattern.FindAllString(catalog.Fold(in), -1)
		if got := tokenize(in); !slices.Equal(got, want) {
			t.Fatalf("tokenize(%q) = %q, want %q", in, got, want)
		}
		for _, tok := range append(want, in, catalog.Fold(in)) {
			if isISODate(tok) != isoDate.MatchString(tok) || isSlashDate(tok) != slashDate.MatchString(tok) || isNumber(tok) != number.MatchString(tok) ||
				isDecimal(tok) != decimal.MatchString(tok) || isQualified(tok) != qualified.MatchString(tok) {
				t.Fatalf("classes of %q: iso %v slash %v number %v decimal %v qualified %v", tok, isISODate(tok), isSlashDate(tok), isNumber(tok), isDecimal(tok), isQualified(tok))
			}
		}
	}
}

func TestLexKeepsValuesQuotesAndCommas(t *testing.T) {
	t.Parallel()
	l := lex(`List Clientes WHERE uf = 'SP', segmento = "Pessoa Física" and nfe.UF != São`)
	want := []string{"list", "clientes", "where", "uf", "=", "'sp'", "segmento", "=", `"pessoa fisica"`, "and", "nfe.uf", "!=", "sao"}
	if !slices.Equal(l.tokens, want) {
		t.Fatalf("tokens %q, want %q", l.tokens, want)
	}
	raw := []string{"List", "Clientes", "WHERE", "uf", "=", "SP", "segmento", "=", "Pessoa Física", "and", "nfe.UF", "!=", "São"}
	if !slices.Equal(l.raw, raw) {
		t.Fatalf("raw %q, want %q", l.raw, raw)
	}
	if !l.comma[6] || l.comma[5] || l.comma[7] {
		t.Fatalf("comma %v", l.comma)
	}
	// An apostrophe inside a word opens nothing; an unclosed quote is skipped.
	if got := tokenize("don't 'sp"); !slices.Equal(got, []string{"don", "t", "sp"}) {
		t.Fatalf("tokenize = %q", got)
	}
}

func TestOpFormsTabulateDeriveOp(t *testing.T) {
	t.Parallel()
	var toks []string
	for w := range opWords {
		for _, x := range []string{"", "e", "s", "es", "ed", "ing", "d", "ning", "x"} {
			toks = append(toks, w+x, strings.TrimSuffix(w, "e")+x, w[:len(w)-1]+x)
		}
	}
	for _, tok := range append(toks, "", "s", "ed", "sums", "joining", "merged", "totaled", "aggregates", "publishing", "loaded") {
		op, ok := exactOp(tok)
		wantOp, wantOK := deriveOp(tok)
		if op != wantOp || ok != wantOK {
			t.Fatalf("exactOp(%q) = %q %v, want %q %v", tok, op, ok, wantOp, wantOK)
		}
	}
}
