// Package catalog is the Data Catalog the Intent Normalizer consults
// (whitepaper 5.1 inputs: data_catalog): versioned dataset metadata whose
// catalog_snapshot_version derives from its content.
package catalog

// Column is one column of a dataset with its declared type and the words
// users call it by (English and Portuguese; docs/adr/0131).
type Column struct {
	Name    string   `json:"name" yaml:"name"`
	Type    string   `json:"type" yaml:"type"`
	Aliases []string `json:"aliases,omitempty" yaml:"aliases,omitempty"`
}

// Dataset is the catalog's entry for one dataset.
type Dataset struct {
	Name           string   `json:"name" yaml:"name"`
	Domain         string   `json:"domain" yaml:"domain"`
	Layer          string   `json:"layer" yaml:"layer"`  // bronze | silver | gold
	Size           string   `json:"size" yaml:"size"`    // 4TB, 500MB
	SizeBytes      int64    `json:"size_bytes" yaml:"-"` // derived from Size at load
	Classification string   `json:"classification" yaml:"classification"`
	SourceType     string   `json:"source_type" yaml:"source_type"`
	PII            []string `json:"pii,omitempty" yaml:"pii,omitempty"`
	Columns        []Column `json:"columns" yaml:"columns"`
	PartitionKey   string   `json:"partition_key,omitempty" yaml:"partition_key,omitempty"`
	MergeKey       string   `json:"merge_key,omitempty" yaml:"merge_key,omitempty"`
	Aliases        []string `json:"aliases,omitempty" yaml:"aliases,omitempty"` // English and Portuguese
	// AnonymizedFrom names the sensitive dataset this one is the treated copy of.
	AnonymizedFrom string `json:"anonymized_from,omitempty" yaml:"anonymized_from,omitempty"`
}

// Catalog is a loaded, validated snapshot of the data catalog.
type Catalog struct {
	// SnapshotVersion is catalog_snapshot_version: "catalog_" + the first 16
	// hex digits of SHA-256 over the canonical content.
	SnapshotVersion string    `json:"catalog_snapshot_version"`
	Datasets        []Dataset `json:"datasets"` // sorted by name

	// terms indexes names and aliases by their folded form; Load builds it
	// once. A Catalog built by hand has none and Lookup indexes per call.
	terms *termIndex
}
