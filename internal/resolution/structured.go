package resolution

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// intentOps maps the prefix of a structured signature's intent label to
// the operation it implies, for signatures (like the whitepaper's 5.2
// example) that give an intent but no operations.
var intentOps = []struct{ prefix, op string }{
	{"reconcil", signature.OpJoin},
	{"join", signature.OpJoin},
	{"enrich", signature.OpEnrich},
	{"aggregat", signature.OpAggregate},
	{"dedup", signature.OpDedupe},
	{"anonymi", signature.OpAnonymize},
	{"merge", signature.OpMerge},
	{"ingest", signature.OpIngest},
	{"publish", signature.OpPublish},
}

// ResolveStructured completes a signature submitted as structure rather
// than text. Datasets are named by catalog name only (no aliases, no typo
// tolerance: a contract is not a conversation); the catalog fills layer,
// size, classification, PII, partition key, merge key and source_type. The
// user's constraints are kept and only ever strengthened.
func ResolveStructured(sig signature.Signature, cat *catalog.Catalog, env registry.EnvironmentState) SemanticResolution {
	var unknown []string
	d := draft{base: sig, environment: env, mergeKey: sig.Constraints.MergeKey, temporal: sig.Constraints.TemporalFilter}
	d.ev.structured = true
	d.base.Constraints.TemporalFilter = nil // finish re-derives it with its column
	d.base.Constraints.MergeKey = ""
	for _, ds := range sig.Datasets {
		if _, ok := cat.Get(ds.Name); !ok {
			unknown = append(unknown, fmt.Sprintf("%q (closest: %s)", ds.Name, strings.Join(cat.Closest(ds.Name, 3), ", ")))
			continue
		}
		switch ds.Role {
		case "", signature.RoleSource:
			d.sources = append(d.sources, ds.Name)
		case signature.RoleTarget:
			d.targets = append(d.targets, ds.Name)
		default:
			return unresolved(fmt.Sprintf("dataset %s has role %q; use source or target", ds.Name, ds.Role))
		}
	}
	if len(unknown) > 0 {
		return unresolved("datasets not in the catalog: " + strings.Join(unknown, "; ") + "; a structured signature names datasets by their catalog name")
	}
	if len(d.sources)+len(d.targets) == 0 {
		return unresolved("the signature names no datasets; list them under datasets: with their catalog names")
	}
	d.sources, d.targets = uniq(d.sources), uniq(d.targets)

	d.ops = slices.Clone(sig.Operations)
	for _, op := range d.ops {
		if signature.OpRank(op) < 0 {
			return unresolved(fmt.Sprintf("operation %q is not in the vocabulary; use ingest, join, enrich, anonymize, aggregate, dedupe, merge or publish", op))
		}
	}
	if len(d.ops) == 0 {
		for _, io := range intentOps {
			if strings.HasPrefix(sig.Intent, io.prefix) {
				d.ops, d.ev.inferredOps = []string{io.op}, true
				break
			}
		}
	}
	if len(d.ops) == 0 {
		return unresolved(fmt.Sprintf("intent %q names no operation and operations: is empty; list the operations (ingest, join, enrich, anonymize, aggregate, dedupe, merge, publish)", sig.Intent))
	}

	dest, err := destinationOf(sig.TargetLayer)
	if err != "" {
		return unresolved(err)
	}
	d.dest = dest
	if r := settleDestination(&d, cat, false); r != "" {
		return unresolved(r)
	}
	res := finish(d, cat)
	if res.Resolved {
		// Keep what the submitter declared on top of what finish derived.
		c := &res.Signature.Constraints
		u := sig.Constraints
		c.NoPIIRaw = c.NoPIIRaw || u.NoPIIRaw
		c.EnforceTypes = c.EnforceTypes || u.EnforceTypes
		c.MergeKeyRequired = c.MergeKeyRequired || u.MergeKeyRequired
		c.PartitionBy = uniq(append(c.PartitionBy, u.PartitionBy...))
		c.Anonymize = uniq(append(c.Anonymize, u.Anonymize...))
		c.PublishBlocked = uniq(append(c.PublishBlocked, u.PublishBlocked...))
	}
	return res
}

// destinationOf reads the layer a target_layer writes to: "" for a lone
// layer (a read) or an empty field.
func destinationOf(tl string) (string, string) {
	if tl == "" {
		return "", ""
	}
	from, to, write := strings.Cut(tl, "_to_")
	valid := func(l string) bool { _, ok := layerRank[l]; return ok && l != SourceLayerRaw }
	switch {
	case !write && valid(tl):
		return "", ""
	case write && (valid(from) || from == SourceLayerRaw) && valid(to):
		return to, ""
	}
	return "", fmt.Sprintf("target_layer %q is not a layer; use bronze, silver or gold to read, or <from>_to_<to> such as bronze_to_silver to write", tl)
}

func uniq(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
