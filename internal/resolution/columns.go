package resolution

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// Columns in text (docs/adr/0131). The scanner finds the places a column
// goes, "slots", from closed word lists, before it decides which datasets
// are in play:
//
//   - measure: after an aggregate function ("sum of valor_total", "média
//     de valor_total", "count distinct cliente_id", "quantos clientes")
//     or an aggregate verb ("aggregate revenue": sum when the column is
//     numeric, a grouping key when it is not);
//   - group: after by/por/per/pelo/pela/each/cada/every in a text that
//     aggregates or reads ("by uf", "por uf", "per state");
//   - filter: around a comparison ("uf = SP", "valor_total > 1000") or
//     after where/onde/whose/having, or with/com/for/para followed by a
//     column of the catalog and a value ("for uf SP", "with valor_total
//     above 1000");
//   - projection: after a read verb ("show me uf and valor_total of nfe")
//     or columns/colunas/fields.
//
// Each slot's words are resolved in finish against the columns of the
// datasets in play, with the catalog's column aliases and the same typo
// tolerance as datasets. A word there that names no column is never
// dropped: near candidates make an ambiguity, none an unresolved intent
// whose reason lists the columns that exist.

type slotKind int

const (
	slotMeasure slotKind = iota
	slotGroup
	slotFilter
	slotProject
)

// colRef is one place the text names a column.
type colRef struct {
	kind     slotKind
	pos, end int    // the words, tokens [pos, end)
	term     string // the words folded, as matched against the catalog
	dataset  string // of a qualified column, "nfe" in "nfe.uf"
	fn       string // measure function
	// defaulted: "aggregate revenue": sum if numeric, else a grouping key.
	defaulted bool
	op, value string // filter operator and value as written
	// inMention: the words are part of a dataset alias ("revenue by
	// state"); they name a column only exactly or by alias, and otherwise
	// they named the dataset.
	inMention bool
	// single: the words are a whole dataset mention in a slot ("by
	// clientes", "count invoices"); settleSlots makes it a column or the
	// dataset.
	single bool
	// pending: an unknown word in a measure or projection slot, which may
	// still be a misspelt dataset ("count nfee").
	pending bool
	pick    int // with several candidates, 1 + the one chosen (ResolveAs); 0 = the first
	// absorbs: the words begin with a whole dataset mention they outgrow
	// ("invoice number" over the alias "invoice"): the mention is dropped.
	absorbs bool
}

// mentionAt returns the index of the mention covering token i, or -1.
func (p *parsed) mentionAt(i int) int {
	for k, m := range p.mentions {
		if i >= m.pos && i < m.end {
			return k
		}
	}
	return -1
}

// multiWordAlias reports a mention of several words by alias.
func (m mention) multiWordAlias() bool {
	return m.end-m.pos > 1 && m.kind() == catalog.MatchAlias
}

// namesColumns reports an alias whose words also say what is computed,
// because it holds a grouping marker: "revenue by state", "faturamento
// por uf" name gold_faturamento_uf and, read as words, a sum of revenue
// grouped by state. "clientes anonimizados" names a dataset only.
func (p *parsed) namesColumns(m mention) bool {
	if !m.multiWordAlias() {
		return false
	}
	for i := m.pos; i < m.end; i++ {
		if groupMarkers[p.tokens[i]] {
			return true
		}
	}
	return false
}

// columnWindow returns the end of the longest window from i (at most 3
// tokens, within limit) that names a column of the catalog exactly or by
// alias, with every token free, or -1.
func (p *parsed) columnWindow(cat *catalog.Catalog, i, limit int, free func(int) bool) int {
	for w := min(3, limit-i); w >= 1; w-- {
		ok := true
		for k := i; k < i+w; k++ {
			if !free(k) || isLiteral(p.tokens[k]) || isQualified(p.tokens[k]) {
				ok = false
				break
			}
		}
		if ok && cat.IsColumnTerm(p.window(i, i+w)) {
			return i + w
		}
	}
	return -1
}

func (p *parsed) isFree(i int) bool { return i >= 0 && i < len(p.tokens) && !p.used[i] }

// contentWord reports a free word that may name a column nobody
// declared: not a stop word, vocabulary, literal or too short.
func (p *parsed) contentWord(i int) bool {
	if !p.isFree(i) {
		return false
	}
	t := p.tokens[i]
	return len(t) >= 2 && !stopWords[t] && !isVocabulary(t) && !isLiteral(t) && !isQualified(t) && !keyMarker[t] && !strongTarget[t] && !weakTarget[t]
}

