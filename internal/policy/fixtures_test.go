package policy_test

import (
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// whitepaperSignature is the 5.2 example: nfe (4TB, high_volume) reconciled
// with clientes (500MB, sensitive, PII cpf and email) and persisted to silver.
func whitepaperSignature() signature.Signature {
	return signature.Signature{
		Domain:      "fiscal_data_processing",
		Intent:      "reconciliation_and_persist",
		SourceType:  "nested_json",
		TargetLayer: "bronze_to_silver",
		Operations:  []string{signature.OpIngest, signature.OpJoin},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, Layer: "bronze", Size: "4TB", SizeBytes: 4 << 40,
				Classification: "high_volume", SourceType: "nested_json", PartitionKey: "processing_date", MergeKey: "nfe_id"},
			{Name: "clientes", Role: signature.RoleSource, Layer: "bronze", Size: "500MB", SizeBytes: 500 << 20,
				Classification: "sensitive", SourceType: "table", PII: []string{"cpf", "email"}, MergeKey: "cliente_id"},
			{Name: "nfe_reconciliada", Role: signature.RoleTarget, Layer: "silver", Classification: "internal",
				PartitionKey: "processing_date", MergeKey: "nfe_id"},
		},
		Constraints: signature.Constraints{
			NoPIIRaw:         true,
			PartitionBy:      []string{"processing_date"},
			EnforceTypes:     true,
			MergeKeyRequired: true,
		},
		ExecutionContext: signature.ExecutionContext{
			PolicyBundleVersion:    "v1.0.0",
			CatalogSnapshotVersion: "catalog_2026_03_22",
			RegistryVersionID:      "reg_0001",
		},
	}
}

// governedSignature is whitepaperSignature after every treatment: it passes
// the shipped bundle with no rule firing.
func governedSignature() signature.Signature {
	s := whitepaperSignature()
	s.Operations = []string{signature.OpIngest, signature.OpAnonymize, signature.OpJoin, signature.OpMerge}
	s.Constraints.Anonymize = []string{"clientes.cpf", "clientes.email"}
	s.Constraints.MergeKey = "nfe_id"
	s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 30}
	return s
}

func testCatalog() *catalog.Catalog {
	return &catalog.Catalog{
		SnapshotVersion: "catalog_2026_03_22",
		Datasets: []catalog.Dataset{
			{Name: "clientes", Domain: "fiscal_data_processing", Layer: "bronze", Size: "500MB", SizeBytes: 500 << 20,
				Classification: "sensitive", PII: []string{"cpf", "email"}, MergeKey: "cliente_id"},
			{Name: "nfe", Domain: "fiscal_data_processing", Layer: "bronze", Size: "4TB", SizeBytes: 4 << 40,
				Classification: "high_volume", PartitionKey: "processing_date", MergeKey: "nfe_id"},
			{Name: "nfe_reconciliada", Domain: "fiscal_data_processing", Layer: "silver", Classification: "internal",
				PartitionKey: "processing_date", MergeKey: "nfe_id"},
		},
	}
}

func testEnv(states ...registry.DatasetState) registry.EnvironmentState {
	return registry.EnvironmentState{VersionID: "reg_0001", CommittedAt: time.Date(2026, 3, 22, 0, 0, 0, 0, time.UTC), Datasets: states}
}
