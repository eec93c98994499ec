package planner

import "slices"

// StepKind is one template of the governed DAG; the planner emits no other.
type StepKind string

// The closed set of step templates (whitepaper 5.5 execution_plan).
const (
	KindExtract   StepKind = "extract"
	KindAnonymize StepKind = "anonymize"
	KindJoin      StepKind = "join"
	KindDedupe    StepKind = "dedupe"
	KindAggregate StepKind = "aggregate"
	KindLoad      StepKind = "load"
	KindPublish   StepKind = "publish"
)

// Idempotence is a step's execution_semantics.idempotency strategy.
type Idempotence string

// Strategies of 5.5. AppendWithoutDedup is named only so it can be refused.
const (
	MergeWithDeterministicKey Idempotence = "merge_with_deterministic_key"
	PartitionOverwriteSafe    Idempotence = "partition_overwrite_safe"
	AppendWithoutDedup        Idempotence = "append_without_dedup" // forbidden: append duplicates on retry
)

// ConsistencyUnit is the closed consistency_unit enum of 5.5.
type ConsistencyUnit string

// The allowed consistency units.
const (
	UnitPartition  ConsistencyUnit = "partition"   // standard for partitioned batch
	UnitDataset    ConsistencyUnit = "dataset"     // atomic cross-dataset operations
	UnitDagBranch  ConsistencyUnit = "dag_branch"  // composite intents with independent branches
	UnitTimeWindow ConsistencyUnit = "time_window" // micro-batch with a time window
)

// ConsistencyUnits lists the closed enum in the whitepaper's order.
var ConsistencyUnits = []ConsistencyUnit{UnitPartition, UnitDataset, UnitDagBranch, UnitTimeWindow}

// Valid reports whether u is in the closed enum.
func (u ConsistencyUnit) Valid() bool { return slices.Contains(ConsistencyUnits, u) }

// ExecutionMode is the execution_mode the selection rules read.
type ExecutionMode string

// Execution modes.
const (
	ModeBatch      ExecutionMode = "batch"
	ModeMicroBatch ExecutionMode = "micro_batch"
)

// JoinStrategy says how a join is distributed; Postgres ignores it, Spark-like
// backends turn broadcast into a hint.
type JoinStrategy string

// Join strategies.
const (
	JoinBroadcast JoinStrategy = "broadcast" // the smaller side fits under Options.BroadcastMaxBytes
	JoinHash      JoinStrategy = "hash"
)

// LoadMode is how the load step writes its target.
type LoadMode string

// Load modes, one per allowed idempotence strategy.
const (
	LoadMerge              LoadMode = "merge"               // MERGE on the deterministic key
	LoadPartitionOverwrite LoadMode = "partition_overwrite" // delete the window, insert the window
)

// Transforms a column may carry in its lineage.
const (
	TransformSHA256 = "sha256"
	TransformSum    = "sum"
	TransformCount  = "count"
)

// ExecutionPlan is the governed DAG for one approved signature. It holds no
// maps, so its JSON (and Hash) is byte-identical for identical inputs (I8).
type ExecutionPlan struct {
	// Hash is the hex SHA-256 of the plan's canonical JSON with Hash empty.
	Hash                   string `json:"hash"`
	SignatureHash          string `json:"intent_signature_hash"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version"`
	Intent                 string `json:"intent"`
	// Target is the dataset the load writes (a publish-only plan's: the one
	// it publishes), TargetLayer its catalog layer.
	Target      string `json:"target"`
	TargetLayer string `json:"target_layer"`
	// Strategy is the load's idempotence strategy; every step declares one.
	Strategy        Idempotence     `json:"strategy"`
	ConsistencyUnit ConsistencyUnit `json:"consistency_unit"`
	// ConsistencyRule is the selection rule that chose the unit, for the audit.
	ConsistencyRule string `json:"consistency_rule"`
	// Window is the resolved temporal filter, nil when the plan reads no window.
	Window   *Window  `json:"window,omitempty"`
	Steps    []Step   `json:"steps"`
	Contract Contract `json:"contract"`
	// TimeWindows are the time_window consistency units of a micro_batch
	// plan (docs/adr/0137); nil for any other plan.
	TimeWindows *TimeWindows `json:"time_windows,omitempty"`
	// Parts are the plans of the other targets of a cross_dataset_atomic
	// plan, by target name after this one's: every target is one dataset
	// unit, and they commit together or not at all (docs/adr/0138). Each
	// part is a whole plan with its own hash; this plan's hash covers them.
	Parts []ExecutionPlan `json:"parts,omitempty"`
}

// Contract is the load's schema contract (5.6 schema_contract) for static
// validation: the columns written, and the raw PII names that must not be.
type Contract struct {
	ExpectedColumns  []string `json:"expected_columns"`
	ForbiddenColumns []string `json:"forbidden_columns"`
}

