package resolution

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// SourceLayerRaw names where an ingest reads from: files outside the
// catalog, so an ingest into bronze is "raw_to_bronze".
const SourceLayerRaw = "raw"

// evidence is what the confidence score is computed from (docs/adr/0012).
type evidence struct {
	structured       bool
	aliases          int // dataset mentions matched by alias
	typos            int // dataset mentions and verbs matched within typo tolerance
	ambiguousAliases int // mentions whose alias several datasets share
	vague            bool
	inferredTarget   bool
	targetChoices    int // candidate targets when the target was inferred
	described        int // aliases read as describing the result, not as a source
	inferredOps      bool
	inferredWrite    bool // the destination came from "na gold" with no write verb
	unknown          int
	// Columns (docs/adr/0131).
	colAliases      int  // columns named by a catalog alias ("revenue" → valor_total)
	colTypos        int  // columns within typo tolerance or named by a word of their name
	colAmbiguous    int  // column words several columns fit equally
	inferredDataset bool // no dataset named: the one holding the columns asked
	datasetChoices  int  // candidates when the dataset was inferred from columns
}

// draft is an interpretation both entry points build, before the catalog
// fills it in; finish turns it into a SemanticResolution.
type draft struct {
	base        signature.Signature // structured input: kept fields (domain, intent, context, ...)
	ops         []string
	sources     []string
	targets     []string
	dest        string // destination layer; "" for a read-only intent
	temporal    *signature.TemporalFilter
	mergeKey    string
	alternates  [][]string // per ambiguous source: every candidate, the chosen one first
	readings    []reading  // competing readings of the roles (read vs write)
	ev          evidence
	environment registry.EnvironmentState

	cols       []colRef // what the operations act on, resolved by finish
	countRows  bool
	mode       string // execution_mode; "" is batch
	timeWindow string
	atomic     bool
}

// reading is one competing reading of the text's roles: its label and its
// draft (nil: the draft that lists it).
type reading struct {
	label string
	draft *draft
}

// option is one competing interpretation: its label and how to turn the
// draft Resolve chose into that reading's draft (ResolveAs).
type option struct {
	label string
	apply func(draft) draft
}

func unresolved(reason string) SemanticResolution {
	return SemanticResolution{
		AmbiguityLevel:                 AmbiguityHigh,
		CompetingInterpretations:       []string{},
		EnvironmentConstraintsInjected: []string{},
		Resolved:                       false,
		Reason:                         reason,
	}
}

// finish validates the draft against the catalog, infers what the
// documented defaults allow, and builds the resolution of its first
// reading.
func finish(d draft, cat *catalog.Catalog) SemanticResolution {
	res, _ := build(d, cat)
	return res
}

// finishAs builds the resolution of the reading labelled chosen: the
// signature is that reading's, while the confidence, the ambiguity and the
// competing interpretations stay those of the text, so the confirmation
// still shows that a choice was made (docs/adr/0130).
func finishAs(d draft, cat *catalog.Catalog, chosen string) (SemanticResolution, error) {
	res, opts := build(d, cat)
	if !res.Resolved {
		return res, fmt.Errorf("interpretation %q: the intent does not resolve (%s), so it has no interpretations to choose from", chosen, res.Reason)
	}
	for _, o := range opts {
		if o.label != chosen || !slices.Contains(res.CompetingInterpretations, chosen) {
			continue
		}
		alt, _ := build(o.apply(d), cat)
		if !alt.Resolved {
			return SemanticResolution{}, fmt.Errorf("interpretation %q does not resolve: %s; choose another of %s", chosen, alt.Reason, strings.Join(res.CompetingInterpretations, ", "))
		}
		res.Signature = alt.Signature
		res.EnvironmentConstraintsInjected = alt.EnvironmentConstraintsInjected
		return Reconfirm(res, d.environment), nil
	}
	if len(res.CompetingInterpretations) == 0 {
		return SemanticResolution{}, fmt.Errorf("interpretation %q: the intent has one interpretation only; approve it without choosing", chosen)
	}
	return SemanticResolution{}, fmt.Errorf("interpretation %q is not one of the intent's competing interpretations; choose one of %s", chosen, strings.Join(res.CompetingInterpretations, ", "))
}

