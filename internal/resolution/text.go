package resolution

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// maxAliasTokens bounds the window tried against names and aliases.
const maxAliasTokens = 5

type marker int

const (
	markNone marker = iota
	markSource
	markTarget     // into X
	markWeakTarget // to X / na X: a target only if the text writes
)

// mention is one place the text names a dataset.
type mention struct {
	pos, end int
	matches  []catalog.Match // more than one: a shared alias, ambiguous
	marker   marker
	via      string // the marker word ("into", "to", "na", "from"), "" for none
	// qualified: named by a column "nfe.uf"; inferred: named by no word,
	// the one dataset (or the first candidate) holding the columns asked.
	qualified, inferred bool
}

func (m mention) kind() catalog.MatchKind { return m.matches[0].Kind }

// parsed is what the scanner found in the text, before any interpretation.
type parsed struct {
	tokens       []string
	raw          []string // the tokens as written (filter values keep their case)
	comma        []bool   // a comma came before the token
	joined       string   // the tokens joined by single spaces
	starts       []int    // where each token starts in joined
	used         []bool
	mentions     []mention
	ops          []string
	opTypos      int
	vague        bool
	write        bool
	targetLayers []string
	weakLayers   []string // "na gold" with no write verb: read location or destination (Resolve)
	temporal     *signature.TemporalFilter
	mergeKey     string
	unknown      int
	problems     []string

	// What the operations act on (docs/adr/0130, 0131).
	cols      []colRef
	countRows bool // a count of rows: "count invoices", "how many clientes"
	read      bool // a read verb: show, list, read, mostrar ...
	aggregate bool // the text aggregates or reads, so by/por/per group
	updateAt  []int
	// Execution mode phrases (modes.go).
	mode       string
	timeWindow string
	atomic     bool
}

func scan(text string, cat *catalog.Catalog) *parsed {
	l := lex(text)
	p := &parsed{tokens: l.tokens, raw: l.raw, comma: l.comma}
	p.used = make([]bool, len(p.tokens))
	p.joined = strings.Join(p.tokens, " ")
	p.starts = make([]int, len(p.tokens))
	for i, at := 1, 0; i < len(p.tokens); i++ {
		at += len(p.tokens[i-1]) + 1
		p.starts[i] = at
	}
	p.scanModes()
	p.scanFilters(cat)
	p.scanTemporal()
	p.scanExactMentions(cat)
	p.scanSlots(cat)
	p.scanTypoMentions(cat)
	p.settleSlots(cat)
	p.scanWords()
	p.settleOps()
	p.scanMergeKey(cat)
	p.countUnknown(cat)
	p.orphanValues()
	return p
}

// orphanValues refuses a value with no column: a quoted string nothing
// compared, or a code written in capitals after a preposition ("nfe for
// SP", "notas de SP"). Dropping it would return every state's rows.
func (p *parsed) orphanValues() {
	for i, t := range p.tokens {
		if p.used[i] {
			continue
		}
		code := len(t) >= 2 && len(t) <= 3 && !stopWords[t] && !isVocabulary(t) && strings.ToUpper(p.raw[i]) == p.raw[i] && strings.ToLower(p.raw[i]) != p.raw[i]
		prev := ""
		if i > 0 {
			prev = p.tokens[i-1]
		}
		if isQuoted(t) || code && (weakFilter[prev] || strongFilter[prev] || sourceMarkers[prev] || weakTarget[prev]) {
			p.problems = append(p.problems, fmt.Sprintf("%q looks like a value to filter on, but no column is named; write e.g. \"where uf = %s\"", p.raw[i], p.raw[i]))
		}
	}
}

// settleOps gives a text with no operation verb the operation its words
// ask for: a grouping aggregates ("nfe by uf"), a read verb reads ("show
// me nfe"). A read verb beside another operation only asks for the result.
func (p *parsed) settleOps() {
	if len(p.ops) > 0 || p.vague {
		return
	}
	if slices.ContainsFunc(p.cols, func(r colRef) bool { return r.kind == slotGroup }) {
		p.ops = []string{signature.OpAggregate}
		return
	}
	// "nfe where uf = SP": a dataset and what to keep of it is a query.
	if p.read || len(p.mentions) > 0 && slices.ContainsFunc(p.cols, func(r colRef) bool { return r.kind == slotFilter || r.kind == slotProject }) {
		p.ops = []string{signature.OpRead}
	}
}

// window returns tokens [from,to) joined by single spaces, without
// building a new string.
func (p *parsed) window(from, to int) string {
	return p.joined[p.starts[from] : p.starts[to-1]+len(p.tokens[to-1])]
}

