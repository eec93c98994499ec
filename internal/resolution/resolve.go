package resolution

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Resolve normalizes an intent written in English or Portuguese against
// the catalog and the registry snapshot (whitepaper 5.1). It is
// deterministic and never guesses: when the text lacks a dataset or an
// operation, Resolved is false, Reason says what to write instead and
// ConfirmationMode is empty: the intent is blocked, not confirmed. The
// caller fills Signature.ExecutionContext.
func Resolve(text string, cat *catalog.Catalog, env registry.EnvironmentState) SemanticResolution {
	d, stop := textDraft(text, cat, env)
	if stop != nil {
		return *stop
	}
	return finish(d, cat)
}

// textDraft reads the text into the draft of its first reading, or stops
// with the unresolved resolution saying why it cannot.
func textDraft(text string, cat *catalog.Catalog, env registry.EnvironmentState) (draft, *SemanticResolution) {
	stop := func(reason string) (draft, *SemanticResolution) {
		r := unresolved(reason)
		return draft{}, &r
	}
	if strings.TrimSpace(text) == "" {
		return stop("the intent is empty; describe it, e.g. \"reconcile nfe with clientes and persist to silver\"")
	}
	p := scan(text, cat)
	if len(p.problems) > 0 {
		return stop(strings.Join(p.problems, "; "))
	}
	if len(p.mentions) == 0 {
		if reason := p.inferDataset(cat); len(p.mentions) == 0 {
			return stop(fmt.Sprintf("no catalog dataset found in %q; name one of %s (aliases such as \"notas fiscais\" or \"customers\" work too)%s", text, strings.Join(cat.Names(), ", "), reason))
		}
	}
	if len(p.ops) == 0 && !p.vague {
		return stop(fmt.Sprintf("no operation found in %q; say what to do with the data: read (show, list), ingest, join/reconcile, enrich, anonymize, aggregate, dedupe, merge or publish", text))
	}
	if len(p.targetLayers) > 1 {
		return stop(fmt.Sprintf("the intent writes to %s at once; submit one intent per target layer", strings.Join(p.targetLayers, " and ")))
	}

	writes := p.write || len(p.targetLayers) == 1 || slices.ContainsFunc(p.ops, func(op string) bool {
		return op == signature.OpMerge || op == signature.OpIngest || op == signature.OpPublish
	})
	d := interpret(p, cat, env, writes, "")
	// "agregar ... de silver_documentos na gold": a layer after in/na/em that
	// no named dataset lives in is not where the data is, so it is where the
	// result goes. Reading it as a report would drop it silently and turn a
	// write into a read; a write no verb asked for costs confidence instead.
	if d.dest == "" {
		var dests []string
		for _, l := range p.weakLayers {
			if !slices.ContainsFunc(append(slices.Clone(d.sources), d.targets...), func(n string) bool { ds, _ := cat.Get(n); return ds.Layer == l }) {
				dests = append(dests, l)
			}
		}
		if len(dests) > 1 {
			return stop(fmt.Sprintf("the intent writes to %s at once; submit one intent per target layer", strings.Join(dests, " and ")))
		}
		if len(dests) == 1 {
			d = interpret(p, cat, env, true, dests[0])
			d.ev.inferredWrite = !writes
			writes = true
		}
	}
	// "agregar vendas_diarias na gold_faturamento_uf": with one input, a
	// dataset after in/na/em is either read too or where the result goes.
	// Both readings are listed (docs/adr/0012) and the signature carries the
	// write, so the human confirming sees it rather than a silent report.
	readAfterIn := slices.ContainsFunc(p.mentions, func(m mention) bool {
		return m.marker == markWeakTarget && !slices.Contains(d.targets, m.matches[0].Dataset)
	})
	if !writes && !relates(d.ops) && readAfterIn && !slices.Contains(d.ops, signature.OpRead) {
		alt := interpret(p, cat, env, true, "")
		if len(alt.targets) > 0 && settleDestination(&alt, cat, true) == "" && checkOps(alt) == "" {
			get := func(n string) catalog.Dataset { ds, _ := cat.Get(n); return ds }
			read, written := slices.Clone(d.sources), slices.Clone(alt.sources)
			sortBySize(read, get)
			sortBySize(written, get)
			readDraft := d
			alt.readings = []reading{
				{label: label(primaryOp(d.ops), read, "", nil), draft: &readDraft},
				{label: label(primaryOp(alt.ops), written, alt.dest, alt.targets) + "_into_" + strings.Join(alt.targets, "_")},
			}
			alt.ev.inferredWrite = true
			d, writes = alt, true
		}
	}
	if r := settleDestination(&d, cat, writes); r != "" {
		return stop(r)
	}
	return d, nil
}