// build validates the draft and builds its resolution, with the options
// that turn it into each competing interpretation.
func build(d draft, cat *catalog.Catalog) (SemanticResolution, []option) {
	get := func(name string) catalog.Dataset { ds, _ := cat.Get(name); return ds }
	d.sources = slices.Clone(d.sources)
	d.targets = slices.Clone(d.targets)
	sortBySize(d.sources, get)

	if r := checkOps(d); r != "" {
		return unresolved(r), nil
	}
	var opts []option
	targetChoices := []string{""}
	if d.dest != "" && len(d.targets) == 0 {
		cands := targetCandidates(d, cat)
		if len(cands) == 0 {
			return unresolved(fmt.Sprintf("no %s dataset of the catalog fits this intent; name the target, e.g. \"into <dataset>\" (catalog: %s)", d.dest, strings.Join(cat.Names(), ", "))), nil
		}
		d.targets = []string{cands[0]}
		d.ev.inferredTarget = true
		d.ev.targetChoices = len(cands)
		if len(cands) > 1 {
			targetChoices = cands
		}
	}
	for _, t := range d.targets {
		if l := get(t).Layer; d.dest != "" && l != d.dest && !slices.Contains(d.ops, signature.OpIngest) {
			return unresolved(fmt.Sprintf("the intent writes to %s but target %s is a %s dataset; name a %s dataset or change the layer", d.dest, t, l, d.dest)), nil
		}
	}
	if slices.Contains(d.ops, signature.OpPublish) && len(d.targets) == 0 {
		return unresolved("publish needs the dataset to publish; write e.g. \"publish silver_documentos\""), nil
	}
	if r := checkModes(d); r != "" {
		return unresolved(r), nil
	}

	sig := d.base
	sig.Operations = slices.Clone(d.ops)
	sig.Datasets = nil
	for _, n := range d.sources {
		sig.Datasets = append(sig.Datasets, toSignature(get(n), signature.RoleSource))
	}
	for _, n := range d.targets {
		sig.Datasets = append(sig.Datasets, toSignature(get(n), signature.RoleTarget))
	}
	primary := primaryDataset(d, get)
	if sig.Domain == "" {
		sig.Domain = primary.Domain
	}
	if sig.SourceType == "" {
		sig.SourceType = primary.SourceType
	}
	sig.TargetLayer = targetLayer(d, get)
	if sig.Intent == "" {
		sig.Intent = intentName(d.ops, d.dest != "")
	}
	if d.mode != "" {
		sig.ExecutionMode, sig.TimeWindow = d.mode, d.timeWindow
	}
	sig.CrossDatasetAtomic = sig.CrossDatasetAtomic || d.atomic

	if reason := constrain(&sig, d, get); reason != "" {
		return unresolved(reason), nil
	}
	colOpts, reason := resolveSelection(&sig, &d, cat)
	if reason != "" {
		return unresolved(reason), nil
	}
	injected := inject(&sig, d.environment)

	base := label(primaryOp(d.ops), d.sources, d.dest, d.targets)
	for i, alts := range d.alternates {
		for _, alt := range alts {
			srcs := slices.Clone(d.sources)
			if j := slices.Index(srcs, alts[0]); j >= 0 {
				srcs[j] = alt
			}
			opts = append(opts, option{label: label(primaryOp(d.ops), srcs, d.dest, d.targets), apply: func(x draft) draft {
				x.sources = slices.Clone(x.sources)
				if j := slices.Index(x.sources, alts[0]); j >= 0 {
					x.sources[j] = alt
				}
				x.alternates = slices.Delete(slices.Clone(x.alternates), i, i+1)
				return x
			}})
		}
	}
	for _, r := range d.readings {
		opts = append(opts, option{label: r.label, apply: func(x draft) draft {
			if r.draft == nil {
				return x
			}
			return *r.draft
		}})
	}
	if d.ev.vague {
		opts = append(opts,
			option{label: label(signature.OpJoin, d.sources, d.dest, d.targets), apply: func(x draft) draft { return x }},
			option{label: label(signature.OpEnrich, d.sources, d.dest, d.targets), apply: func(x draft) draft {
				x.ops = slices.Clone(x.ops)
				if j := slices.Index(x.ops, signature.OpJoin); j >= 0 {
					x.ops[j] = signature.OpEnrich
				}
				x.ev.vague = false
				return x
			}})
	}
	if len(targetChoices) > 1 {
		for _, t := range targetChoices {
			opts = append(opts, option{label: label(primaryOp(d.ops), d.sources, d.dest, []string{t}) + "_into_" + t, apply: func(x draft) draft {
				x.targets = []string{t}
				return x
			}})
		}
	}
	for _, o := range colOpts {
		o.label = base + "_" + o.label
		opts = append(opts, o)
	}
	var competing []string
	for _, o := range opts {
		competing = append(competing, o.label)
	}
	slices.Sort(competing)
	competing = slices.Compact(competing)
	if len(competing) < 2 {
		competing = []string{} // one reading is no competition
	}

	res := SemanticResolution{
		Signature:                      sig,
		ConfidenceScore:                confidence(d.ev),
		AmbiguityLevel:                 ambiguity(d.ev, len(competing)),
		CompetingInterpretations:       competing,
		EnvironmentConstraintsInjected: injected,
		Resolved:                       true,
	}
	c := confirmation.Evaluate(ConfirmationInput(res, d.environment))
	res.ConfirmationMode, res.ConfirmationTriggers = c.Mode, c.Triggers
	return res, opts
}