func (p *parsed) consume(from, to int) {
	for i := from; i < to; i++ {
		p.used[i] = true
	}
}

// scanExactMentions matches the longest window naming a dataset exactly
// or by alias, and the dataset of every qualified column ("nfe.uf").
// scanTypoMentions then tries, on words that mean nothing else, windows
// within typo tolerance: exact evidence always wins over a typo, and a
// word read as a column is never taken for a misspelt dataset.
func (p *parsed) scanExactMentions(cat *catalog.Catalog) {
	for i, t := range p.tokens {
		if !isQualified(t) {
			continue
		}
		ds, _, _ := strings.Cut(t, ".")
		if ms := cat.Exact(ds); len(ms) == 1 && ms[0].Kind == catalog.MatchExact {
			p.used[i] = true
			m := mention{pos: i, end: i + 1, matches: ms, qualified: true}
			p.mentions = append(p.mentions, m)
			continue
		}
		p.problems = append(p.problems, fmt.Sprintf("%q: %s is not a dataset of the catalog; write dataset.column with one of %s", p.raw[i], ds, strings.Join(cat.Names(), ", ")))
		p.used[i] = true
	}
	for i := 0; i < len(p.tokens); i++ {
		for w := min(maxAliasTokens, len(p.tokens)-i); w >= 1; w-- {
			if !p.free(i, i+w, false) {
				continue
			}
			if ms := cat.Exact(p.window(i, i+w)); len(ms) > 0 {
				p.addMention(i, i+w, ms)
				i += w - 1
				break
			}
		}
	}
	p.sortMentions()
}

func (p *parsed) sortMentions() {
	slices.SortFunc(p.mentions, func(a, b mention) int { return a.pos - b.pos })
}

func (p *parsed) scanTypoMentions(cat *catalog.Catalog) {
	for i := 0; i < len(p.tokens); i++ {
		for w := min(3, len(p.tokens)-i); w >= 1; w-- {
			if !p.free(i, i+w, true) {
				continue
			}
			if ms := cat.Typo(p.window(i, i+w)); len(ms) > 0 {
				p.addMention(i, i+w, ms)
				i += w - 1
				break
			}
		}
	}
	p.sortMentions()
}

// free reports whether tokens [from,to) are unclaimed and not dates; for a
// typo window they must also carry no other meaning.
func (p *parsed) free(from, to int, typo bool) bool {
	for i := from; i < to; i++ {
		t := p.tokens[i]
		if p.used[i] || isLiteral(t) || isQualified(t) {
			return false
		}
		if typo && (isVocabulary(t) || len(t) < 3) {
			return false
		}
	}
	return true
}

func (p *parsed) addMention(from, to int, ms []catalog.Match) {
	p.consume(from, to)
	m := mention{pos: from, end: to, matches: ms}
	if j := p.before(from); j >= 0 {
		m.via = p.tokens[j]
		switch t := p.tokens[j]; {
		case sourceMarkers[t]:
			m.marker = markSource
		case strongTarget[t]:
			m.marker = markTarget
		case weakTarget[t]:
			m.marker = markWeakTarget
		default:
			m.via = ""
		}
	}
	p.mentions = append(p.mentions, m)
}

// before returns the index of the word before position i, skipping fillers
// ("into the silver layer"), or -1.
func (p *parsed) before(i int) int {
	for j := i - 1; j >= 0; j-- {
		if !fillers[p.tokens[j]] {
			return j
		}
	}
	return -1
}

