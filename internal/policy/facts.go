package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// FactsSchemaVersion names the set of fact variables and their meaning. It
// is hashed into the effective bundle version, so changing what a fact means
// changes the policy_bundle_version (I8).
const FactsSchemaVersion = "facts/v1"

// Facts are the typed variables a rule condition can read. They are derived
// from the signature and the environment_state only (pure, deterministic);
// every list is sorted. The yaml/json names are the CEL variable names.
type Facts struct {
	Domain string `json:"domain" yaml:"domain"`
	Intent string `json:"intent" yaml:"intent"`
	// TargetLayer is the destination layer: "silver" for bronze_to_silver.
	TargetLayer  string   `json:"target_layer" yaml:"target_layer"`
	SourceLayers []string `json:"source_layers" yaml:"source_layers"`
	// TargetLayers are the catalog layers of the target datasets.
	TargetLayers []string `json:"target_layers" yaml:"target_layers"`
	Operations   []string `json:"operations" yaml:"operations"`
	Writes       bool     `json:"writes" yaml:"writes"`
	SilverWrite  bool     `json:"silver_write" yaml:"silver_write"`
	GoldWrite    bool     `json:"gold_write" yaml:"gold_write"`
	Publish      bool     `json:"publish" yaml:"publish"`
	// ContainsPII: some source carries PII columns, treated or not.
	ContainsPII bool `json:"contains_pii" yaml:"contains_pii"`
	// ContainsPIIRaw: some source PII column is not covered by
	// constraints.anonymize, so it would reach the output untreated (I1).
	ContainsPIIRaw bool     `json:"contains_pii_raw" yaml:"contains_pii_raw"`
	PIIRawColumns  []string `json:"pii_raw_columns" yaml:"pii_raw_columns"` // "dataset.column"
	// JoinsOnPIIRaw: a join reads a sensitive or PII-bearing source whose PII is untreated.
	JoinsOnPIIRaw    bool   `json:"joins_on_pii_raw" yaml:"joins_on_pii_raw"`
	NoPIIRaw         bool   `json:"no_pii_raw" yaml:"no_pii_raw"`
	EnforceTypes     bool   `json:"enforce_types" yaml:"enforce_types"`
	MergeKey         string `json:"merge_key" yaml:"merge_key"`
	MergeKeyRequired bool   `json:"merge_key_required" yaml:"merge_key_required"`
	// CatalogMergeKeyKnown: every target has a merge key in the catalog, so
	// set_merge_key can succeed.
	CatalogMergeKeyKnown bool `json:"catalog_merge_key_known" yaml:"catalog_merge_key_known"`
	HasTemporalFilter    bool `json:"has_temporal_filter" yaml:"has_temporal_filter"`
	// HighVolumeScan: a high_volume source is read without a temporal filter
	// on its partition key.
	HighVolumeScan    bool     `json:"high_volume_scan" yaml:"high_volume_scan"`
	HighVolumeSources []string `json:"high_volume_sources" yaml:"high_volume_sources"`
	Datasets          []string `json:"datasets" yaml:"datasets"`
	SourceDatasets    []string `json:"source_datasets" yaml:"source_datasets"`
	TargetDatasets    []string `json:"target_datasets" yaml:"target_datasets"`
	// PublishTargets are the targets of an intent that publishes.
	PublishTargets []string `json:"publish_targets" yaml:"publish_targets"`
	// PublishBlockedTargets are publish targets the registry says are
	// partially_committed, stale, quarantined or publish_allowed=false, or
	// that constraints.publish_blocked names (I7).
	PublishBlockedTargets []string `json:"publish_blocked_targets" yaml:"publish_blocked_targets"`
	DeclaredImports       []string `json:"declared_imports" yaml:"declared_imports"`
	DeclaredPatterns      []string `json:"declared_patterns" yaml:"declared_patterns"`
	// MinSourceSizeBytes is the smallest source (0 when sizes are unknown):
	// a join whose smallest side is large cannot be broadcast.
	MinSourceSizeBytes   int64 `json:"min_source_size_bytes" yaml:"min_source_size_bytes"`
	TotalSourceSizeBytes int64 `json:"total_source_size_bytes" yaml:"total_source_size_bytes"`
	Replan               int64 `json:"replan" yaml:"replan"`
}

