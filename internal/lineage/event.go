package lineage

// SpecVersion is the OpenLineage specification the events follow.
const SpecVersion = "2-0-2"

// Schema URLs of the core spec and of the standard facets the events carry
// (the versions their fields follow).
const (
	RunEventSchemaURL       = "https://openlineage.io/spec/" + SpecVersion + "/OpenLineage.json#/$defs/RunEvent"
	SchemaFacetURL          = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	ColumnLineageFacetURL   = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	JobTypeFacetURL         = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	ErrorMessageFacetURL    = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	GovernanceFacetURL      = "https://github.com/contextualflux/cfa/blob/main/internal/lineage/testdata/openlineage-run-event.schema.json#/$defs/CFAGovernanceRunFacet"
	DefaultProducer         = "https://github.com/contextualflux/cfa"
	DefaultNamespace        = "cfa"
	DefaultDatasetNamespace = "postgres://localhost:5432"
)

// GovernanceFacetName is the key of the custom run facet that carries the
// CFA decision (prefixed, as the spec asks of custom facets).
const GovernanceFacetName = "cfa_governance"

// EventType is a run state transition.
type EventType string

// The transitions CFA emits (the spec also has RUNNING and OTHER).
const (
	Start    EventType = "START"
	Complete EventType = "COMPLETE"
	Fail     EventType = "FAIL"
	Abort    EventType = "ABORT"
)

// RunEvent is an OpenLineage RunEvent. Its fields are declared in a fixed
// order and its facet maps marshal with sorted keys, so encoding/json
// gives the same bytes for the same value.
type RunEvent struct {
	EventType EventType `json:"eventType"`
	// EventTime is RFC 3339 in UTC: the time of the receipt the event
	// reports (workflow time).
	EventTime string    `json:"eventTime"`
	Run       Run       `json:"run"`
	Job       Job       `json:"job"`
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
}

// Run is the run of one intent's execution.
type Run struct {
	RunID  string    `json:"runId"`
	Facets RunFacets `json:"facets"`
}

// RunFacets are the run facets CFA emits.
type RunFacets struct {
	Governance   *GovernanceFacet   `json:"cfa_governance,omitempty"`
	ErrorMessage *ErrorMessageFacet `json:"errorMessage,omitempty"`
}

// Job is the recurring work an intent is a run of.
type Job struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Facets    JobFacets `json:"facets"`
}

// JobFacets are the job facets CFA emits.
type JobFacets struct {
	JobType *JobTypeFacet `json:"jobType,omitempty"`
}

// Dataset is an input or output dataset.
type Dataset struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Facets    DatasetFacets `json:"facets"`
}

// DatasetFacets are the dataset facets CFA emits: the schema of every
// dataset, the column lineage of an output.
type DatasetFacets struct {
	Schema        *SchemaFacet        `json:"schema,omitempty"`
	ColumnLineage *ColumnLineageFacet `json:"columnLineage,omitempty"`
}

// BaseFacet is what every facet carries.
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// SchemaFacet is SchemaDatasetFacet: the dataset's columns and types.
type SchemaFacet struct {
	BaseFacet
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one column.
type SchemaField struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// ColumnLineageFacet is ColumnLineageDatasetFacet: for each output column,
// the input columns it is computed from (Fields), and the input columns
// that decide which rows are written (Dataset: joins, filters, groupings).
type ColumnLineageFacet struct {
	BaseFacet
	Fields  map[string]ColumnLineageField `json:"fields"`
	Dataset []InputField                  `json:"dataset,omitempty"`
}

// ColumnLineageField is the lineage of one output column.
type ColumnLineageField struct {
	InputFields []InputField `json:"inputFields"`
}

// InputField is one input column and how it reaches the output.
type InputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []Transformation `json:"transformations,omitempty"`
}

// Transformation says how an input column contributes: DIRECT (its value
// flows into the output: IDENTITY, TRANSFORMATION, AGGREGATION) or
// INDIRECT (it selects rows: JOIN, FILTER, GROUP_BY). Masking: the value
// is hashed or aggregated away.
type Transformation struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype,omitempty"`
	Description string `json:"description,omitempty"`
	Masking     bool   `json:"masking"`
}

// JobTypeFacet is JobTypeJobFacet.
type JobTypeFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// ErrorMessageFacet is ErrorMessageRunFacet: why a run failed or was
// aborted (the decision's reason).
type ErrorMessageFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
}

// GovernanceFacet is the custom run facet cfa_governance: the CFA decision
// behind the run and the receipts it is derived from, so a lineage reader
// can verify it against the audit chain (`cfa audit verify`).
type GovernanceFacet struct {
	BaseFacet
	IntentID      string `json:"intent_id"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// TraceID is the intent's OpenTelemetry trace, when it was traced.
	TraceID string `json:"trace_id,omitempty"`
	// DecisionState, DecidedBy, Reason and Faults are the DECISION's, on
	// COMPLETE, FAIL and ABORT only.
	DecisionState string   `json:"decision_state,omitempty"`
	DecidedBy     string   `json:"decided_by,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Faults        []string `json:"faults,omitempty"`
	// IntentSignatureHash is the hash of the signature that ran.
	IntentSignatureHash    string `json:"intent_signature_hash"`
	PlanHash               string `json:"plan_hash,omitempty"`
	CodeHash               string `json:"code_hash,omitempty"`
	PolicyBundleVersion    string `json:"policy_bundle_version"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version,omitempty"`
	// RegistryVersionID is the Context Registry snapshot the signature was
	// signed in; ProjectedVersionID the one the execution committed.
	RegistryVersionID  string `json:"registry_version_id,omitempty"`
	ProjectedVersionID string `json:"projected_version_id,omitempty"`
	// ReceiptID is the receipt the event reports (the revalidation or
	// publication that started the run, or its DECISION); ReceiptIDs the
	// receipts the event is derived from, in seq order: from the signature
	// that ran through ReceiptID (and INTENT_COMPLETED, when sealed with
	// the decision).
	ReceiptID  string   `json:"receipt_id"`
	ReceiptIDs []string `json:"receipt_ids"`
}