func (p *parsed) newRef(kind slotKind, from, to int) colRef {
	r := colRef{kind: kind, pos: from, end: to, term: p.window(from, to)}
	if to-from == 1 && isQualified(p.tokens[from]) {
		r.dataset, r.term, _ = strings.Cut(p.tokens[from], ".")
	}
	return r
}

// scanFilters reads row filters: comparisons typed with an operator
// anywhere, and comparisons in words after a filter marker. It runs first
// so that a value ("SP", a date) is never read as anything else.
func (p *parsed) scanFilters(cat *catalog.Catalog) {
	for i, t := range p.tokens {
		op, ok := operatorTokens[t]
		if !ok || p.used[i] {
			continue
		}
		p.used[i] = true
		from := p.columnBefore(cat, i)
		switch {
		case from < 0:
			p.problems = append(p.problems, fmt.Sprintf("the comparison %q has no column before it; write e.g. \"where uf = SP\"", p.raw[i]))
		case i+1 >= len(p.tokens) || !p.isFree(i+1) || isOperator(p.tokens[i+1]):
			p.problems = append(p.problems, fmt.Sprintf("the comparison \"%s %s\" has no value after it; write e.g. \"%s %s 1000\" or quote text: \"%s %s 'SP'\"", p.window(from, i), p.raw[i], p.window(from, i), p.raw[i], p.window(from, i), p.raw[i]))
			p.consume(from, i)
		default:
			p.addFilter(from, i, op, i+1, i+1)
		}
	}
	for i := 0; i < len(p.tokens); i++ {
		t := p.tokens[i]
		if !p.isFree(i) {
			continue
		}
		strong := strongFilter[t] || t == "que" && i > 0 && p.tokens[i-1] == "em"
		if strong || weakFilter[t] {
			i = p.wordFilters(cat, i, strong)
		}
	}
}

// columnBefore returns where the column compared at operator i starts:
// the longest catalog column term ending before it, a qualified column, or
// one unknown word (resolved, or refused, with the datasets in play).
func (p *parsed) columnBefore(cat *catalog.Catalog, i int) int {
	for w := min(3, i); w >= 1; w-- {
		if end := p.columnWindow(cat, i-w, i, p.isFree); end == i {
			return i - w
		}
	}
	if i > 0 && p.isFree(i-1) && (isQualified(p.tokens[i-1]) || p.contentWord(i-1)) {
		return i - 1
	}
	return -1
}

func (p *parsed) addFilter(from, to int, op string, value, end int) {
	r := p.newRef(slotFilter, from, to)
	r.op, r.value = op, p.raw[value]
	p.consume(from, end+1)
	p.cols = append(p.cols, r)
}

// wordOperatorAt returns the operator spelt by the free words at i and
// how many words it takes; "é" (folded to "e") is equality.
func (p *parsed) wordOperatorAt(i int) (string, int) {
	if p.isFree(i) && p.tokens[i] == "e" && strings.EqualFold(p.raw[i], "é") {
		return "=", 1
	}
	for _, w := range wordOperators {
		if p.phraseAt(i, w.words...) {
			return w.op, len(w.words)
		}
	}
	return "", 0
}

// filterValue reports a token that can be compared with: a literal, or a
// free word that means nothing else ("SP", "varejo").
func (p *parsed) filterValue(cat *catalog.Catalog, i int) bool {
	if !p.isFree(i) || isOperator(p.tokens[i]) {
		return false
	}
	t := p.tokens[i]
	if isLiteral(t) {
		return true
	}
	return !isVocabulary(t) && !stopWords[t] && !keyMarker[t] && !isQualified(t) && !cat.IsColumnTerm(t) && len(cat.Exact(t)) == 0
}

