package precost_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

// now is the demo's clock (5.2's catalog_2026_03_22), passed, never read.
var now = time.Date(2026, 3, 22, 12, 0, 0, 0, time.UTC)

func fiscalCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	return c
}

// reconcile is the whitepaper's 5.2 intent after the Policy Engine's
// replans (anonymize_pii, set_merge_key): nfe (4TB, high_volume,
// partitioned by processing_date) joined with clientes (500MB) and merged
// into silver_documentos. lastDays 0 leaves the scan unbounded.
func reconcile(lastDays int) signature.Signature {
	s := signature.Signature{
		Domain: "fiscal_data_processing", Intent: "reconciliation_and_persist", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpAnonymize, signature.OpJoin, signature.OpMerge},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, Classification: "high_volume", PartitionKey: "processing_date", PII: []string{"cpf"}},
			{Name: "clientes", Role: signature.RoleSource, Classification: "sensitive", PII: []string{"cpf", "email"}},
			{Name: "silver_documentos", Role: signature.RoleTarget, Classification: "internal", PartitionKey: "processing_date", MergeKey: "nfe_id"},
		},
		Constraints: signature.Constraints{
			NoPIIRaw: true, PartitionBy: []string{"processing_date"}, EnforceTypes: true, MergeKeyRequired: true, MergeKey: "nfe_id",
			Anonymize: []string{"clientes.cpf", "clientes.email", "nfe.cpf"},
		},
	}
	if lastDays > 0 {
		s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: lastDays}
	}
	return s
}

func input(t testing.TB, sig signature.Signature) precost.Input {
	return precost.Input{Signature: sig, Catalog: fiscalCatalog(t), Now: now}
}

func estimate(t testing.TB, in precost.Input) precost.Estimate {
	t.Helper()
	e, err := precost.EstimateCost(in)
	require.NoError(t, err)
	return e
}

// Catalog sizes in GiB, for the hand computations below.
const (
	nfeGiB      = 4096.0       // 4TB
	clientesGiB = 500.0 / 1024 // 500MB
	silverGiB   = 1024.0       // 1TB, silver_documentos
)

// reconcileDBU is the model's price of reconcile(days) written out by hand
// (docs/adr/0050): every source byte is scanned (1), hashed (0.5, both
// sources are anonymized) and merged (3); the merge reads the target's
// window (1); clientes is under 1 GiB, so the join is broadcast.
func reconcileDBU(days int) float64 {
	sel := 1.0
	if days > 0 {
		sel = min(1, float64(days)/365)
	}
	return ((nfeGiB*sel+clientesGiB)*(1+0.5+3) + silverGiB*sel) / 64
}

// handCatalog builds a catalog of the given datasets (sizes in bytes).
func handCatalog(ds ...catalog.Dataset) *catalog.Catalog {
	return &catalog.Catalog{SnapshotVersion: "catalog_test", Datasets: ds}
}
