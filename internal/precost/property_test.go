package precost_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

// randomCase draws a catalog and a signature over it: 1–4 sources and 0–2
// targets, sizes from 1 MiB to 8 TiB (around the 1 GiB broadcast edge
// too), some partitioned by processing_date, random operations, anonymize
// lists and temporal filters.
func randomCase(r *rand.Rand) (*catalog.Catalog, signature.Signature) {
	sizes := []int64{1 << 20, 512 << 20, 1<<30 - 1, 1 << 30, 3 << 30, 100 << 30, 1 << 40, 8 << 40}
	var cat catalog.Catalog
	sig := signature.Signature{Intent: "random"}
	nSrc, nTgt := 1+r.IntN(4), r.IntN(3)
	for i := range nSrc + nTgt {
		d := catalog.Dataset{Name: fmt.Sprintf("d%d", i), SizeBytes: sizes[r.IntN(len(sizes))] + r.Int64N(1<<30)}
		if r.IntN(3) > 0 {
			d.PartitionKey = "processing_date"
		}
		if r.IntN(2) == 0 {
			d.PII = []string{"cpf"}
		}
		cat.Datasets = append(cat.Datasets, d)
		role := signature.RoleSource
		if i >= nSrc {
			role = signature.RoleTarget
		}
		sig.Datasets = append(sig.Datasets, signature.Dataset{Name: d.Name, Role: role})
		if r.IntN(3) == 0 {
			sig.Constraints.Anonymize = append(sig.Constraints.Anonymize, d.Name+".cpf")
		}
	}
	for _, op := range []string{signature.OpAnonymize, signature.OpJoin, signature.OpEnrich, signature.OpDedupe, signature.OpAggregate, signature.OpMerge} {
		if r.IntN(2) == 0 {
			sig.Operations = append(sig.Operations, op)
		}
	}
	sig.Constraints.MergeKeyRequired = r.IntN(2) == 0
	if r.IntN(4) > 0 {
		sig.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 1 + r.IntN(500)}
	}
	return &cat, sig
}

// TestModelIsMonotonic: more data or fewer filters never costs less,
// neither in DBU nor in shuffle, over 2000 random intents.
func TestModelIsMonotonic(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 322))
	cost := func(cat *catalog.Catalog, sig signature.Signature) precost.Estimate {
		e, err := precost.EstimateCost(precost.Input{Signature: sig, Catalog: cat, Now: now})
		require.NoError(t, err)
		return e
	}
	notLess := func(base, more precost.Estimate, what string, i int) {
		require.GreaterOrEqual(t, more.EstimatedDBU, base.EstimatedDBU, "case %d: %s lowered estimated_dbu", i, what)
		require.GreaterOrEqual(t, more.EstimatedShuffleGB, base.EstimatedShuffleGB, "case %d: %s lowered estimated_shuffle_gb", i, what)
		require.GreaterOrEqual(t, more.CostRiskScore, base.CostRiskScore, "case %d: %s lowered cost_risk_score", i, what)
	}
	for i := range 2000 {
		cat, sig := randomCase(r)
		base := cost(cat, sig)

		// More data: grow one dataset.
		grown := &catalog.Catalog{Datasets: append([]catalog.Dataset(nil), cat.Datasets...)}
		k := r.IntN(len(grown.Datasets))
		grown.Datasets[k].SizeBytes += 1 + r.Int64N(grown.Datasets[k].SizeBytes*2)
		notLess(base, cost(grown, sig), "growing "+grown.Datasets[k].Name, i)

		if tf := sig.Constraints.TemporalFilter; tf != nil {
			// Fewer filters: widen it, then drop it.
			wider := sig
			wider.Constraints.TemporalFilter = &signature.TemporalFilter{Column: tf.Column, LastDays: tf.LastDays + 1 + r.IntN(400)}
			widerE := cost(cat, wider)
			notLess(base, widerE, "widening the filter", i)
			dropped := sig
			dropped.Constraints.TemporalFilter = nil
			notLess(widerE, cost(cat, dropped), "dropping the filter", i)
		}

		// Price itself is non-decreasing in days.
		prev := base.Shape.Price(1)
		for _, d := range []int{2, 7, 30, 90, 364, 365, 366, 1000} {
			next := base.Shape.Price(d)
			require.GreaterOrEqual(t, next.DBU, prev.DBU, "case %d: Price(%d)", i, d)
			require.GreaterOrEqual(t, next.ShuffleGiB, prev.ShuffleGiB, "case %d: Price(%d)", i, d)
			prev = next
		}
		require.GreaterOrEqual(t, base.Shape.Price(0).DBU, prev.DBU, "case %d: no filter is the most expensive", i)
	}
}

// TestDeterministic: the same input gives the identical Estimate, however
// the signature lists its datasets and the history its runs.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	in := input(t, reconcile(30))
	in.History = runsAt(23.5, day, 2*day, 5*day, 9*day, 40*day)
	in.History[2].ActualDBU = 31.25
	want := estimate(t, in)
	for range 100 {
		shuffled := in
		shuffled.Signature.Datasets = append([]signature.Dataset(nil), in.Signature.Datasets...)
		shuffled.History = append([]precost.Run(nil), in.History...)
		r.Shuffle(len(shuffled.Signature.Datasets), func(i, j int) {
			shuffled.Signature.Datasets[i], shuffled.Signature.Datasets[j] = shuffled.Signature.Datasets[j], shuffled.Signature.Datasets[i]
		})
		r.Shuffle(len(shuffled.History), func(i, j int) { shuffled.History[i], shuffled.History[j] = shuffled.History[j], shuffled.History[i] })
		got := estimate(t, shuffled)
		require.Equal(t, want, got)
		require.Equal(t, precost.Evaluate(want, 0), precost.Evaluate(got, 0))
	}
}

func BenchmarkEstimateCost(b *testing.B) {
	in := input(b, reconcile(30))
	in.History = runsAt(23.5, day, 2*day, 5*day, 9*day, 40*day)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := precost.EstimateCost(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateOverCeiling(b *testing.B) {
	e := estimate(b, input(b, reconcile(0)))
	b.ReportAllocs()
	for b.Loop() {
		if v := precost.Evaluate(e, 0); v.Action != precost.ActionForceReplanWithFilter {
			b.Fatal(v.Action)
		}
	}
}
