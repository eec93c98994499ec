package policy_test

import (
	"testing"
	"time"

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
	bundle := mustDefault(t)
	sig, env := whitepaperSignature(), testEnv()
	const total, window = 1_000_000, 100_000
	per := func() time.Duration {
		start := time.Now()
		for range window {
			bundle.Evaluate(sig, env)
		}
		return time.Since(start) / window
	}
	first := per()
	for range total/window - 2 {
		per()
	}
	last := per()
	t.Logf("ns/eval: first %d, last %d", first.Nanoseconds(), last.Nanoseconds())
	require.Less(t, last, 2*first+time.Microsecond, "evaluation cost grew over %d calls", total)
}