// checkModes refuses an execution mode the intent cannot have: both
// micro-batch windows and cross-dataset atomicity are units of a write.
func checkModes(d draft) string {
	if d.dest != "" {
		return ""
	}
	switch {
	case d.mode == signature.ModeMicroBatch:
		return fmt.Sprintf("a micro-batch window (%s) is a unit of a write, but the intent writes nothing; name the target (\"into <dataset>\"), or schedule the read (cfa schedule create NAME --every %s TEXT)", d.timeWindow, d.timeWindow)
	case d.atomic:
		return "atomically applies to what an intent writes, but this intent writes nothing; name the targets, e.g. \"atomically merge nfe into silver_documentos and clientes into clientes_anon\""
	}
	return ""
}

// checkOps refuses operations the named datasets cannot carry.
func checkOps(d draft) string {
	if len(d.ops) == 0 {
		return "no operation found; say what to do: read (show, list), ingest, join/reconcile, enrich, anonymize, aggregate, dedupe, merge or publish"
	}
	for _, op := range d.ops {
		switch op {
		case signature.OpJoin, signature.OpEnrich:
			if len(d.sources) < 2 {
				return fmt.Sprintf("%s needs two datasets but the intent names %s; name the other one, e.g. \"reconcile nfe with clientes\"", op, describe(d.sources))
			}
		case signature.OpAggregate, signature.OpDedupe, signature.OpAnonymize:
			if len(d.sources) == 0 && len(d.targets) > 0 {
				return fmt.Sprintf("%s needs a dataset to read but the intent names only the target %s; name what it reads with from, e.g. \"%s from <dataset> into %s\"", op, strings.Join(d.targets, ", "), op, d.targets[0])
			}
			if len(d.sources) == 0 {
				return fmt.Sprintf("%s needs a dataset to read; name it, e.g. \"%s nfe\"", op, op)
			}
		case signature.OpMerge:
			if len(d.sources) == 0 || d.dest == "" {
				return "merge needs a source and a target; write e.g. \"merge nfe into silver_documentos by nfe_id\""
			}
		case signature.OpIngest:
			if len(d.targets) == 0 && d.dest == "" {
				return "ingest needs the dataset to load; write e.g. \"ingest nfe since 2026-01-01\""
			}
		case signature.OpRead:
			if d.dest != "" || len(d.targets) > 0 {
				return "a read returns rows and writes nothing, but the intent names where to write; say how to write them, e.g. \"merge nfe into silver_documentos\", or drop the destination"
			}
			if len(d.sources) == 0 {
				return "a read needs the dataset to read; name it, e.g. \"show me nfe\""
			}
		}
	}
	return ""
}