// scanWords reads operations, write verbs and target layers.
func (p *parsed) scanWords() {
	var layerAt []int
	for i, t := range p.tokens {
		if p.used[i] {
			continue
		}
		// "merge key nfe_id" / "chave de merge" name a key, not an operation.
		if t == "merge" && (i+1 < len(p.tokens) && p.tokens[i+1] == "key" || i > 0 && p.tokens[i-1] == "de") {
			p.used[i] = true
			continue
		}
		_, isOp := exactOp(t)
		_, isMeasure := measureWords[t]
		if (isOp || isMeasure || writeWords[t] || vagueWords[t] || readWords[t]) && p.groupingKey(i) {
			p.used[i] = true // "by store", "por total": a key, not an action
			continue
		}
		if updateWords[t] {
			p.updateAt = append(p.updateAt, i)
		}
		if op, ok := exactOp(t); ok {
			p.addOp(i, op)
			continue
		}
		if isMeasure {
			p.addOp(i, signature.OpAggregate) // avg, min, max, média, quantos
			continue
		}
		switch {
		case readWords[t]:
			p.read, p.used[i] = true, true
		case vagueWords[t]:
			p.vague, p.used[i] = true, true
		case writeWords[t]:
			p.write, p.used[i] = true, true
		case layerWords[t] != "":
			p.used[i] = true
			layerAt = append(layerAt, i)
		}
	}
	// "into gold", "to silver"; "in silver"/"na silver" only when the text
	// writes, since "aggregate documents in silver" is a read.
	for _, i := range layerAt {
		j := p.before(i)
		if j < 0 {
			continue
		}
		switch m := p.tokens[j]; {
		case strongTarget[m] || m == "to" || weakTarget[m] && p.write:
			p.addTargetLayer(layerWords[p.tokens[i]])
		case weakTarget[m] && !slices.Contains(p.weakLayers, layerWords[p.tokens[i]]):
			p.weakLayers = append(p.weakLayers, layerWords[p.tokens[i]])
		}
	}
	// Misspelt verbs last, on words nothing else claimed.
	for i, t := range p.tokens {
		if p.used[i] || len(t) < 4 || stopWords[t] || isNumber(t) || p.groupingKey(i) {
			continue
		}
		if op, ok := typoOp(t); ok {
			p.addOp(i, op)
			p.opTypos++
		}
	}
}

// groupingKey reports a word in grouping position: after by/por/per/each
// (past an article), as in "by store", "for each store" or "pela loja". It
// names what to group by and is never read as a verb; an English gerund
// ("dedupe nfe by merging into silver_documentos") stays a verb.
func (p *parsed) groupingKey(i int) bool {
	if strings.HasSuffix(p.tokens[i], "ing") {
		return false
	}
	j := i - 1
	for j >= 0 && articles[p.tokens[j]] {
		j--
	}
	return j >= 0 && groupMarkers[p.tokens[j]]
}

func (p *parsed) addOp(i int, op string) {
	p.used[i] = true
	if !slices.Contains(p.ops, op) {
		p.ops = append(p.ops, op)
	}
}

func (p *parsed) addTargetLayer(l string) {
	if !slices.Contains(p.targetLayers, l) {
		p.targetLayers = append(p.targetLayers, l)
	}
}

// scanTemporal reads the date bounds of docs/adr/0015: since/desde/from/a
// partir de D, until/até D (inclusive), before D, between D1 and D2
// (inclusive), last/últimos N days|weeks. A date no phrase explains is a
// problem, not a guess.
func (p *parsed) scanTemporal() {
	tf := &signature.TemporalFilter{}
	found := false
	date := func(i int) (time.Time, bool) {
		if i < 0 || i >= len(p.tokens) || !isISODate(p.tokens[i]) || p.used[i] {
			return time.Time{}, false
		}
		d, err := time.Parse(time.DateOnly, p.tokens[i])
		if err != nil {
			p.problems = append(p.problems, fmt.Sprintf("%q is not a calendar date; write dates as YYYY-MM-DD", p.tokens[i]))
			return time.Time{}, false
		}
		return d, true
	}
	after := func(d time.Time) string { return d.AddDate(0, 0, 1).Format(time.DateOnly) }
	for i, t := range p.tokens {
		switch {
		case isSlashDate(t):
			p.problems = append(p.problems, fmt.Sprintf("date %q is ambiguous; write it as YYYY-MM-DD", t))
			p.used[i] = true
		case t == "between" || t == "entre":
			d1, ok1 := date(i + 1)
			d2, ok2 := date(i + 3)
			if ok1 && ok2 && (p.tokens[i+2] == "and" || p.tokens[i+2] == "e") {
				tf.From, tf.To, found = d1.Format(time.DateOnly), after(d2), true
				p.consume(i, i+4)
			}
		case t == "since" || t == "desde" || t == "from" || t == "after" || t == "apos" || t == "partir":
			j := i + 1
			if t == "partir" && j < len(p.tokens) && p.tokens[j] == "de" {
				j++
			}
			if d, ok := date(j); ok {
				tf.From, found = d.Format(time.DateOnly), true
				p.consume(i, j+1)
			}
		case t == "until" || t == "through" || t == "ate" || t == "to":
			if d, ok := date(i + 1); ok {
				tf.To, found = after(d), true
				p.consume(i, i+2)
			}
		case t == "before" || t == "antes":
			j := i + 1
			if j < len(p.tokens) && p.tokens[j] == "de" {
				j++
			}
			if d, ok := date(j); ok {
				tf.To, found = d.Format(time.DateOnly), true
				p.consume(i, j+1)
			}
		case t == "last" || t == "past" || strings.HasPrefix(t, "ultim"):
			if n, unit, ok := p.lastN(i); ok {
				tf.LastDays, found = n*unit, true
			}
		case (t == "month" || t == "months" || t == "mes" || t == "meses") && (i > 0 && (p.tokens[i-1] == "last" || p.tokens[i-1] == "past" || strings.HasPrefix(p.tokens[i-1], "ultim")) || i+1 < len(p.tokens) && p.tokens[i+1] == "passado"):
			// Calendar months depend on a clock and a calendar; ask for dates.
			p.problems = append(p.problems, "\"last month\" depends on today's date; write the dates, e.g. \"between 2026-02-01 and 2026-02-28\", or \"last 30 days\"")
		case t == "semana" && i+1 < len(p.tokens) && p.tokens[i+1] == "passada":
			tf.LastDays, found = 7, true
			p.consume(i, i+2)
		case dayMarkers[t] && !p.used[i]:
			// "for 2026-01-02", "no dia 2026-01-02": that one day; "de
			// 2026-01-01 a 2026-01-31": the days between, inclusive.
			d, ok := date(i + 1)
			if !ok {
				continue
			}
			if d2, ok2 := date(i + 3); ok2 && rangeTo[p.tokens[i+2]] {
				tf.From, tf.To, found = d.Format(time.DateOnly), after(d2), true
				p.consume(i, i+4)
				continue
			}
			tf.From, tf.To, found = d.Format(time.DateOnly), after(d), true
			p.consume(i, i+2)
		}
	}
	for i, t := range p.tokens {
		if isISODate(t) && !p.used[i] {
			p.problems = append(p.problems, fmt.Sprintf("date %s has no since, until or between around it; write e.g. \"since %s\" or \"between %s and <date>\"", t, t, t))
			p.used[i] = true
		}
	}
	if tf.From != "" && tf.To != "" && tf.From >= tf.To {
		p.problems = append(p.problems, fmt.Sprintf("the date range [%s, %s) is empty; put the earlier date first", tf.From, tf.To))
	}
	if found {
		p.temporal = tf
	}
}

