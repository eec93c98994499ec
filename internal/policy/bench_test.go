package policy_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/policy"
)

// BenchmarkEvaluate: the shipped bundle on the 5.2 signature (facts
// derivation included; four rules fire).
func BenchmarkEvaluate(b *testing.B) {
	bundle := mustDefault(b)
	sig, env := whitepaperSignature(), testEnv()
	b.ReportAllocs()
	for b.Loop() {
		ev := bundle.Evaluate(sig, env)
		if ev.Outcome != policy.Replan {
			b.Fatal(ev.Outcome)
		}
	}
}

// BenchmarkEvaluateCompliant: the same, on a signature no rule fires on.
func BenchmarkEvaluateCompliant(b *testing.B) {
	bundle := mustDefault(b)
	sig, env := governedSignature(), testEnv()
	b.ReportAllocs()
	for b.Loop() {
		if ev := bundle.Evaluate(sig, env); ev.Outcome != policy.Approve {
			b.Fatal(ev.Outcome)
		}
	}
}

// BenchmarkGovern: evaluate, replan once, hash both signatures, approve.
func BenchmarkGovern(b *testing.B) {
	bundle := mustDefault(b)
	sig, env, cat := whitepaperSignature(), testEnv(), testCatalog()
	b.ReportAllocs()
	for b.Loop() {
		g, err := policy.Govern(sig, env, cat, bundle)
		if err != nil || len(g.Attempts) != 2 {
			b.Fatal(err, len(g.Attempts))
		}
	}
}

// TestEvaluateStaysFlat runs 1,000,000 evaluations (skipped with -short) and
// checks the last slice of calls is no slower than the first: no state
// accumulates across calls.
func TestEvaluateStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000 evaluations")
	}
	// Flatness is asserted on allocations and retained heap, which are
	// exact, not on wall time; BenchmarkEvaluate reports the speed.
	bundle := mustDefault(t)
	sig, env := whitepaperSignature(), testEnv()
	eval := func() { bundle.Evaluate(sig, env) }
	allocsBefore := testing.AllocsPerRun(1000, eval)
	heapBefore := heapAfterGC()
	for range 1_000_000 {
		eval()
	}
	allocsAfter := testing.AllocsPerRun(1000, eval)
	heapAfter := heapAfterGC()
	t.Logf("allocs/eval %.0f → %.0f, live heap %d → %d bytes", allocsBefore, allocsAfter, heapBefore, heapAfter)
	require.Equal(t, allocsBefore, allocsAfter, "allocations per evaluation grew over 1,000,000 calls")
	require.Less(t, heapAfter, heapBefore+1<<20, "live heap grew by more than 1 MiB over 1,000,000 calls")
}

func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
