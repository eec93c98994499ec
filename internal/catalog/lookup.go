package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// ErrUnknownDataset is wrapped by Lookup when no dataset matches a term.
var ErrUnknownDataset = errors.New("unknown dataset")

// MatchKind says how a term matched a dataset; it is the evidence the
// Normalizer's confidence score is built from (docs/adr/0012).
type MatchKind string

// Match kinds, strongest first.
const (
	MatchExact MatchKind = "exact" // the catalog name
	MatchAlias MatchKind = "alias" // one of the dataset's aliases
	MatchTypo  MatchKind = "typo"  // within the typo tolerance of a name or alias
)

// Match is one dataset a term resolved to.
type Match struct {
	Dataset  string    `json:"dataset"`
	Kind     MatchKind `json:"kind"`
	Via      string    `json:"via"`      // the name or alias matched, as the catalog writes it
	Distance int       `json:"distance"` // edits for a typo, 0 otherwise
}

// UnknownError reports a term no dataset matches, with the closest names.
type UnknownError struct {
	Term    string
	Closest []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("no catalog dataset or alias matches %q; closest catalog names: %s; use one of them", e.Term, strings.Join(e.Closest, ", "))
}

// Unwrap lets errors.Is(err, ErrUnknownDataset) match.
func (e *UnknownError) Unwrap() error { return ErrUnknownDataset }

type termEntry struct {
	folded  string
	dataset string
	via     string
	kind    MatchKind
}

// termIndex holds names and aliases in folded form, in catalog order.
type termIndex struct {
	entries []termEntry
	exact   map[string][]Match
	columns map[string]bool // folded column names and aliases of every dataset
}

func buildIndex(ds []Dataset) *termIndex {
	idx := &termIndex{exact: map[string][]Match{}, columns: map[string]bool{}}
	for _, d := range ds {
		idx.add(d.Name, d.Name, MatchExact)
		for _, a := range d.Aliases {
			idx.add(d.Name, a, MatchAlias)
		}
		for _, c := range d.Columns {
			names, aliases := c.ColumnTerms()
			for _, t := range append(names, aliases...) {
				idx.columns[t] = true
			}
		}
	}
	return idx
}

func (idx *termIndex) add(dataset, via string, kind MatchKind) {
	f := Normalize(via)
	idx.entries = append(idx.entries, termEntry{folded: f, dataset: dataset, via: via, kind: kind})
	idx.exact[f] = append(idx.exact[f], Match{Dataset: dataset, Kind: kind, Via: via})
}

func (c *Catalog) index() *termIndex {
	if c.terms != nil {
		return c.terms
	}
	return buildIndex(c.Datasets)
}

// Exact returns the datasets a term names exactly or by alias, ignoring
// case, accents and punctuation. Several matches mean a shared alias: the
// term is ambiguous and the caller must not pick one silently.
func (c *Catalog) Exact(term string) []Match {
	return slices.Clone(c.index().exact[Normalize(term)])
}

// Lookup resolves a user's term: the exact name, else aliases, else the
// closest names or aliases within typo tolerance (all tied ones). With no
// match it returns an *UnknownError wrapping ErrUnknownDataset.
func (c *Catalog) Lookup(term string) ([]Match, error) {
	if m := c.Exact(term); len(m) > 0 {
		return m, nil
	}
	if m := c.Typo(term); len(m) > 0 {
		return m, nil
	}
	return nil, &UnknownError{Term: term, Closest: c.Closest(term, 3)}
}

// Typo returns the datasets whose name or alias is within typo tolerance of
// term (see TypoDistance), keeping only the smallest distance found.
func (c *Catalog) Typo(term string) []Match {
	f := Normalize(term)
	if f == "" {
		return nil
	}
	var out []Match
	best := -1
	for _, e := range c.index().entries {
		d, ok := WithinTypo(f, e.folded)
		if !ok || (best >= 0 && d > best) {
			continue
		}
		if d < best || best < 0 {
			out, best = out[:0], d
		}
		if !slices.ContainsFunc(out, func(m Match) bool { return m.Dataset == e.dataset }) {
			out = append(out, Match{Dataset: e.dataset, Kind: MatchTypo, Via: e.via, Distance: d})
		}
	}
	slices.SortFunc(out, func(a, b Match) int { return strings.Compare(a.Dataset, b.Dataset) })
	return out
}

// Closest returns up to n dataset names nearest to term by edit distance
// over names and aliases, nearest first, ties by name.
func (c *Catalog) Closest(term string, n int) []string {
	f := Normalize(term)
	type scored struct {
		name string
		dist int
	}
	best := map[string]int{}
	for _, e := range c.index().entries {
		d := TypoDistance(f, e.folded)
		if cur, ok := best[e.dataset]; !ok || d < cur {
			best[e.dataset] = d
		}
	}
	all := make([]scored, 0, len(best))
	for name, d := range best {
		all = append(all, scored{name, d})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, n)
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].name)
	}
	return out
}

// TypoDistance is the Levenshtein distance with one adjacent transposition
// counted as a single edit ("totla" → "total" is 1), the commonest typo.
func TypoDistance(a, b string) int {
	d := levenshtein.ComputeDistance(a, b)
	if d == 2 && isOneTransposition(a, b) {
		return 1
	}
	return d
}

func isOneTransposition(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
}

// MaxTypos is the edit budget for a folded term: none up to 3 runes (too
// many short words collide), 1 up to 7, 2 beyond.
func MaxTypos(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n <= 3:
		return 0
	case n <= 7:
		return 1
	default:
		return 2
	}
}

// WithinTypo reports the distance between two folded terms and whether it
// is a plausible typo: same first letter (people rarely mistype it), at
// least one edit, and within MaxTypos of the longer of the two.
func WithinTypo(term, candidate string) (int, bool) {
	if term == "" || candidate == "" || term == candidate || term[0] != candidate[0] {
		return 0, false
	}
	budget := MaxTypos(term)
	if b := MaxTypos(candidate); b > budget {
		budget = b
	}
	if budget == 0 {
		return 0, false
	}
	d := TypoDistance(term, candidate)
	return d, d <= budget
}

// Normalize folds a term for matching: lower case, accents removed, every
// run of characters other than letters, digits and '_' turned into one
// space. "Notas-Fiscais  Eletrônicas" and "notas fiscais eletronicas" match.
func Normalize(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range Fold(s) {
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

// isNormalized reports whether Normalize(s) is s itself: words of
// [a-z0-9_] separated by single spaces, as the Normalizer's token windows
// and the catalog's folded terms are.
func isNormalized(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
		case c == ' ' && i > 0 && i+1 < len(s) && s[i-1] != ' ':
		default:
			return false
		}
	}
	return true
}

// Fold lower-cases s and strips the Latin accents of Portuguese and
// Spanish, keeping everything else as is.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return strings.ToLower(s) // no accents to strip; s itself when already lower case
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		b.WriteRune(unaccent(r))
	}
	return b.String()
}

func unaccent(r rune) rune {
	switch r {
	case 'á', 'à', 'â', 'ã', 'ä':
		return 'a'
	case 'é', 'è', 'ê', 'ë':
		return 'e'
	case 'í', 'ì', 'î', 'ï':
		return 'i'
	case 'ó', 'ò', 'ô', 'õ', 'ö':
		return 'o'
	case 'ú', 'ù', 'û', 'ü':
		return 'u'
	case 'ç':
		return 'c'
	case 'ñ':
		return 'n'
	}
	return r
}
