// Package signature implements the State Signature (whitepaper 5.2): the
// typed, immutable contract of an intent, with its execution_context, a
// documented canonical encoding and intent_signature_hash = SHA-256 of it.
package signature

// Layers of the medallion architecture the catalog classifies datasets into.
const (
	LayerBronze = "bronze"
	LayerSilver = "silver"
	LayerGold   = "gold"
)

// Operations an intent may ask for (the Normalizer's closed vocabulary).
const (
	OpIngest    = "ingest"
	OpJoin      = "join" // join / reconcile
	OpEnrich    = "enrich"
	OpAnonymize = "anonymize"
	OpAggregate = "aggregate"
	OpDedupe    = "dedupe"
	OpMerge     = "merge"
	OpPublish   = "publish"
	// OpRead returns rows to the user and writes nothing: "show me nfe",
	// "list clientes where uf = SP" (docs/adr/0130).
	OpRead = "read"
)

// Dataset roles inside a signature.
const (
	RoleSource = "source"
	RoleTarget = "target"
)

// Dataset is one dataset the intent reads or writes, as in the whitepaper's
// signature.datasets list; the catalog fills in everything but Name and Role.
type Dataset struct {
	Name           string   `json:"name" yaml:"name"`
	Role           string   `json:"role" yaml:"role"` // source | target
	Layer          string   `json:"layer,omitempty" yaml:"layer,omitempty"`
	Size           string   `json:"size,omitempty" yaml:"size,omitempty"` // as the catalog writes it: 4TB, 500MB
	SizeBytes      int64    `json:"size_bytes,omitempty" yaml:"size_bytes,omitempty"`
	Classification string   `json:"classification,omitempty" yaml:"classification,omitempty"` // high_volume | sensitive | internal | public
	SourceType     string   `json:"source_type,omitempty" yaml:"source_type,omitempty"`       // nested_json, table, ...
	PII            []string `json:"pii,omitempty" yaml:"pii,omitempty"`                       // raw PII columns read or written
	PartitionKey   string   `json:"partition_key,omitempty" yaml:"partition_key,omitempty"`
	MergeKey       string   `json:"merge_key,omitempty" yaml:"merge_key,omitempty"`
}

// TemporalFilter bounds a scan on the partition key (FinOps Guard).
// From is inclusive, To exclusive, both ISO dates (YYYY-MM-DD); LastDays is
// kept as the user said it so the contract stays readable.
type TemporalFilter struct {
	Column   string `json:"column" yaml:"column"`
	From     string `json:"from,omitempty" yaml:"from,omitempty"`
	To       string `json:"to,omitempty" yaml:"to,omitempty"`
	LastDays int    `json:"last_days,omitempty" yaml:"last_days,omitempty"`
}

// Measure is one aggregate an operation computes: Function over Column
// ("dataset.column"); count has no column when it counts rows.
type Measure struct {
	Function string `json:"function" yaml:"function"` // count | count_distinct | sum | avg | min | max
	Column   string `json:"column,omitempty" yaml:"column,omitempty"`
}

// Measure functions (closed vocabulary).
const (
	FuncCount         = "count"
	FuncCountDistinct = "count_distinct"
	FuncSum           = "sum"
	FuncAvg           = "avg"
	FuncMin           = "min"
	FuncMax           = "max"
)

// RowFilter keeps the rows where Column Operator Value holds; Value is the
// literal as the user wrote it, typed against the column by the planner.
type RowFilter struct {
	Column   string `json:"column" yaml:"column"`     // "dataset.column"
	Operator string `json:"operator" yaml:"operator"` // = | != | > | >= | < | <=
	Value    string `json:"value" yaml:"value"`
}

// Selection is what the operations act on, each column resolved against
// the catalog and written "dataset.column" (docs/adr/0130): the columns
// projected, the grouping keys, the measures and the row filters. The
// temporal window stays in Constraints.TemporalFilter.
type Selection struct {
	Columns  []string    `json:"columns,omitempty" yaml:"columns,omitempty"`
	GroupBy  []string    `json:"group_by,omitempty" yaml:"group_by,omitempty"`
	Measures []Measure   `json:"measures,omitempty" yaml:"measures,omitempty"`
	Filters  []RowFilter `json:"filters,omitempty" yaml:"filters,omitempty"`
}