func describe(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return "only " + strings.Join(names, ", ")
}

// targetCandidates applies the default of docs/adr/0014: a dataset of the
// destination layer in the primary source's domain that the sources can
// feed (its merge key is a source column, or it is a source's anonymized
// copy), preferring the anonymized copy (anonymize) or one sharing the
// primary source's merge key (nfe → silver_documentos). Sorted by name.
func targetCandidates(d draft, cat *catalog.Catalog) []string {
	if len(d.sources) == 0 {
		return nil
	}
	primary, _ := cat.Get(d.sources[0])
	fed := func(ds catalog.Dataset) bool {
		for _, n := range d.sources {
			src, _ := cat.Get(n)
			if ds.AnonymizedFrom == n || ds.MergeKey != "" && src.HasColumn(ds.MergeKey) {
				return true
			}
		}
		return false
	}
	var all, preferred []string
	for _, ds := range cat.Datasets {
		if ds.Layer != d.dest || ds.Domain != primary.Domain || slices.Contains(d.sources, ds.Name) || !fed(ds) {
			continue
		}
		all = append(all, ds.Name)
		if slices.Contains(d.ops, signature.OpAnonymize) && slices.Contains(d.sources, ds.AnonymizedFrom) ||
			!slices.Contains(d.ops, signature.OpAnonymize) && ds.MergeKey != "" && ds.MergeKey == primary.MergeKey {
			preferred = append(preferred, ds.Name)
		}
	}
	if len(preferred) > 0 {
		all = preferred
	}
	slices.Sort(all)
	return all
}