// wordFilters reads "where uf is SP and segmento is varejo", "with
// valor_total above 1000", "for uf SP" from marker i; it returns the
// last token it read.
func (p *parsed) wordFilters(cat *catalog.Catalog, i int, strong bool) int {
	j := i + 1
	for {
		for p.isFree(j) && articles[p.tokens[j]] {
			j++
		}
		if !p.isFree(j) {
			return i
		}
		end := p.columnWindow(cat, j, len(p.tokens), p.isFree)
		if end >= 0 && len(cat.Exact(p.window(j, end))) > 0 {
			return i // "with clientes": a dataset, not a column
		}
		switch {
		case end >= 0:
		case isQualified(p.tokens[j]):
			end = j + 1
		case strong && p.contentWord(j):
			end = j + 1
		default:
			return i
		}
		op, n := p.wordOperatorAt(end)
		v := end + n
		if op == "" {
			op = "="
		}
		if !p.filterValue(cat, v) {
			if strong {
				p.problems = append(p.problems, fmt.Sprintf("the filter on %q has no value; write e.g. \"where %s = SP\" or \"where %s > 1000\"", p.window(j, end), p.window(j, end), p.window(j, end)))
				p.consume(i, end)
			}
			return i
		}
		p.used[i] = true
		p.addFilter(j, end, op, v, v)
		// "... and segmento is varejo": another filter, same marker.
		if k := v + 1; p.isFree(k) && conjunctions[p.tokens[k]] {
			if next := p.columnWindow(cat, k+1, len(p.tokens), p.isFree); next >= 0 || p.isFree(k+1) && isQualified(p.tokens[k+1]) {
				i, j, strong = k, k+1, false
				continue
			}
		}
		return v
	}
}

// slotOpener reports a word that may open a slot: a free word, or a
// grouping marker inside an alias that names columns.
func (p *parsed) slotOpener(i int) bool {
	if p.isFree(i) {
		return true
	}
	// A marker inside an alias that names columns: "revenue by state".
	k := p.mentionAt(i)
	return k >= 0 && p.namesColumns(p.mentions[k])
}

// scanSlots finds the measure, group and projection slots and reads
// their columns.
func (p *parsed) scanSlots(cat *catalog.Catalog) {
	for i, t := range p.tokens {
		if !p.isFree(i) {
			continue
		}
		_, measure := measureWords[t]
		op, _ := exactOp(t)
		if measure || op == signature.OpAggregate || readWords[t] || !p.aggregate && p.typoMeasure(i) != "" {
			p.aggregate = true
		}
		if !p.aggregate && len(t) >= 4 && !isVocabulary(t) && !isLiteral(t) && !isQualified(t) {
			if typo, ok := typoOp(t); ok && typo == signature.OpAggregate {
				p.aggregate = true // "agregr vendas diarias por uf"
			}
		}
		for _, ph := range countPhrases {
			if p.phraseAt(i, ph[0], ph[1]) {
				p.aggregate = true
			}
		}
	}
	for i := 0; i < len(p.tokens); i++ {
		t := p.tokens[i]
		if !p.slotOpener(i) {
			continue
		}
		fn, isMeasure := measureWords[t]
		op, _ := exactOp(t)
		switch {
		case p.isFree(i) && p.countPhrase(i):
			p.addOp(i, signature.OpAggregate)
			p.used[i+1] = true
			p.measureSlot(cat, signature.FuncCount, false, i, i+2)
		case isMeasure && p.isFree(i):
			p.measureSlot(cat, fn, false, i, i+1)
		case p.typoMeasure(i) != "":
			p.measureSlot(cat, p.typoMeasure(i), false, i, i+1)
		case op == signature.OpAggregate && p.isFree(i) && !strings.HasSuffix(t, "ing"):
			p.measureSlot(cat, "", true, i, i+1)
		case groupMarkers[t] && p.aggregate:
			p.readSlot(cat, slotGroup, colRef{}, i+1)
		case readWords[t] && p.isFree(i):
			p.readSlot(cat, slotProject, colRef{}, i+1)
		case (t == "columns" || t == "colunas" || t == "fields" || t == "campos") && p.isFree(i):
			p.used[i] = true
			p.readSlot(cat, slotProject, colRef{}, i+1)
		}
	}
}

// typoMeasure returns the function a misspelt measure word names ("totla"
// → sum), or "": words of four letters or more that mean nothing else,
// the closest function word, ties to the alphabetically first.
func (p *parsed) typoMeasure(i int) string {
	t := p.tokens[i]
	if !p.isFree(i) || len(t) < 4 || isVocabulary(t) || isLiteral(t) || isQualified(t) {
		return ""
	}
	best, fn := -1, ""
	for _, w := range measureList {
		if d, ok := catalog.WithinTypo(t, w); ok && (best < 0 || d < best) {
			best, fn = d, measureWords[w]
		}
	}
	return fn
}