// dayMarkers put a date alone: "for 2026-01-02" is that day's window.
var (
	dayMarkers = set("for", "on", "em", "no", "dia", "in", "of", "de", "do", "da", "at", "para")
	rangeTo    = set("to", "ate", "a", "until", "through")
)

// lastN reads "last 7 days", "últimos 2 semanas", "last week".
func (p *parsed) lastN(i int) (n, unit int, ok bool) {
	days := func(t string) int {
		switch t {
		case "day", "days", "dia", "dias":
			return 1
		case "week", "weeks", "semana", "semanas":
			return 7
		}
		return 0
	}
	if i+1 < len(p.tokens) {
		if u := days(p.tokens[i+1]); u == 7 {
			p.consume(i, i+2)
			return 1, 7, true
		}
	}
	if i+2 < len(p.tokens) && isNumber(p.tokens[i+1]) {
		if u := days(p.tokens[i+2]); u > 0 {
			n, err := strconv.Atoi(p.tokens[i+1])
			if err == nil && n > 0 {
				p.consume(i, i+3)
				return n, u, true
			}
		}
	}
	return 0, 0, false
}

// scanMergeKey reads a key the user names: "by nfe_id", "chave nfe_id",
// "merge key nfe_id". "by uf" in an aggregation is a grouping, not a key.
func (p *parsed) scanMergeKey(cat *catalog.Catalog) {
	aggregate := slices.Contains(p.ops, signature.OpAggregate)
	for i, t := range p.tokens {
		if !keyMarker[t] || aggregate && (t == "by" || t == "por") {
			continue
		}
		for j := i + 1; j < len(p.tokens) && j <= i+3; j++ {
			c := p.tokens[j]
			if c == "merge" || c == "de" || fillers[c] {
				continue
			}
			if p.isColumn(cat, c) {
				p.mergeKey = c
				p.used[j] = true
				return
			}
			break
		}
	}
}

// isColumn reports whether any catalog dataset has the column.
func (p *parsed) isColumn(cat *catalog.Catalog, col string) bool {
	for _, d := range cat.Datasets {
		if d.HasColumn(col) {
			return true
		}
	}
	return false
}

// countUnknown counts content words nothing explained; they lower the
// confidence a little (docs/adr/0012).
func (p *parsed) countUnknown(cat *catalog.Catalog) {
	for i, t := range p.tokens {
		if p.used[i] || stopWords[t] || isVocabulary(t) || isNumber(t) || len(t) < 3 || p.isColumn(cat, t) {
			continue
		}
		p.unknown++
	}
}