// sortBySize orders sources largest first, then by name: the first is the
// primary source (the one scanned, enriched, or whose domain is the intent's).
func sortBySize(names []string, get func(string) catalog.Dataset) {
	slices.SortStableFunc(names, func(a, b string) int {
		sa, sb := get(a).SizeBytes, get(b).SizeBytes
		if sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
}

func primaryDataset(d draft, get func(string) catalog.Dataset) catalog.Dataset {
	if len(d.sources) > 0 {
		return get(d.sources[0])
	}
	if len(d.targets) > 0 {
		return get(d.targets[0])
	}
	return catalog.Dataset{}
}

func toSignature(d catalog.Dataset, role string) signature.Dataset {
	return signature.Dataset{
		Name: d.Name, Role: role, Layer: d.Layer, Size: d.Size, SizeBytes: d.SizeBytes,
		Classification: d.Classification, SourceType: d.SourceType, PII: slices.Clone(d.PII),
		PartitionKey: d.PartitionKey, MergeKey: d.MergeKey,
	}
}

var layerRank = map[string]int{SourceLayerRaw: 0, signature.LayerBronze: 1, signature.LayerSilver: 2, signature.LayerGold: 3}

// targetLayer spells the whitepaper's target_layer: "<from>_to_<to>" for
// every write (same-layer writes too, e.g. "silver_to_silver" for a
// publish) and a lone layer only for a read (docs/adr/0014).
func targetLayer(d draft, get func(string) catalog.Dataset) string {
	from := ""
	for _, n := range d.sources {
		if l := get(n).Layer; from == "" || layerRank[l] < layerRank[from] {
			from = l
		}
	}
	if d.dest == "" {
		return from
	}
	if from == "" {
		from = d.dest
		if slices.Contains(d.ops, signature.OpIngest) {
			from = SourceLayerRaw
		}
	}
	return from + "_to_" + d.dest
}

// opPriority picks the operation that names the intent.
var opPriority = []string{signature.OpJoin, signature.OpEnrich, signature.OpAggregate, signature.OpDedupe, signature.OpAnonymize, signature.OpMerge, signature.OpIngest, signature.OpPublish, signature.OpRead}

func primaryOp(ops []string) string {
	for _, op := range opPriority {
		if slices.Contains(ops, op) {
			return op
		}
	}
	return ""
}

// intentName is the stable snake_case label of the intent.
func intentName(ops []string, write bool) string {
	names := map[string][2]string{ // read, write
		signature.OpJoin:      {"reconciliation_report", "reconciliation_and_persist"},
		signature.OpEnrich:    {"enrichment_report", "enrichment_and_persist"},
		signature.OpAggregate: {"aggregate_report", "aggregation_and_persist"},
		signature.OpDedupe:    {"deduplication_report", "deduplication_and_persist"},
		signature.OpAnonymize: {"anonymization_report", "anonymization_and_persist"},
		signature.OpMerge:     {"merge_and_persist", "merge_and_persist"},
		signature.OpIngest:    {"ingestion", "ingestion"},
		signature.OpPublish:   {"publish_dataset", "publish_dataset"},
		signature.OpRead:      {"read_report", "read_report"},
	}
	n := names[primaryOp(ops)]
	if write {
		return n[1]
	}
	return n[0]
}

// label names one interpretation: join_nfe_clientes_silver,
// enrich_nfe_with_clientes, publish_silver_documentos.
func label(op string, sources []string, dest string, targets []string) string {
	var s string
	switch {
	case op == signature.OpEnrich && len(sources) > 1:
		s = "enrich_" + sources[0] + "_with_" + strings.Join(sources[1:], "_")
	case op == signature.OpPublish || op == signature.OpIngest || len(sources) == 0:
		return op + "_" + strings.Join(targets, "_")
	default:
		s = op + "_" + strings.Join(sources, "_")
	}
	if dest != "" {
		s += "_" + dest
	}
	return s
}

// constrain fills the constraints: the invariants of a silver/gold write,
// partitions and PII from the catalog, what the user asked. It returns a
// reason when the request cannot be honoured.
func constrain(sig *signature.Signature, d draft, get func(string) catalog.Dataset) string {
	c := &sig.Constraints
	if d.dest == signature.LayerSilver || d.dest == signature.LayerGold {
		c.NoPIIRaw, c.MergeKeyRequired, c.EnforceTypes = true, true, true
	}
	for _, ds := range sig.Datasets {
		if ds.PartitionKey != "" {
			c.PartitionBy = append(c.PartitionBy, ds.PartitionKey)
		}
	}
	slices.Sort(c.PartitionBy)
	c.PartitionBy = slices.Compact(c.PartitionBy)

	if d.mergeKey != "" {
		for _, t := range d.targets {
			if !get(t).HasColumn(d.mergeKey) {
				return fmt.Sprintf("merge key %s is not a column of target %s; use its merge key %s or name another column", d.mergeKey, t, get(t).MergeKey)
			}
		}
		c.MergeKey = d.mergeKey
	}
	if d.temporal != nil {
		tf := *d.temporal
		if tf.Column == "" {
			tf.Column = temporalColumn(sig.Datasets)
		}
		if tf.Column == "" {
			return "a date filter was asked for but none of " + strings.Join(datasetNames(sig.Datasets), ", ") + " has a partition key to filter on; drop the dates or name a partitioned dataset"
		}
		c.TemporalFilter = &tf
	}
	if slices.Contains(d.ops, signature.OpAnonymize) {
		for _, ds := range sig.Datasets {
			if ds.Role != signature.RoleSource {
				continue
			}
			for _, col := range ds.PII {
				c.Anonymize = append(c.Anonymize, ds.Name+"."+col)
			}
		}
		slices.Sort(c.Anonymize)
		c.Anonymize = slices.Compact(c.Anonymize)
	}
	return ""
}

// temporalColumn is the partition key of the largest partitioned dataset,
// sources first: the scan the FinOps Guard bounds.
func temporalColumn(ds []signature.Dataset) string {
	best := signature.Dataset{}
	for _, role := range []string{signature.RoleSource, signature.RoleTarget} {
		for _, d := range ds {
			if d.Role == role && d.PartitionKey != "" && (best.PartitionKey == "" || d.SizeBytes > best.SizeBytes) {
				best = d
			}
		}
		if best.PartitionKey != "" {
			return best.PartitionKey
		}
	}
	return ""
}

func datasetNames(ds []signature.Dataset) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

// inject applies the Context Registry (I3): every touched dataset whose
// state is not clean, or whose publication is blocked, becomes a constraint
// line, and blocked ones are listed in PublishBlocked.
func inject(sig *signature.Signature, env registry.EnvironmentState) []string {
	names := datasetNames(sig.Datasets)
	slices.Sort(names)
	names = slices.Compact(names)
	out := []string{}
	for _, n := range names {
		st, ok := env.Dataset(n)
		if !ok || st.State == registry.StateUnknown {
			continue // never projected: nothing to protect yet
		}
		switch st.State {
		case registry.StatePartiallyCommitted, registry.StateStale, registry.StateQuarantined:
			out = append(out, n+".state = "+st.State)
		}
		if !st.PublishAllowed {
			out = append(out, n+".publish_allowed = false")
			if !slices.Contains(sig.Constraints.PublishBlocked, n) {
				sig.Constraints.PublishBlocked = append(sig.Constraints.PublishBlocked, n)
			}
		}
	}
	slices.Sort(sig.Constraints.PublishBlocked)
	return out
}

// Score weights of docs/adr/0012.
const (
	baseText          = 0.95
	baseStructured    = 1.00
	penaltyAlias      = 0.03
	penaltyTypo       = 0.08
	penaltyAmbiguous  = 0.15
	penaltyVague      = 0.15
	penaltyInferred   = 0.05
	penaltyChoices    = 0.10
	penaltyDescribed  = 0.03
	penaltyInferredOp = 0.05
	penaltyWeakDest   = 0.05
	penaltyUnknown    = 0.02
	maxUnknownPenalty = 0.08
	// Columns and datasets in text (docs/adr/0131).
	penaltyColAlias        = 0.02
	maxColAliasPenalty     = 0.06
	penaltyColTypo         = 0.08
	penaltyColAmbiguous    = 0.15
	penaltyInferredDataset = 0.10
)

func confidence(ev evidence) float64 {
	s := baseText
	if ev.structured {
		s = baseStructured
	}
	s -= penaltyAlias * float64(ev.aliases)
	s -= penaltyTypo * float64(ev.typos)
	s -= penaltyAmbiguous * float64(ev.ambiguousAliases)
	s -= penaltyDescribed * float64(ev.described)
	s -= min(penaltyUnknown*float64(ev.unknown), maxUnknownPenalty)
	if ev.vague {
		s -= penaltyVague
	}
	if ev.inferredTarget {
		s -= penaltyInferred
	}
	if ev.targetChoices > 1 {
		s -= penaltyChoices
	}
	if ev.inferredOps {
		s -= penaltyInferredOp
	}
	if ev.inferredWrite {
		s -= penaltyWeakDest
	}
	s -= min(penaltyColAlias*float64(ev.colAliases), maxColAliasPenalty)
	s -= penaltyColTypo * float64(ev.colTypos)
	s -= penaltyColAmbiguous * float64(ev.colAmbiguous)
	if ev.inferredDataset {
		s -= penaltyInferredDataset
	}
	if ev.datasetChoices > 1 {
		s -= penaltyChoices
	}
	// Two decimals: the score is audited and compared, not computed on.
	return math.Round(max(0, min(1, s))*100) / 100
}

func ambiguity(ev evidence, competing int) string {
	switch {
	case competing > 1:
		return AmbiguityHigh
	case ev.typos > 0 || ev.described > 0 || ev.inferredOps || ev.inferredWrite || ev.unknown >= 3 || ev.colTypos > 0 || ev.colAmbiguous > 0 || ev.inferredDataset:
		return AmbiguityMedium
	}
	return AmbiguityLow
}