func (p *parsed) countPhrase(i int) bool {
	for _, ph := range countPhrases {
		if p.phraseAt(i, ph[0], ph[1]) {
			return true
		}
	}
	return false
}

// measureSlot reads the columns of a function at i whose words end at
// next; a count with no column counts rows.
func (p *parsed) measureSlot(cat *catalog.Catalog, fn string, defaulted bool, i, next int) {
	distinct := func(k int) bool {
		if p.isFree(k) && distinctWords[p.tokens[k]] {
			p.used[k] = true
			return true
		}
		return false
	}
	if fn == signature.FuncCount {
		switch {
		case distinct(i - 1):
			fn = signature.FuncCountDistinct
		case distinct(next):
			fn, next = signature.FuncCountDistinct, next+1
		case p.isFree(next) && (p.tokens[next] == "of" || p.tokens[next] == "de") && distinct(next+1):
			fn, next = signature.FuncCountDistinct, next+2
		}
	}
	before := len(p.cols)
	p.readSlot(cat, slotMeasure, colRef{fn: fn, defaulted: defaulted}, next)
	// "contar clientes distintos": the distinct word after the column.
	if fn == signature.FuncCount && len(p.cols) > before {
		last := p.cols[len(p.cols)-1]
		if distinct(last.end) {
			for k := before; k < len(p.cols); k++ {
				p.cols[k].fn = signature.FuncCountDistinct
			}
		}
	}
	if fn == signature.FuncCount && len(p.cols) == before {
		p.countRows = true
	}
}

// readSlot reads a list of columns from i: "uf", "uf and segmento", "uf,
// segmento e valor_total". Each element is a qualified column, a column
// term of the catalog, a word of an alias that names columns, a whole
// dataset mention (settled by settleSlots), or an unknown content word
// (a column nobody declared, refused in finish).
func (p *parsed) readSlot(cat *catalog.Catalog, kind slotKind, proto colRef, i int) {
	first := true
	for {
		for p.isFree(i) && slotSkip[p.tokens[i]] {
			i++
		}
		if i >= len(p.tokens) {
			return
		}
		// Not a column: a dataset named by an alias's words ("sum daily
		// sales"), a stop word, a verb, a literal.
		end, ref, ok := p.slotElement(cat, kind, i, first)
		if !ok {
			return
		}
		ref.kind, ref.fn, ref.defaulted = kind, proto.fn, proto.defaulted
		if !ref.pending && !ref.single && !ref.inMention && !ref.absorbs {
			p.consume(ref.pos, ref.end)
		}
		p.cols = append(p.cols, ref)
		first = false
		// Continue the list past "and"/"e" or a comma, but only onto
		// another column: "by uf and store" keeps the verb.
		k := end
		if p.isFree(k) && conjunctions[p.tokens[k]] {
			k++
		} else if k >= len(p.tokens) || !p.comma[k] {
			return
		}
		for p.isFree(k) && articles[p.tokens[k]] {
			k++
		}
		if k >= len(p.tokens) {
			return
		}
		if next := p.columnWindow(cat, k, len(p.tokens), p.isFree); next < 0 && !(p.isFree(k) && isQualified(p.tokens[k])) && !p.contentWord(k) && !p.innerColumn(cat, k) {
			return
		}
		if conjunctions[p.tokens[end]] && p.isFree(end) {
			p.used[end] = true
		}
		i = k
	}
}

// innerColumn reports a word of a multi-word alias that is a column term.
func (p *parsed) innerColumn(cat *catalog.Catalog, i int) bool {
	k := p.mentionAt(i)
	if k < 0 || !p.namesColumns(p.mentions[k]) {
		return false
	}
	return p.columnWindow(cat, i, p.mentions[k].end, func(int) bool { return true }) > 0
}

