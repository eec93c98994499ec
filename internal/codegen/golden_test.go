package codegen_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the generators' output")

// goldenCase is one plan whose generated files are pinned in testdata.
type goldenCase struct {
	name string
	sig  func(*catalog.Catalog) signature.Signature
	opts planner.Options
}

var goldenCases = []goldenCase{
	{name: "whitepaper_reconciliation", sig: plannertest.Reconciliation, opts: planner.Options{AsOf: plannertest.AsOf}},
	{name: "aggregate_faturamento_uf", sig: plannertest.RevenueByState},
	{name: "dedupe_documentos_overwrite", sig: plannertest.DocumentDedupe, opts: planner.Options{Strategy: planner.PartitionOverwriteSafe}},
	// The 5.4 composite's publish_audit_view branch: no load, nothing to run.
	{name: "publish_only_faturamento_uf", sig: plannertest.PublishOnly, opts: planner.Options{Composite: true}},
	// Reads (docs/adr/0132): one SELECT, PII masked (docs/adr/0133).
	{name: "read_count_invoices", sig: plannertest.CountInvoices, opts: readOpts},
	{name: "read_invoices_of_day", sig: plannertest.InvoicesOfDay, opts: readOpts},
	{name: "read_revenue_by_uf_last_7_days", sig: plannertest.RevenueByUFLast7Days, opts: readOpts},
	{name: "read_clientes", sig: plannertest.ReadClientes, opts: planner.Options{Masks: plannertest.ReadMasks(), RowLimit: 20}},
	{name: "read_sp_segments", sig: plannertest.SegmentsOfSP, opts: readOpts},
}

var readOpts = planner.Options{AsOf: plannertest.ReadAsOf, Masks: plannertest.ReadMasks()}

func planFor(t testing.TB, cat *catalog.Catalog, gc goldenCase) planner.ExecutionPlan {
	t.Helper()
	p, err := planner.Plan(gc.sig(cat), cat, gc.opts)
	require.NoError(t, err)
	return p
}

func TestGolden(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	for _, backend := range []codegen.Backend{codegen.Postgres{}, codegen.DBT{}} {
		for _, gc := range goldenCases {
			t.Run(backend.Name()+"/"+gc.name, func(t *testing.T) {
				t.Parallel()
				art, err := backend.Generate(planFor(t, cat, gc), cat)
				require.NoError(t, err)
				for _, f := range art.Files {
					path := filepath.Join("testdata", backend.Name(), gc.name, f.Path+".golden")
					if *update {
						require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
						require.NoError(t, os.WriteFile(path, []byte(f.Content), 0o644))
					}
					want, err := os.ReadFile(path)
					require.NoError(t, err, "run go test ./internal/codegen -update to create %s", path)
					require.Equal(t, string(want), f.Content, "%s differs: review, then go test ./internal/codegen -update", path)
				}
			})
		}
	}
}