// Window is a resolved temporal filter: From inclusive, To exclusive, ISO
// dates. One of them may be empty (an open side).
type Window struct {
	Column string `json:"column"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// Column is one output column of a step with its lineage.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // catalog type
	// Origin is the "dataset.column" it derives from; empty for count(*).
	Origin string `json:"origin,omitempty"`
	// Transform is empty for a copy, else sha256, sum or count.
	Transform string `json:"transform,omitempty"`
}

// Step is one node of the DAG, filled from its Kind's template.
type Step struct {
	ID          string      `json:"id"` // "01_extract_nfe": order, kind, dataset
	Kind        StepKind    `json:"kind"`
	Inputs      []string    `json:"inputs,omitempty"` // step IDs
	Dataset     string      `json:"dataset"`          // dataset read (extract, anonymize, join base) or written
	Columns     []Column    `json:"columns"`          // output, in order
	Params      Params      `json:"params"`
	Idempotence Idempotence `json:"idempotence"`
}

// Params are the template parameters; only the Kind's own fields are set.
type Params struct {
	Filter   *Window        `json:"filter,omitempty"`    // extract
	Hash     []HashedColumn `json:"hash,omitempty"`      // anonymize
	Drop     []string       `json:"drop,omitempty"`      // anonymize
	Join     *Join          `json:"join,omitempty"`      // join
	Key      []string       `json:"key,omitempty"`       // dedupe key; load match key
	OrderBy  []Order        `json:"order_by,omitempty"`  // dedupe: which duplicate survives
	GroupBy  []string       `json:"group_by,omitempty"`  // aggregate
	Measures []Measure      `json:"measures,omitempty"`  // aggregate
	Load     *Load          `json:"load,omitempty"`      // load
	Auto     string         `json:"auto,omitempty"`      // why the planner added a step nobody asked for
	Publish  string         `json:"publish,omitempty"`   // publish: the dataset made visible
	Unique   []string       `json:"unique_on,omitempty"` // the key the output is proven unique on
	Query    *Query         `json:"query,omitempty"`     // query: a read's SELECT (docs/adr/0132)
}

// HashedColumn is sha256(Column) AS As.
type HashedColumn struct {
	Column string `json:"column"`
	As     string `json:"as"`
}

// Join is an equi-join between the running result (left) and one source.
type Join struct {
	Strategy     JoinStrategy `json:"strategy"`
	Type         string       `json:"type"` // left: a fact row is never lost for want of a dimension row
	Left         string       `json:"left"` // step ID
	Right        string       `json:"right"`
	LeftColumn   string       `json:"left_column"`
	RightColumn  string       `json:"right_column"`
	LeftDataset  string       `json:"left_dataset"`
	RightDataset string       `json:"right_dataset"`
}

// Condition renders the join predicate for people, "nfe.cliente_id =
// clientes.cliente_id"; backends build their own from the fields.
func (j Join) Condition() string {
	return j.LeftDataset + "." + j.LeftColumn + " = " + j.RightDataset + "." + j.RightColumn
}

// Order is one ORDER BY term of a dedupe.
type Order struct {
	Column string `json:"column"`
	Desc   bool   `json:"desc,omitempty"`
}

// Measure is Func(Column) AS As; Column is empty for count(*).
type Measure struct {
	Func   string `json:"func"` // sum | count
	Column string `json:"column,omitempty"`
	As     string `json:"as"`
}

// Load is the write of the plan.
type Load struct {
	Mode   LoadMode `json:"mode"`
	Target string   `json:"target"`
	Layer  string   `json:"layer"`
	// MergeKey is the signature's merge key; Key (on the step) adds the
	// target's partition key to it (docs/adr/0057).
	MergeKey     string  `json:"merge_key"`
	PartitionKey string  `json:"partition_key,omitempty"`
	Window       *Window `json:"window,omitempty"` // partition_overwrite: the range replaced
}

// Step returns the step with the given ID.
func (p ExecutionPlan) Step(id string) (Step, bool) {
	for _, s := range p.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}

// LoadStep returns the plan's load step; ok is false for a publish-only
// plan, which writes nothing (docs/adr/0073).
func (p ExecutionPlan) LoadStep() (Step, bool) {
	for _, s := range p.Steps {
		if s.Kind == KindLoad {
			return s, true
		}
	}
	return Step{}, false
}

// PublishOnly reports whether the plan is the publish-only template: one
// publish step that reads no earlier step, no load (docs/adr/0073). Such a
// plan runs no code: the workflow updates the Context Registry.
func (p ExecutionPlan) PublishOnly() bool {
	return len(p.Steps) == 1 && p.Steps[0].Kind == KindPublish && len(p.Steps[0].Inputs) == 0
}

// Names returns the column names in order.
func Names(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}