// slotElement reads one element of a slot at i: its end, the reference,
// and false when the words there are no column (a dataset named by an
// alias's words, a stop word, a verb, a literal). first lets a group
// slot take a vocabulary word ("by store", "by release": a key, never a
// verb, docs/adr/0014).
func (p *parsed) slotElement(cat *catalog.Catalog, kind slotKind, i int, first bool) (int, colRef, bool) {
	if k := p.mentionAt(i); k >= 0 {
		m := p.mentions[k]
		switch {
		case m.qualified:
			return i + 1, p.newRef(kind, i, i+1), true
		case p.namesColumns(m):
			if end := p.columnWindow(cat, i, m.end, func(int) bool { return true }); end > 0 {
				r := p.newRef(kind, i, end)
				r.inMention = true
				return end, r, true
			}
			return m.end, colRef{}, false
		case m.multiWordAlias():
			return m.end, colRef{}, false
		case kind == slotFilter:
			return i, colRef{}, false
		}
		// "invoice number": a column alias longer than the dataset alias
		// it starts with; the longest reading wins, as for datasets.
		if end := p.columnWindow(cat, i, len(p.tokens), func(k int) bool { return k == i || p.isFree(k) }); end > m.end {
			r := p.newRef(kind, i, end)
			r.absorbs = true
			return end, r, true
		}
		r := p.newRef(kind, m.pos, m.end)
		r.single = true
		return m.end, r, true
	}
	if !p.isFree(i) {
		return i, colRef{}, false
	}
	t := p.tokens[i]
	if isQualified(t) {
		return i + 1, p.newRef(kind, i, i+1), true
	}
	if end := p.columnWindow(cat, i, len(p.tokens), p.isFree); end > 0 {
		return end, p.newRef(kind, i, end), true
	}
	switch {
	case p.contentWord(i):
		r := p.newRef(kind, i, i+1)
		r.pending = kind == slotMeasure || kind == slotProject
		return i + 1, r, true
	case kind == slotGroup && first && isVocabulary(t) && !stopWords[t] && !strings.HasSuffix(t, "ing") && !isLiteral(t):
		return i + 1, p.newRef(kind, i, i+1), true
	}
	return i, colRef{}, false
}

// settleSlots decides, once every dataset mention is known, what the
// uncertain slot words are: an unknown word a typo mention took names
// that dataset ("count nfee"); a whole mention in a group or filter slot
// is a column ("by clientes": cliente_id), and in a measure or projection
// slot it is a column only when another dataset named has that column by
// name or alias ("sum documentos from gold_faturamento_uf"), else the
// dataset ("count invoices" counts rows of nfe).
func (p *parsed) settleSlots(cat *catalog.Catalog) {
	inPlay := map[string]bool{}
	for _, m := range p.mentions {
		if !slicesContainsRef(p.cols, m.pos) {
			inPlay[m.matches[0].Dataset] = true
		}
	}
	var datasets []catalog.Dataset
	for _, ds := range cat.Datasets { // catalog order: deterministic
		if inPlay[ds.Name] {
			datasets = append(datasets, ds)
		}
	}
	drop := map[int]bool{} // mention positions that became columns
	kept := p.cols[:0]
	for _, r := range p.cols {
		switch {
		case r.pending && p.used[r.pos]:
			// A typo mention took the word: it names the dataset.
			if r.fn == signature.FuncCount {
				p.countRows = true
			}
			continue
		case r.pending:
			r.pending = false
			p.consume(r.pos, r.end)
		case r.absorbs:
			drop[r.pos] = true
			p.consume(r.pos, r.end)
		case r.single:
			k := p.mentionAt(r.pos)
			m := p.mentions[k]
			// A dataset cannot be a key, a filter or counted distinct.
			column := r.kind == slotGroup || r.kind == slotFilter || r.fn == signature.FuncCountDistinct
			if !column && m.kind() != catalog.MatchExact {
				ms := catalog.MatchColumns(datasets, r.term)
				column = len(ms) > 0 && (ms[0].Kind == catalog.MatchExact || ms[0].Kind == catalog.MatchAlias)
			}
			if !column {
				if r.fn == signature.FuncCount {
					p.countRows = true
				}
				continue
			}
			r.single = false
			drop[m.pos] = true
		}
		kept = append(kept, r)
	}
	p.cols = kept
	if len(drop) > 0 {
		ms := p.mentions[:0]
		for _, m := range p.mentions {
			if !drop[m.pos] {
				ms = append(ms, m)
			}
		}
		p.mentions = ms
	}
}

func slicesContainsRef(cols []colRef, pos int) bool {
	for _, r := range cols {
		if r.single && r.pos == pos {
			return true
		}
	}
	return false
}
