package lifecycle_test

import (
	"testing"

	"github.com/contextualflux/cfa/internal/lifecycle"
)

// BenchmarkEvaluate: one step-18 evaluation against 100 executions of
// history, the mixed kind (faults, drift, ties, other units).
func BenchmarkEvaluate(b *testing.B) {
	cur, mixed := mixedHistory()
	history := make([]lifecycle.Execution, 0, 100)
	for len(history) < 100 {
		for _, e := range mixed {
			if len(history) == 100 {
				break
			}
			e.IntentID += "-" + string(rune('a'+len(history)/len(mixed)))
			history = append(history, e)
		}
	}
	p := lifecycle.DefaultPolicy()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lifecycle.Evaluate(p, cur, history); err != nil {
			b.Fatal(err)
		}
	}
}
