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
	{"read", signature.OpRead},
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
			return unresolved(fmt.Sprintf("operation %q is not in the vocabulary; use read, ingest, join, enrich, anonymize, aggregate, dedupe, merge or publish", op))
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
		return unresolved(fmt.Sprintf("intent %q names no operation and operations: is empty; list the operations (read, ingest, join, enrich, anonymize, aggregate, dedupe, merge, publish)", sig.Intent))
	}

	dest, err := destinationOf(sig.TargetLayer)
	if err != "" {
		return unresolved(err)
	}
	d.dest = dest
	if r := checkStructuredSelection(sig.Selection, append(slices.Clone(d.sources), d.targets...), cat); r != "" {
		return unresolved(r)
	}
	switch sig.ExecutionMode {
	case "", signature.ModeBatch:
		if sig.TimeWindow != "" {
			return unresolved(fmt.Sprintf("time_window %q is set but execution_mode is not %s; set execution_mode: %s or drop the window", sig.TimeWindow, signature.ModeMicroBatch, signature.ModeMicroBatch))
		}
	case signature.ModeMicroBatch:
		if sig.TimeWindow == "" {
			return unresolved("execution_mode micro_batch needs time_window, the window each unit commits, e.g. time_window: 15m")
		}
		w, err := NormalizeTimeWindow(sig.TimeWindow)
		if err != nil {
			return unresolved(err.Error())
		}
		d.mode, d.timeWindow = signature.ModeMicroBatch, w
	default:
		return unresolved(fmt.Sprintf("execution_mode %q is not a mode; use %s (the default) or %s with a time_window", sig.ExecutionMode, signature.ModeBatch, signature.ModeMicroBatch))
	}
	d.atomic = sig.CrossDatasetAtomic
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

// measureFuncs is the closed vocabulary of Measure.Function.
var measureFuncs = []string{signature.FuncCount, signature.FuncCountDistinct, signature.FuncSum, signature.FuncAvg, signature.FuncMin, signature.FuncMax}

// checkStructuredSelection validates a submitted selection against the
// catalog: every column is "dataset.column" with a dataset of the
// signature and a column the catalog declares for it (docs/adr/0130). A
// contract names columns exactly: no aliases, no typos.
func checkStructuredSelection(sel *signature.Selection, datasets []string, cat *catalog.Catalog) string {
	if sel == nil {
		return ""
	}
	column := func(what, ref string) (catalog.Column, string) {
		ds, col, ok := strings.Cut(ref, ".")
		if !ok || ds == "" || col == "" {
			return catalog.Column{}, fmt.Sprintf("selection %s %q is not dataset.column; write e.g. nfe.uf", what, ref)
		}
		if !slices.Contains(datasets, ds) {
			return catalog.Column{}, fmt.Sprintf("selection %s %q names dataset %s, which is not among the signature's datasets (%s); list it under datasets or name a column of one of them", what, ref, ds, strings.Join(datasets, ", "))
		}
		d, _ := cat.Get(ds)
		c, found := d.Column(col)
		if !found {
			return catalog.Column{}, fmt.Sprintf("selection %s %q: %s is not a column of %s; its columns are %s", what, ref, col, ds, strings.Join(d.ColumnNames(), ", "))
		}
		return c, ""
	}
	for _, ref := range sel.Columns {
		if _, r := column("column", ref); r != "" {
			return r
		}
	}
	for _, ref := range sel.GroupBy {
		if _, r := column("group_by column", ref); r != "" {
			return r
		}
	}
	for _, m := range sel.Measures {
		if !slices.Contains(measureFuncs, m.Function) {
			return fmt.Sprintf("measure function %q is not one of %s", m.Function, strings.Join(measureFuncs, ", "))
		}
		if m.Column == "" {
			if m.Function != signature.FuncCount {
				return fmt.Sprintf("measure %s needs a column (only count counts rows without one)", m.Function)
			}
			continue
		}
		c, r := column("measure column", m.Column)
		if r != "" {
			return r
		}
		if (m.Function == signature.FuncSum || m.Function == signature.FuncAvg) && !c.Numeric() {
			return fmt.Sprintf("measure %s(%s): the column is %s, not a number; use count, count_distinct, min or max", m.Function, m.Column, c.Type)
		}
	}
	for _, f := range sel.Filters {
		c, r := column("filter column", f.Column)
		if r != "" {
			return r
		}
		if _, ok := operatorTokens[f.Operator]; !ok || f.Operator == "==" || f.Operator == "<>" {
			return fmt.Sprintf("filter on %s: operator %q is not one of =, !=, >, >=, <, <=", f.Column, f.Operator)
		}
		if r := checkValue(c, f.Column, colRef{value: f.Value}); r != "" {
			return r
		}
	}
	return ""
}
