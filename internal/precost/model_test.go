package precost_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestWhitepaperReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lastDays int
		dbu      float64 // rounded figure quoted in docs/adr/0050
		risk     float64
	}{
		{"unbounded scan of 4TB nfe is six times the ceiling", 0, 304.03, 1},
		{"30-day filter fits half the ceiling", 30, 25.02, 25.02 / 50},
		{"7-day filter", 7, 5.86, 5.86 / 50},
		{"a filter wider than the partition span reads everything", 400, 304.03, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := estimate(t, input(t, reconcile(tc.lastDays)))
			require.InDelta(t, reconcileDBU(tc.lastDays), e.EstimatedDBU, 1e-9)
			require.InDelta(t, tc.dbu, e.EstimatedDBU, 0.005)
			require.InDelta(t, tc.risk, e.CostRiskScore, 0.0005)
			require.Zero(t, e.EstimatedShuffleGB, "clientes (500MB) is broadcast: no shuffle")
			require.Equal(t, precost.BasisModel, e.Basis)
			require.Equal(t, precost.ModelConfidenceFloor, e.Confidence)
			require.Equal(t, float64(precost.DefaultCostCeilingDBU), e.CostCeilingDBU)
			require.Equal(t, "processing_date", e.Shape.FilterColumn)
		})
	}
}

func TestWhitepaperBreakdown(t *testing.T) {
	t.Parallel()
	e := estimate(t, input(t, reconcile(30)))
	sel := 30.0 / 365
	require.InDelta(t, nfeGiB*sel+clientesGiB, e.Model.ScanGiB, 1e-9)
	require.InDelta(t, nfeGiB*sel+clientesGiB, e.Model.AnonymizeGiB, 1e-9)
	require.InDelta(t, nfeGiB*sel+clientesGiB, e.Model.WriteGiB, 1e-9)
	require.InDelta(t, silverGiB*sel, e.Model.MergeReadGiB, 1e-9, "the merge reads only the window's target partitions")
	require.Equal(t, []string{"clientes", "nfe"}, []string{e.Shape.Sources[0].Name, e.Shape.Sources[1].Name})
	require.Equal(t, 365, e.Shape.Sources[1].SpanDays)
	require.Zero(t, e.Shape.Sources[0].SpanDays, "clientes is not partitioned")
}

func TestShuffle(t *testing.T) {
	t.Parallel()
	cat := handCatalog(
		catalog.Dataset{Name: "big", SizeBytes: 100 << 30, PartitionKey: "d"},
		catalog.Dataset{Name: "mid", SizeBytes: 10 << 30},
		catalog.Dataset{Name: "small", SizeBytes: 512 << 20},
		catalog.Dataset{Name: "out", SizeBytes: 1 << 30},
	)
	sig := func(ops []string, sources ...string) signature.Signature {
		s := signature.Signature{Intent: "t", Operations: ops}
		for _, n := range sources {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: n, Role: signature.RoleSource})
		}
		s.Datasets = append(s.Datasets, signature.Dataset{Name: "out", Role: signature.RoleTarget})
		return s
	}
	tests := []struct {
		name    string
		sig     signature.Signature
		shuffle float64
		dbu     float64
	}{
		{"broadcast join: the side under 1 GiB shuffles nothing", sig([]string{signature.OpJoin}, "big", "small"),
			0, (100.5*1 + 100.5*2) / 64.0},
		{"hash join: both sides over 1 GiB are shuffled", sig([]string{signature.OpJoin}, "big", "mid"),
			110, (110*1 + 110*4 + 110*2) / 64.0},
		{"three sides: the small one broadcast, the other two shuffled", sig([]string{signature.OpEnrich}, "big", "mid", "small"),
			110, (110.5*1 + 110*4 + 110.5*2) / 64.0},
		{"two sources without a join operation are not joined", sig(nil, "big", "mid"),
			0, (110*1 + 110*2) / 64.0},
		{"dedupe shuffles its whole input", sig([]string{signature.OpDedupe}, "mid"),
			10, (10*1 + 10*4 + 10*2) / 64.0},
		{"aggregate shuffles its input and writes 1% of it", sig([]string{signature.OpAggregate}, "mid"),
			10, (10*1 + 10*4 + 0.1*2) / 64.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := estimate(t, precost.Input{Signature: tc.sig, Catalog: cat, Now: now})
			require.InDelta(t, tc.shuffle, e.EstimatedShuffleGB, 1e-9)
			require.InDelta(t, tc.dbu, e.EstimatedDBU, 1e-9)
		})
	}
}

func TestFilterDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tf   signature.TemporalFilter
		days int
	}{
		{"last_days", signature.TemporalFilter{Column: "processing_date", LastDays: 30}, 30},
		{"from..to is to minus from, to exclusive", signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-02-01"}, 31},
		{"from alone runs through today (5.5's processing_date >= '2026-01-01')", signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"}, 81},
		{"from in the future still reads one day", signature.TemporalFilter{Column: "processing_date", From: "2027-01-01"}, 1},
		{"to alone bounds nothing from below", signature.TemporalFilter{Column: "processing_date", To: "2026-02-01"}, 0},
		{"the narrowest bound wins", signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", LastDays: 7}, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := reconcile(0)
			sig.Constraints.TemporalFilter = &tc.tf
			e := estimate(t, input(t, sig))
			require.Equal(t, tc.days, e.Shape.FilterDays)
			require.InDelta(t, reconcileDBU(tc.days), e.EstimatedDBU, 1e-9)
		})
	}
}

