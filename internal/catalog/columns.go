package catalog

import (
	"slices"
	"strings"
)

// MatchPart is a column matched by one word of its name ("produto" for
// produto_id, "date" for sale_date): weaker than an alias, like a typo
// (docs/adr/0131).
const MatchPart MatchKind = "part"

// minPartLen is the shortest name part a word may match: "id", "at" and
// "cpf" name nothing on their own.
const minPartLen = 4

// ColumnMatch is one column a user's term resolved to.
type ColumnMatch struct {
	Dataset  string    `json:"dataset"`
	Column   string    `json:"column"`
	Kind     MatchKind `json:"kind"`     // exact, alias, part or typo
	Via      string    `json:"via"`      // the name or alias matched, as the catalog writes it
	Distance int       `json:"distance"` // edits for a typo, 0 otherwise
}

// Ref writes the match as a signature does: "dataset.column".
func (m ColumnMatch) Ref() string { return m.Dataset + "." + m.Column }

// Column returns the dataset's column with that exact name.
func (d Dataset) Column(name string) (Column, bool) {
	i := slices.IndexFunc(d.Columns, func(c Column) bool { return c.Name == name })
	if i < 0 {
		return Column{}, false
	}
	return d.Columns[i], true
}

// ColumnNames lists the dataset's columns in declaration order.
func (d Dataset) ColumnNames() []string {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = c.Name
	}
	return out
}

// Numeric reports a column type sum and avg apply to.
func (c Column) Numeric() bool {
	t := strings.ToLower(strings.TrimSpace(c.Type))
	for _, p := range []string{"int", "integer", "bigint", "smallint", "tinyint", "decimal", "numeric", "float", "double", "real", "number"} {
		if t == p || strings.HasPrefix(t, p+"(") {
			return true
		}
	}
	return false
}

// Temporal reports a date or timestamp column.
func (c Column) Temporal() bool {
	t := strings.ToLower(strings.TrimSpace(c.Type))
	return t == "date" || strings.HasPrefix(t, "timestamp")
}

// ColumnTerms returns the folded terms that name the column exactly: its
// name and its name with spaces for underscores ("valor total"), then
// its aliases.
func (c Column) ColumnTerms() (names, aliases []string) {
	names = []string{c.Name}
	if spaced := strings.ReplaceAll(c.Name, "_", " "); spaced != c.Name {
		names = append(names, spaced)
	}
	for _, a := range c.Aliases {
		aliases = append(aliases, Normalize(a))
	}
	return names, aliases
}

// Singulars returns a folded term and the forms it has without a plural
// ending ("states" → "state", "valores" → "valore", "valor": "-es" after
// r, s, z or l, as Portuguese and English write it), the term first, so
// "by states" finds uf through its alias "state".
func Singulars(term string) []string {
	out := []string{term}
	if len(term) > 3 && strings.HasSuffix(term, "s") {
		out = append(out, term[:len(term)-1])
		if n := len(term); n > 4 && strings.HasSuffix(term, "es") && strings.IndexByte("rszl", term[n-3]) >= 0 {
			out = append(out, term[:n-2])
		}
	}
	return out
}

// columnRank orders evidence: exact name, alias, a word of the name, typo.
func columnRank(k MatchKind) int {
	switch k {
	case MatchExact:
		return 0
	case MatchAlias:
		return 1
	case MatchPart:
		return 2
	}
	return 3
}

// matchOne returns how term names column c, if it does: the strongest
// kind, and for a typo the smallest distance.
func matchOne(term string, c Column) (ColumnMatch, bool) {
	names, aliases := c.ColumnTerms()
	forms := Singulars(term)
	for _, f := range forms {
		if slices.Contains(names, f) {
			return ColumnMatch{Column: c.Name, Kind: MatchExact, Via: c.Name}, true
		}
	}
	for _, f := range forms {
		for i, a := range aliases {
			if a == f {
				return ColumnMatch{Column: c.Name, Kind: MatchAlias, Via: c.Aliases[i]}, true
			}
		}
	}
	if !strings.Contains(term, " ") {
		for _, f := range forms {
			for _, part := range strings.Split(c.Name, "_") {
				if len(part) >= minPartLen && part == f && part != c.Name {
					return ColumnMatch{Column: c.Name, Kind: MatchPart, Via: c.Name}, true
				}
			}
		}
	}
	best, via := -1, ""
	for i, cand := range append(slices.Clone(names), aliases...) {
		d, ok := WithinTypo(term, cand)
		if !ok || best >= 0 && d >= best {
			continue
		}
		best, via = d, c.Name
		if i >= len(names) {
			via = c.Aliases[i-len(names)]
		}
	}
	if best < 0 {
		return ColumnMatch{}, false
	}
	return ColumnMatch{Column: c.Name, Kind: MatchTypo, Via: via, Distance: best}, true
}

// MatchColumns resolves a user's term against the columns of ds: the
// strongest matches found (exact name, else alias, else a word of the
// name, else the closest typos), every tied one kept, in the order of ds
// and of their columns. Several matches are an ambiguity the caller must
// not settle silently; none means the term names no column of ds.
func MatchColumns(ds []Dataset, term string) []ColumnMatch {
	f := Normalize(term)
	if f == "" {
		return nil
	}
	var out []ColumnMatch
	bestRank, bestDist := 99, 0
	for _, d := range ds {
		for _, c := range d.Columns {
			m, ok := matchOne(f, c)
			if !ok {
				continue
			}
			m.Dataset = d.Name
			r := columnRank(m.Kind)
			switch {
			case r < bestRank || r == bestRank && m.Distance < bestDist:
				out, bestRank, bestDist = []ColumnMatch{m}, r, m.Distance
			case r == bestRank && m.Distance == bestDist:
				out = append(out, m)
			}
		}
	}
	return out
}

// IsColumnTerm reports whether term (or its singular) is the name or an
// alias of a column of any dataset of the catalog, exactly: a word the
// Normalizer reads as a column before trying it as a misspelt dataset.
func (c *Catalog) IsColumnTerm(term string) bool {
	idx := c.index()
	for _, f := range Singulars(Normalize(term)) {
		if idx.columns[f] {
			return true
		}
	}
	return false
}

// DatasetsWithColumns returns, in catalog order, the datasets that have a
// column named exactly or by alias by every term.
func (c *Catalog) DatasetsWithColumns(terms []string) []string {
	var out []string
	for _, d := range c.Datasets {
		all := true
		for _, t := range terms {
			ms := MatchColumns([]Dataset{d}, t)
			if len(ms) == 0 || columnRank(ms[0].Kind) > columnRank(MatchAlias) {
				all = false
				break
			}
		}
		if all {
			out = append(out, d.Name)
		}
	}
	return out
}