// NewFacts derives the facts of sig under env. It never mutates its inputs.
func NewFacts(sig signature.Signature, env registry.EnvironmentState) Facts {
	c := sig.Constraints
	// One backing array for every list but pii_raw_columns; each list gets a
	// capacity-capped window of it, so appends never overlap (fewer allocs).
	n := len(sig.Datasets)
	back := make([]string, 0, 8*n+len(sig.Operations)+len(sig.DeclaredImports)+len(sig.DeclaredPatterns))
	window := func(size int) []string {
		w := back[len(back) : len(back) : len(back)+size]
		back = back[:len(back)+size]
		return w
	}
	f := Facts{
		Domain:                sig.Domain,
		Intent:                sig.Intent,
		TargetLayer:           sig.DestinationLayer(),
		Operations:            append(window(len(sig.Operations)), sig.Operations...),
		Publish:               sig.HasOp(signature.OpPublish),
		NoPIIRaw:              c.NoPIIRaw,
		EnforceTypes:          c.EnforceTypes,
		MergeKey:              c.MergeKey,
		MergeKeyRequired:      c.MergeKeyRequired,
		DeclaredImports:       append(window(len(sig.DeclaredImports)), sig.DeclaredImports...),
		DeclaredPatterns:      append(window(len(sig.DeclaredPatterns)), sig.DeclaredPatterns...),
		Replan:                int64(sig.Replan),
		Datasets:              window(n),
		SourceDatasets:        window(n),
		TargetDatasets:        window(n),
		SourceLayers:          window(n),
		TargetLayers:          window(n),
		PublishTargets:        window(n),
		HighVolumeSources:     window(n),
		PublishBlockedTargets: window(n),
	}
	f.HasTemporalFilter = c.TemporalFilter != nil && c.TemporalFilter.Column != ""
	join := sig.HasOp(signature.OpJoin)
	mergeKnown, nTargets := true, 0
	minSize := int64(-1)
	for _, d := range sig.Datasets {
		f.Datasets = append(f.Datasets, d.Name)
		if d.Role == signature.RoleTarget {
			nTargets++
			f.TargetDatasets = append(f.TargetDatasets, d.Name)
			if d.Layer != "" {
				f.TargetLayers = append(f.TargetLayers, d.Layer)
			}
			if d.MergeKey == "" {
				mergeKnown = false
			}
			if f.Publish {
				f.PublishTargets = append(f.PublishTargets, d.Name)
				if publishBlocked(d.Name, env, c.PublishBlocked) {
					f.PublishBlockedTargets = append(f.PublishBlockedTargets, d.Name)
				}
			}
			continue
		}
		f.SourceDatasets = append(f.SourceDatasets, d.Name)
		if d.Layer != "" {
			f.SourceLayers = append(f.SourceLayers, d.Layer)
		}
		if len(d.PII) > 0 {
			f.ContainsPII = true
		}
		if f.addRawPII(d, c.Anonymize) && join && (d.Classification == "sensitive" || len(d.PII) > 0) {
			f.JoinsOnPIIRaw = true
		}
		if d.Classification == "high_volume" {
			f.HighVolumeSources = append(f.HighVolumeSources, d.Name)
			if !filterCovers(c.TemporalFilter, d) {
				f.HighVolumeScan = true
			}
		}
		f.TotalSourceSizeBytes += d.SizeBytes
		if d.SizeBytes > 0 && (minSize < 0 || d.SizeBytes < minSize) {
			minSize = d.SizeBytes
		}
	}
	if minSize > 0 {
		f.MinSourceSizeBytes = minSize
	}
	f.Writes = nTargets > 0 || strings.Contains(sig.TargetLayer, "_to_")
	f.SilverWrite = f.Writes && f.TargetLayer == signature.LayerSilver
	f.GoldWrite = f.Writes && f.TargetLayer == signature.LayerGold
	f.CatalogMergeKeyKnown = nTargets > 0 && mergeKnown
	f.ContainsPIIRaw = len(f.PIIRawColumns) > 0
	for _, l := range [...]*[]string{&f.Operations, &f.DeclaredImports, &f.DeclaredPatterns, &f.SourceLayers, &f.TargetLayers,
		&f.Datasets, &f.SourceDatasets, &f.TargetDatasets, &f.PublishTargets, &f.PublishBlockedTargets,
		&f.HighVolumeSources, &f.PIIRawColumns} {
		*l = sortedSetOwned(*l)
	}
	return f
}