func TestPartitionSpanOverride(t *testing.T) {
	t.Parallel()
	m := precost.DefaultModel()
	m.PartitionSpanDays = map[string]int{"nfe": 730}
	in := input(t, reconcile(30))
	in.Model = &m
	e := estimate(t, in)
	require.Equal(t, 730, e.Shape.Sources[1].SpanDays)
	require.Equal(t, 365, e.Shape.Targets[0].SpanDays, "silver_documentos keeps the default span")
	require.Less(t, e.EstimatedDBU, reconcileDBU(30), "a longer history makes 30 days a smaller share")
}

func TestNilCatalogUsesSignatureCopies(t *testing.T) {
	t.Parallel()
	sig := reconcile(30)
	for i, d := range sig.Datasets {
		cd, ok := fiscalCatalog(t).Get(d.Name)
		require.True(t, ok)
		sig.Datasets[i].SizeBytes = cd.SizeBytes
	}
	e := estimate(t, precost.Input{Signature: sig, Now: now})
	require.InDelta(t, reconcileDBU(30), e.EstimatedDBU, 1e-9)
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	zeroSize := handCatalog(catalog.Dataset{Name: "nfe", PartitionKey: "processing_date"})
	bad := precost.DefaultModel()
	bad.ShuffleWeight = 0
	tests := []struct {
		name   string
		mutate func(*precost.Input)
		says   string
	}{
		{"dataset missing from the catalog", func(in *precost.Input) { in.Signature.Datasets[0].Name = "nfee" },
			`dataset "nfee" is not in catalog snapshot`},
		{"unknown dataset size 0", func(in *precost.Input) { in.Catalog = zeroSize; in.Signature.Datasets = in.Signature.Datasets[:1] },
			`dataset "nfe" has unknown size (0 bytes): declare its size in the catalog entry`},
		{"negative ceiling", func(in *precost.Input) { in.CostCeilingDBU = -1 },
			"cost_ceiling_dbu is -1: set a positive number of DBU"},
		{"zero now", func(in *precost.Input) { in.Now = time.Time{} },
			"Input.Now is zero: pass the workflow's time"},
		{"unknown role", func(in *precost.Input) { in.Signature.Datasets[0].Role = "lookup" },
			`dataset "nfe" has role "lookup": set role to "source" or "target"`},
		{"no dataset", func(in *precost.Input) { in.Signature.Datasets = nil },
			"names no dataset"},
		{"negative history cost", func(in *precost.Input) { in.History = []precost.Run{{At: now, ActualDBU: -3}} },
			"record finite, non-negative costs"},
		{"bad date", func(in *precost.Input) {
			in.Signature.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "01/02/2026"}
		}, "write it as YYYY-MM-DD"},
		{"empty range", func(in *precost.Input) {
			in.Signature.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-02-01", To: "2026-02-01"}
		}, "is empty: set to after from"},
		{"filter without column", func(in *precost.Input) {
			in.Signature.Constraints.TemporalFilter = &signature.TemporalFilter{LastDays: 3}
		}, "temporal_filter has no column"},
		{"model with a zero weight", func(in *precost.Input) { in.Model = &bad }, "model shuffle_weight is 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := input(t, reconcile(30))
			tc.mutate(&in)
			_, err := precost.EstimateCost(in)
			require.ErrorIs(t, err, precost.ErrInvalidInput)
			require.ErrorContains(t, err, tc.says)
			require.ErrorContains(t, err, `pre-cost estimate of intent "reconciliation_and_persist"`)
		})
	}
}

func TestWrittenDBU(t *testing.T) {
	t.Parallel()
	m := precost.DefaultModel()
	require.Zero(t, m.WrittenDBU(0, true))
	require.InDelta(t, (1+3)/64.0, m.WrittenDBU(precost.GiB, true), 1e-12, "1 precost.GiB read and merged")
	require.InDelta(t, (1+2)/64.0, m.WrittenDBU(precost.GiB, false), 1e-12, "1 precost.GiB read and overwritten")
	require.Less(t, m.WrittenDBU(precost.GiB, true), m.WrittenDBU(2*precost.GiB, true))
}

// TestPublishOnlyCostsNothing: a publish-only intent (no source, publish)
// reads and writes no data, even with the merge set_merge_key added; a
// write to the same target with a source is still priced.
func TestPublishOnlyCostsNothing(t *testing.T) {
	t.Parallel()
	cat := fiscalCatalog(t)
	pub := plannertest.PublishOnly(cat)
	e := estimate(t, input(t, pub))
	require.Zero(t, e.EstimatedDBU)
	require.Zero(t, e.Model.MergeReadGiB)
	require.Len(t, e.Shape.Targets, 1, "the target stays in the priced shape")

	write := pub
	write.Datasets = append(write.Datasets, signature.Dataset{Name: "silver_documentos", Role: signature.RoleSource})
	require.Positive(t, estimate(t, input(t, write)).EstimatedDBU)
}