// inferDataset settles a text that names no dataset but names columns
// ("sum of valor_total by uf last 7 days"): the datasets holding every
// column named, exactly or by alias (and a partition key when a window is
// asked), become one inferred source, the lowest layer first (the data as
// recorded, not a derived copy), then by name; the others compete
// (docs/adr/0131). It returns why none fits, or "".
func (p *parsed) inferDataset(cat *catalog.Catalog) string {
	var terms []string
	for _, r := range p.cols {
		if !r.inMention && r.dataset == "" && !slices.Contains(terms, r.term) {
			terms = append(terms, r.term)
		}
	}
	if len(terms) == 0 {
		return ""
	}
	var cands []string
	for _, n := range cat.DatasetsWithColumns(terms) {
		if ds, _ := cat.Get(n); p.temporal == nil || ds.PartitionKey != "" {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return fmt.Sprintf("; no dataset of the catalog has the columns %s together", strings.Join(terms, ", "))
	}
	slices.SortStableFunc(cands, func(a, b string) int {
		da, _ := cat.Get(a)
		db, _ := cat.Get(b)
		return layerRank[da.Layer] - layerRank[db.Layer]
	})
	ms := make([]catalog.Match, len(cands))
	for i, n := range cands {
		ms[i] = catalog.Match{Dataset: n, Kind: matchInferred}
	}
	p.mentions = append(p.mentions, mention{pos: len(p.tokens), end: len(p.tokens), matches: ms, inferred: true})
	return ""
}

// matchInferred marks a dataset no word named, inferred from its columns.
const matchInferred catalog.MatchKind = "inferred"

// interpret builds the draft of one reading of the text: writes says whether
// it persists, dest the destination layer when the caller settled it.
func interpret(p *parsed, cat *catalog.Catalog, env registry.EnvironmentState, writes bool, dest string) draft {
	d := draft{ops: slices.Clone(p.ops), temporal: p.temporal, mergeKey: p.mergeKey, environment: env,
		cols: slices.Clone(p.cols), countRows: p.countRows, mode: p.mode, timeWindow: p.timeWindow, atomic: p.atomic}
	d.ev.typos = p.opTypos
	d.ev.unknown = p.unknown
	if p.vague && !slices.Contains(d.ops, signature.OpJoin) && !slices.Contains(d.ops, signature.OpEnrich) {
		d.ev.vague = true
		d.ops = append(d.ops, signature.OpJoin) // tentative; both readings are listed as competing
	}
	switch {
	case dest != "":
		d.dest = dest
	case len(p.targetLayers) == 1:
		d.dest = p.targetLayers[0]
	}
	roles(p, &d, cat, writes)
	return d
}

// role is what one mention makes of its dataset.
type role int

const (
	roleSource    role = iota // read: unmarked, or "to/na X" in a text that does not write
	roleFrom                  // read, said explicitly: "from X", "de X"
	roleTarget                // written
	roleDescribed             // a gold alias describing an aggregation's result
)

// roles splits mentions into sources and targets from their markers:
// "into X" (or "to X" in a writing intent) is a target, as is the object of
// publish or ingest; every other mention is a source.
//
// A dataset named more than once ("revenue by state from silver_documentos
// into gold_faturamento_uf": the alias and the name are one dataset) takes
// the strongest role of its mentions: a target mention wins over unmarked
// ones, and only an explicit "from X" keeps it a source as well (an
// in-place rewrite). No mention is dropped because another came first, so a
// named target is never lost and a write never becomes a read.
func roles(p *parsed, d *draft, cat *catalog.Catalog, writes bool) {
	publish := slices.Contains(d.ops, signature.OpPublish)
	ingest := slices.Contains(d.ops, signature.OpIngest)
	// "aggregate X to Y": with one input, "to" can only say where the result
	// goes; with two ("join nfe to clientes") it relates them.
	unary := !relates(d.ops)
	// "ingest nfe" lands nfe in bronze; "ingest nfe into silver_documentos"
	// names where it lands, so nfe stays the source.
	explicitTarget := false
	for _, m := range p.mentions {
		explicitTarget = explicitTarget || m.marker == markTarget
	}
	type named struct {
		best      mention // the strongest evidence: exact, then alias, then typo
		ambiguous *mention
		roles     map[role]bool
	}
	var order []string
	byName := map[string]*named{}
	for _, m := range p.mentions {
		name := m.matches[0].Dataset
		n := byName[name]
		if n == nil {
			n = &named{best: m, roles: map[role]bool{}}
			byName[name] = n
			order = append(order, name)
		}
		if kindRank(m.kind()) < kindRank(n.best.kind()) {
			n.best = m
		}
		if len(m.matches) > 1 && n.ambiguous == nil {
			n.ambiguous = &m
		}
		ds, _ := cat.Get(name)
		switch {
		case m.marker == markTarget || m.marker == markWeakTarget && (writes || unary && m.via == "to"):
			n.roles[roleTarget] = true
		case m.marker != markSource && p.updates(m):
			n.roles[roleTarget] = true // "update silver_documentos and clientes_anon from ..."
		case (publish || ingest && ds.Layer == signature.LayerBronze && !explicitTarget) && m.marker != markSource:
			n.roles[roleTarget] = true
		case m.marker == markSource:
			n.roles[roleFrom] = true
		case describesResult(p, m, ds, d.ops, cat):
			n.roles[roleDescribed] = true
		default:
			n.roles[roleSource] = true
		}
	}
	var described []string
	for _, name := range order {
		n := byName[name]
		switch n.best.kind() {
		case catalog.MatchAlias:
			d.ev.aliases++
		case catalog.MatchTypo:
			d.ev.typos++
		case matchInferred:
			d.ev.inferredDataset = true
			d.ev.datasetChoices = len(n.best.matches)
		}
		if n.ambiguous != nil {
			if !n.ambiguous.inferred {
				d.ev.ambiguousAliases++
			}
			alts := make([]string, len(n.ambiguous.matches))
			for i, x := range n.ambiguous.matches {
				alts[i] = x.Dataset
			}
			d.alternates = append(d.alternates, alts)
		}
		switch r := n.roles; {
		case r[roleTarget]:
			d.targets = append(d.targets, name)
			if r[roleFrom] {
				d.sources = append(d.sources, name)
			}
		case r[roleFrom] || r[roleSource]:
			d.sources = append(d.sources, name)
		default:
			described = append(described, name)
		}
	}
	// "total revenue by state from nfe": the gold alias describes the
	// result of aggregating nfe. It is the target when the text writes to
	// its layer, and otherwise not read at all (docs/adr/0014).
	for _, name := range described {
		d.ev.described++
		d.ev.aliases--
		if ds, _ := cat.Get(name); d.dest == ds.Layer {
			d.targets = append(d.targets, name)
		}
	}
}

// updates reports a mention that is the object of an update verb, alone
// or in a list: "update silver_documentos and clientes_anon", "atualizar
// silver_documentos, clientes_anon".
func (p *parsed) updates(m mention) bool {
	if len(p.updateAt) == 0 || m.inferred || m.qualified {
		return false
	}
	for pos := m.pos; ; {
		j := p.before(pos)
		for j >= 0 && atomicWords[p.tokens[j]] { // "atualizar atomicamente X"
			j = p.before(j)
		}
		if j < 0 {
			return false
		}
		if slices.Contains(p.updateAt, j) {
			return true
		}
		if conjunctions[p.tokens[j]] {
			j--
		} else if !p.comma[pos] {
			return false
		}
		k := slices.IndexFunc(p.mentions, func(o mention) bool { return o.end == j+1 })
		if k < 0 {
			return false
		}
		pos = p.mentions[k].pos
	}
}

// relates reports operations that take two inputs, where "X to Y" relates
// them ("join nfe to clientes") rather than naming a destination.
func relates(ops []string) bool {
	return slices.Contains(ops, signature.OpJoin) || slices.Contains(ops, signature.OpEnrich)
}

func kindRank(k catalog.MatchKind) int {
	switch k {
	case catalog.MatchExact:
		return 0
	case catalog.MatchAlias:
		return 1
	}
	return 2
}

// describesResult: an aggregation whose gold dataset is named by alias,
// while another, lower-layer dataset is explicitly read ("from nfe").
func describesResult(p *parsed, m mention, ds catalog.Dataset, ops []string, cat *catalog.Catalog) bool {
	if !slices.Contains(ops, signature.OpAggregate) || m.kind() != catalog.MatchAlias || ds.Layer != signature.LayerGold || m.marker == markSource || len(m.matches) > 1 {
		return false
	}
	for _, o := range p.mentions {
		other, _ := cat.Get(o.matches[0].Dataset)
		if o.marker == markSource && layerRank[other.Layer] < layerRank[ds.Layer] {
			return true
		}
	}
	return false
}

// settleDestination derives the destination layer from named targets and
// refuses a write with nowhere to go.
func settleDestination(d *draft, cat *catalog.Catalog, writes bool) string {
	for _, t := range d.targets {
		ds, _ := cat.Get(t)
		switch {
		case d.dest == "":
			d.dest = ds.Layer
		case d.dest != ds.Layer:
			return fmt.Sprintf("target %s is a %s dataset but the intent writes to %s; name one destination layer", t, ds.Layer, d.dest)
		}
	}
	if writes && d.dest == "" {
		return "the intent asks to persist but says not where; add the layer or dataset, e.g. \"persist to silver\" or \"into silver_documentos\""
	}
	return ""
}
