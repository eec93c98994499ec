package plannertest

import (
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// ReadAsOf is the date the read fixtures resolve last_days against: the
// seeded data plane's last day (dataplane.DemoAsOf).
const ReadAsOf = "2026-01-03"

// ReadMasks is the shipped privacy wall's masking of the fixtures' PII:
// cpf hashed, email redacted (policies/privacy_wall.yaml).
func ReadMasks() map[string]planner.Mask {
	return map[string]planner.Mask{"nfe.cpf": planner.MaskSHA256, "clientes.cpf": planner.MaskSHA256, "clientes.email": planner.MaskRedact}
}

func read(cat *catalog.Catalog, intent string, ops []string, sel *signature.Selection, tf *signature.TemporalFilter, sources ...string) signature.Signature {
	sig := signature.Signature{Domain: "fiscal", Intent: intent, TargetLayer: signature.LayerBronze, Operations: ops, Selection: sel,
		Constraints:      signature.Constraints{TemporalFilter: tf},
		ExecutionContext: signature.ExecutionContext{CatalogSnapshotVersion: cat.SnapshotVersion}}
	for _, s := range sources {
		sig.Datasets = append(sig.Datasets, src(s))
	}
	return sig
}

// CountInvoices is "count invoices" after the Policy Engine's
// add_temporal_filter replan: count(*) of nfe over the last 30 days.
func CountInvoices(cat *catalog.Catalog) signature.Signature {
	return read(cat, "count_nfe", []string{signature.OpAggregate},
		&signature.Selection{Measures: []signature.Measure{{Function: signature.FuncCount}}},
		&signature.TemporalFilter{Column: "processing_date", LastDays: 30}, "nfe")
}

// InvoicesOfDay is "show me nfe for 2026-01-02": every column of one day,
// cpf hashed.
func InvoicesOfDay(cat *catalog.Catalog) signature.Signature {
	return read(cat, "read_nfe", []string{planner.OpRead}, nil,
		&signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-03"}, "nfe")
}

// RevenueByUFLast7Days is "sum of valor_total by uf last 7 days".
func RevenueByUFLast7Days(cat *catalog.Catalog) signature.Signature {
	return read(cat, "sum_valor_total_by_uf", []string{signature.OpAggregate},
		&signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{{Function: signature.FuncSum, Column: "nfe.valor_total"}}},
		&signature.TemporalFilter{Column: "processing_date", LastDays: 7}, "nfe")
}

// ReadClientes is "read clientes": every column, cpf hashed, email
// redacted.
func ReadClientes(cat *catalog.Catalog) signature.Signature {
	return read(cat, "read_clientes", []string{planner.OpRead}, nil, nil, "clientes")
}

// SegmentsOfSP is a read with a join, filters and a distinct count over
// PII: customers and invoices of SP above 100 by segmento.
func SegmentsOfSP(cat *catalog.Catalog) signature.Signature {
	return read(cat, "sp_segments", []string{signature.OpJoin, signature.OpAggregate},
		&signature.Selection{
			GroupBy:  []string{"clientes.segmento"},
			Measures: []signature.Measure{{Function: signature.FuncCount}, {Function: signature.FuncCountDistinct, Column: "nfe.cpf"}, {Function: signature.FuncAvg, Column: "nfe.valor_total"}},
			Filters:  []signature.RowFilter{{Column: "nfe.uf", Operator: "=", Value: "SP"}, {Column: "nfe.valor_total", Operator: ">", Value: "100"}},
		},
		&signature.TemporalFilter{Column: "processing_date", LastDays: 30}, "nfe", "clientes")
}
