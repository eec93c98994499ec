// Package plannertest holds the signatures the planner and codegen tests
// share: the whitepaper reconciliation, an aggregate, a dedupe and the
// publish-only sub-intent of the 5.4 composite.
package plannertest

import (
	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// AsOf is the workflow date the fixtures resolve last_days against.
const AsOf = "2026-03-22"

// Catalog loads the shipped catalog; it panics on error, which only a broken
// checkout causes.
func Catalog() *catalog.Catalog {
	cat, err := catalog.Load(catalogfiles.FS)
	if err != nil {
		panic(err)
	}
	return cat
}

func src(name string) signature.Dataset {
	return signature.Dataset{Name: name, Role: signature.RoleSource}
}
func tgt(name string) signature.Dataset {
	return signature.Dataset{Name: name, Role: signature.RoleTarget}
}

// Reconciliation is the whitepaper 5.2 signature after the Policy Engine's
// replan: clientes.cpf/email anonymized, merge on nfe_id, last 30 days of nfe.
func Reconciliation(cat *catalog.Catalog) signature.Signature {
	return signature.Signature{
		Domain:      "fiscal_data_processing",
		Intent:      "reconciliation_and_persist",
		SourceType:  "nested_json",
		TargetLayer: "bronze_to_silver",
		Operations:  []string{signature.OpIngest, signature.OpAnonymize, signature.OpJoin, signature.OpMerge},
		Datasets:    []signature.Dataset{src("nfe"), src("clientes"), tgt("silver_documentos")},
		Constraints: signature.Constraints{
			NoPIIRaw:         true,
			PartitionBy:      []string{"processing_date"},
			EnforceTypes:     true,
			MergeKeyRequired: true,
			MergeKey:         "nfe_id",
			TemporalFilter:   &signature.TemporalFilter{Column: "processing_date", LastDays: 30},
			Anonymize:        []string{"clientes.cpf", "clientes.email"},
		},
		ExecutionContext: signature.ExecutionContext{
			PolicyBundleVersion:    "v1.0.0",
			CatalogSnapshotVersion: cat.SnapshotVersion,
			RegistryVersionID:      "reg_0001",
		},
	}
}

// RevenueByState aggregates silver_documentos into gold_faturamento_uf.
func RevenueByState(cat *catalog.Catalog) signature.Signature {
	return signature.Signature{
		Domain:      "fiscal_data_processing",
		Intent:      "revenue_by_state",
		TargetLayer: "silver_to_gold",
		Operations:  []string{signature.OpAggregate, signature.OpMerge, signature.OpPublish},
		Datasets:    []signature.Dataset{src("silver_documentos"), tgt("gold_faturamento_uf")},
		Constraints: signature.Constraints{
			NoPIIRaw:         true,
			EnforceTypes:     true,
			MergeKeyRequired: true,
			MergeKey:         "uf",
			TemporalFilter:   &signature.TemporalFilter{Column: "processing_date", From: "2026-03-01", To: "2026-03-22"},
		},
		ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion},
	}
}

// DocumentDedupe ingests nfe into silver_documentos alone: cpf hashed in
// place, duplicates removed, the window overwritten.
func DocumentDedupe(cat *catalog.Catalog) signature.Signature {
	return signature.Signature{
		Domain:      "fiscal_data_processing",
		Intent:      "documents_dedupe",
		TargetLayer: "bronze_to_silver",
		Operations:  []string{signature.OpIngest, signature.OpAnonymize, signature.OpDedupe},
		Datasets:    []signature.Dataset{src("nfe"), tgt("silver_documentos")},
		Constraints: signature.Constraints{
			NoPIIRaw:         true,
			EnforceTypes:     true,
			MergeKeyRequired: true,
			MergeKey:         "nfe_id",
			TemporalFilter:   &signature.TemporalFilter{Column: "processing_date", From: "2026-03-15", To: "2026-03-22"},
			Anonymize:        []string{"nfe.cpf"},
		},
		ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion},
	}
}

// PublishOnly is the whitepaper 5.4 composite's publish_audit_view
// sub-intent, "publish gold_faturamento_uf", as resolution and the Policy
// Engine's set_merge_key replan leave it: one target, no source, operations
// merge and publish.
func PublishOnly(cat *catalog.Catalog) signature.Signature {
	return signature.Signature{
		Domain:      "fiscal",
		Intent:      "publish_dataset",
		SourceType:  "delta",
		TargetLayer: "gold_to_gold",
		Operations:  []string{signature.OpMerge, signature.OpPublish},
		Datasets:    []signature.Dataset{tgt("gold_faturamento_uf")},
		Constraints: signature.Constraints{
			NoPIIRaw:         true,
			PartitionBy:      []string{"processing_date"},
			EnforceTypes:     true,
			MergeKeyRequired: true,
			MergeKey:         "uf",
		},
		Replan:           1,
		ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion},
	}
}
