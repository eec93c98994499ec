package catalog

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// slowNormalize is Normalize without its fast paths.
func slowNormalize(s string) string {
	var f strings.Builder
	for _, r := range strings.ToLower(s) {
		f.WriteRune(unaccent(r))
	}
	var b strings.Builder
	space := false
	for _, r := range f.String() {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

func TestNormalizeFastPathsAgree(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 8))
	pieces := []string{"", " ", "  ", "a", "Z", "_", "9", "-", "é", "Ç", "İ", "\xff", "nfe", "Notas", "\t"}
	for range 20000 {
		var s string
		for range r.IntN(7) {
			s += pieces[r.IntN(len(pieces))]
		}
		if got, want := Normalize(s), slowNormalize(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
		var f strings.Builder
		for _, r := range strings.ToLower(s) {
			f.WriteRune(unaccent(r))
		}
		if got := Fold(s); got != f.String() {
			t.Fatalf("Fold(%q) = %q, want %q", s, got, f.String())
		}
	}
}