// Empty reports a selection that says nothing (the whole dataset).
func (s *Selection) Empty() bool {
	return s == nil || len(s.Columns) == 0 && len(s.GroupBy) == 0 && len(s.Measures) == 0 && len(s.Filters) == 0
}

// Execution modes of the execution_model (whitepaper 10); batch is the
// default and is written as no mode at all.
const (
	ModeBatch      = "batch"
	ModeMicroBatch = "micro_batch"
)

// Constraints are the declared conditions under which the intent is valid.
type Constraints struct {
	NoPIIRaw         bool            `json:"no_pii_raw" yaml:"no_pii_raw"`
	PartitionBy      []string        `json:"partition_by,omitempty" yaml:"partition_by,omitempty"`
	EnforceTypes     bool            `json:"enforce_types" yaml:"enforce_types"`
	MergeKeyRequired bool            `json:"merge_key_required" yaml:"merge_key_required"`
	MergeKey         string          `json:"merge_key,omitempty" yaml:"merge_key,omitempty"`
	TemporalFilter   *TemporalFilter `json:"temporal_filter,omitempty" yaml:"temporal_filter,omitempty"`
	// Anonymize lists "dataset.column" PII columns that are hashed (sha256)
	// or dropped before any join or write; set by the Normalizer or a replan.
	Anonymize []string `json:"anonymize,omitempty" yaml:"anonymize,omitempty"`
	// PublishBlocked lists datasets that must not be published (I7), injected
	// from the Context Registry.
	PublishBlocked []string `json:"publish_blocked,omitempty" yaml:"publish_blocked,omitempty"`
}

// ExecutionContext is the normative context of the execution (5.2): with it
// embedded, any execution can be reproduced under the policies, catalog and
// registry snapshot that were in force (I8).
type ExecutionContext struct {
	PolicyBundleVersion    string `json:"policy_bundle_version" yaml:"policy_bundle_version"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version" yaml:"catalog_snapshot_version"`
	RegistryVersionID      string `json:"registry_version_id" yaml:"registry_version_id"`
}

// Signature is the State Signature of whitepaper 5.2.
type Signature struct {
	Domain      string `json:"domain" yaml:"domain"`
	Intent      string `json:"intent" yaml:"intent"`
	SourceType  string `json:"source_type,omitempty" yaml:"source_type,omitempty"`
	TargetLayer string `json:"target_layer,omitempty" yaml:"target_layer,omitempty"` // as the whitepaper: bronze_to_silver, silver_to_gold, or a lone layer for reads
	// Operations in the order the user asked for them (closed vocabulary Op*).
	Operations []string  `json:"operations" yaml:"operations"`
	Datasets   []Dataset `json:"datasets" yaml:"datasets"`
	// Selection is what the operations act on; nil acts on whole datasets.
	Selection   *Selection  `json:"selection,omitempty" yaml:"selection,omitempty"`
	Constraints Constraints `json:"constraints" yaml:"constraints"`
	// ExecutionMode selects the consistency unit (5.5): micro_batch commits
	// per TimeWindow (a Go duration, "15m"); empty is batch.
	ExecutionMode string `json:"execution_mode,omitempty" yaml:"execution_mode,omitempty"`
	TimeWindow    string `json:"time_window,omitempty" yaml:"time_window,omitempty"`
	// CrossDatasetAtomic asks for one atomic unit across every target (5.5).
	CrossDatasetAtomic bool `json:"cross_dataset_atomic,omitempty" yaml:"cross_dataset_atomic,omitempty"`
	// DeclaredImports and DeclaredPatterns are what an intent says its code
	// will use; Execution Safety blocks forbidden ones.
	DeclaredImports  []string `json:"declared_imports,omitempty" yaml:"declared_imports,omitempty"`
	DeclaredPatterns []string `json:"declared_patterns,omitempty" yaml:"declared_patterns,omitempty"`
	// Replan counts how many Policy Engine replans produced this signature.
	Replan           int              `json:"replan" yaml:"replan"`
	ExecutionContext ExecutionContext `json:"execution_context" yaml:"execution_context"`
}