// addRawPII records d's PII columns not listed in anonymize; it reports
// whether d has any.
func (f *Facts) addRawPII(d signature.Dataset, anonymize []string) bool {
	raw := false
	for _, col := range d.PII {
		if !slices.Contains(anonymize, d.Name+"."+col) {
			f.PIIRawColumns = append(f.PIIRawColumns, d.Name+"."+col)
			raw = true
		}
	}
	return raw
}

// filterCovers reports whether tf bounds a scan of d: it must be on d's
// partition key when the catalog declares one.
func filterCovers(tf *signature.TemporalFilter, d signature.Dataset) bool {
	if tf == nil || tf.Column == "" {
		return false
	}
	return d.PartitionKey == "" || tf.Column == d.PartitionKey
}

// publishBlocked applies I7 to one publish target. A dataset the registry
// has never seen is not blocked here: its first projection decides.
func publishBlocked(name string, env registry.EnvironmentState, declared []string) bool {
	if slices.Contains(declared, name) {
		return true
	}
	st, ok := env.Dataset(name)
	if !ok {
		return false
	}
	switch st.State {
	case registry.StatePartiallyCommitted, registry.StateStale, registry.StateQuarantined:
		return true
	}
	return !st.PublishAllowed
}

// Map returns the facts keyed by variable name, for audit records.
func (f Facts) Map() map[string]any {
	m := make(map[string]any, len(factVars))
	for _, v := range factVars {
		m[v.name] = v.native(&f)
	}
	return m
}

func sortedSetOwned(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	slices.Sort(in)
	return slices.Compact(in)
}

// factVar declares one CEL variable and how to read it from Facts.
type factVar struct {
	name   string
	typ    *cel.Type
	val    func(*Facts) ref.Val
	native func(*Facts) any
	// str and list expose string and list facts for the bounds check.
	str  func(*Facts) string
	list func(*Facts) []string
}

func strVar(name string, get func(*Facts) string) factVar {
	return factVar{name: name, typ: cel.StringType,
		val:    func(f *Facts) ref.Val { return types.String(get(f)) },
		native: func(f *Facts) any { return get(f) }, str: get}
}

func boolVar(name string, get func(*Facts) bool) factVar {
	return factVar{name: name, typ: cel.BoolType,
		val:    func(f *Facts) ref.Val { return types.Bool(get(f)) },
		native: func(f *Facts) any { return get(f) }}
}

func intVar(name string, get func(*Facts) int64) factVar {
	return factVar{name: name, typ: cel.IntType,
		val:    func(f *Facts) ref.Val { return types.Int(get(f)) },
		native: func(f *Facts) any { return get(f) }}
}

func listVar(name string, get func(*Facts) []string) factVar {
	return factVar{name: name, typ: cel.ListType(cel.StringType),
		val:    func(f *Facts) ref.Val { return types.NewStringList(types.DefaultTypeAdapter, get(f)) },
		native: func(f *Facts) any { return slices.Clone(get(f)) }, list: get}
}

