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
	if strings.TrimSpace(text) == "" {
		return unresolved("the intent is empty; describe it, e.g. \"reconcile nfe with clientes and persist to silver\"")
	}
	p := scan(text, cat)
	if len(p.problems) > 0 {
		return unresolved(strings.Join(p.problems, "; "))
	}
	if len(p.mentions) == 0 {
		return unresolved(fmt.Sprintf("no catalog dataset found in %q; name one of %s (aliases such as \"notas fiscais\" or \"customers\" work too)", text, strings.Join(cat.Names(), ", ")))
	}
	if len(p.ops) == 0 && !p.vague {
		return unresolved(fmt.Sprintf("no operation found in %q; say what to do with the data: ingest, join/reconcile, enrich, anonymize, aggregate, dedupe, merge or publish", text))
	}
	if len(p.targetLayers) > 1 {
		return unresolved(fmt.Sprintf("the intent writes to %s at once; submit one intent per target layer", strings.Join(p.targetLayers, " and ")))
	}

	d := draft{ops: slices.Clone(p.ops), temporal: p.temporal, mergeKey: p.mergeKey, environment: env}
	d.ev.typos = p.opTypos
	d.ev.unknown = p.unknown
	if p.vague && !slices.Contains(d.ops, signature.OpJoin) && !slices.Contains(d.ops, signature.OpEnrich) {
		d.ev.vague = true
		d.ops = append(d.ops, signature.OpJoin) // tentative; both readings are listed as competing
	}
	if len(p.targetLayers) == 1 {
		d.dest = p.targetLayers[0]
	}
	writes := p.write || d.dest != "" || slices.ContainsFunc(d.ops, func(op string) bool {
		return op == signature.OpMerge || op == signature.OpIngest || op == signature.OpPublish
	})

	roles(p, &d, cat, writes)
	if r := settleDestination(&d, cat, writes); r != "" {
		return unresolved(r)
	}
	return finish(d, cat)
}

// roles splits mentions into sources and targets from their markers:
// "into X" (or "to X" in a writing intent) is a target, as is the object of
// publish or ingest; every other mention is a source.
func roles(p *parsed, d *draft, cat *catalog.Catalog, writes bool) {
	publish := slices.Contains(d.ops, signature.OpPublish)
	ingest := slices.Contains(d.ops, signature.OpIngest)
	seen := map[string]bool{}
	var described []mention
	for _, m := range p.mentions {
		name := m.matches[0].Dataset
		if seen[name] {
			continue
		}
		seen[name] = true
		switch m.kind() {
		case catalog.MatchAlias:
			d.ev.aliases++
		case catalog.MatchTypo:
			d.ev.typos++
		}
		if len(m.matches) > 1 {
			d.ev.ambiguousAliases++
			alts := make([]string, len(m.matches))
			for i, x := range m.matches {
				alts[i] = x.Dataset
			}
			d.alternates = append(d.alternates, alts)
		}
		ds, _ := cat.Get(name)
		switch {
		case m.marker == markTarget || m.marker == markWeakTarget && writes:
			d.targets = append(d.targets, name)
		case (publish || ingest && ds.Layer == signature.LayerBronze) && m.marker != markSource:
			d.targets = append(d.targets, name)
		case describesResult(p, m, ds, d.ops, cat):
			described = append(described, m)
		default:
			d.sources = append(d.sources, name)
		}
	}
	// "total revenue by state from nfe": the gold alias describes the
	// result of aggregating nfe. It is the target when the text writes to
	// its layer, and otherwise not read at all (docs/adr/0014).
	for _, m := range described {
		d.ev.described++
		d.ev.aliases--
		name := m.matches[0].Dataset
		if ds, _ := cat.Get(name); d.dest == ds.Layer {
			d.targets = append(d.targets, name)
		}
	}
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