// factVars is the single declaration of the fact variables: the CEL
// environment, the activation and Map all read it.
var factVars = []factVar{
	strVar("domain", func(f *Facts) string { return f.Domain }),
	strVar("intent", func(f *Facts) string { return f.Intent }),
	strVar("target_layer", func(f *Facts) string { return f.TargetLayer }),
	listVar("source_layers", func(f *Facts) []string { return f.SourceLayers }),
	listVar("target_layers", func(f *Facts) []string { return f.TargetLayers }),
	listVar("operations", func(f *Facts) []string { return f.Operations }),
	boolVar("writes", func(f *Facts) bool { return f.Writes }),
	boolVar("silver_write", func(f *Facts) bool { return f.SilverWrite }),
	boolVar("gold_write", func(f *Facts) bool { return f.GoldWrite }),
	boolVar("publish", func(f *Facts) bool { return f.Publish }),
	boolVar("contains_pii", func(f *Facts) bool { return f.ContainsPII }),
	boolVar("contains_pii_raw", func(f *Facts) bool { return f.ContainsPIIRaw }),
	listVar("pii_raw_columns", func(f *Facts) []string { return f.PIIRawColumns }),
	boolVar("joins_on_pii_raw", func(f *Facts) bool { return f.JoinsOnPIIRaw }),
	boolVar("no_pii_raw", func(f *Facts) bool { return f.NoPIIRaw }),
	boolVar("enforce_types", func(f *Facts) bool { return f.EnforceTypes }),
	strVar("merge_key", func(f *Facts) string { return f.MergeKey }),
	boolVar("merge_key_required", func(f *Facts) bool { return f.MergeKeyRequired }),
	boolVar("catalog_merge_key_known", func(f *Facts) bool { return f.CatalogMergeKeyKnown }),
	boolVar("has_temporal_filter", func(f *Facts) bool { return f.HasTemporalFilter }),
	boolVar("high_volume_scan", func(f *Facts) bool { return f.HighVolumeScan }),
	listVar("high_volume_sources", func(f *Facts) []string { return f.HighVolumeSources }),
	listVar("datasets", func(f *Facts) []string { return f.Datasets }),
	listVar("source_datasets", func(f *Facts) []string { return f.SourceDatasets }),
	listVar("target_datasets", func(f *Facts) []string { return f.TargetDatasets }),
	listVar("publish_targets", func(f *Facts) []string { return f.PublishTargets }),
	listVar("publish_blocked_targets", func(f *Facts) []string { return f.PublishBlockedTargets }),
	listVar("declared_imports", func(f *Facts) []string { return f.DeclaredImports }),
	listVar("declared_patterns", func(f *Facts) []string { return f.DeclaredPatterns }),
	intVar("min_source_size_bytes", func(f *Facts) int64 { return f.MinSourceSizeBytes }),
	intVar("total_source_size_bytes", func(f *Facts) int64 { return f.TotalSourceSizeBytes }),
	intVar("replan", func(f *Facts) int64 { return f.Replan }),
}

// factIndex maps a variable name to its position in factVars.
var factIndex = func() map[string]int {
	m := make(map[string]int, len(factVars))
	for i, v := range factVars {
		m[v.name] = i
	}
	return m
}()

// FactNames lists the declared fact variables in declaration order.
func FactNames() []string {
	out := make([]string, len(factVars))
	for i, v := range factVars {
		out[i] = v.name
	}
	return out
}

// checkBounds reports the first fact larger than the cost estimate assumed
// (MaxFactListLen, MaxFactStringLen).
func (f *Facts) checkBounds() error {
	for _, v := range factVars {
		switch {
		case v.str != nil && len(v.str(f)) > MaxFactStringLen:
			return fmt.Errorf("fact %s is %d bytes, more than %d", v.name, len(v.str(f)), MaxFactStringLen)
		case v.list != nil:
			l := v.list(f)
			if len(l) > MaxFactListLen {
				return fmt.Errorf("fact %s has %d items, more than %d", v.name, len(l), MaxFactListLen)
			}
			for _, e := range l {
				if len(e) > MaxFactStringLen {
					return fmt.Errorf("fact %s has an item of %d bytes, more than %d", v.name, len(e), MaxFactStringLen)
				}
			}
		}
	}
	return nil
}

// activation resolves fact variables lazily and caches each converted value,
// so one evaluation of the whole bundle converts each fact at most once.
// Activations are pooled: no per-evaluation map or cache allocation.
type activation struct {
	facts *Facts
	vals  []ref.Val
}

var _ interpreter.Activation = (*activation)(nil)

var activations = sync.Pool{New: func() any { return &activation{vals: make([]ref.Val, len(factVars))} }}

func getActivation(f *Facts) *activation {
	a := activations.Get().(*activation)
	a.facts = f
	return a
}

func putActivation(a *activation) {
	a.facts = nil
	clear(a.vals)
	activations.Put(a)
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	i, ok := factIndex[name]
	if !ok {
		return nil, false
	}
	if a.vals[i] == nil {
		a.vals[i] = factVars[i].val(a.facts)
	}
	return a.vals[i], true
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }
