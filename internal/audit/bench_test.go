package audit_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/internal/audit"
)

// Benchmarks of issue 15 part 3 (make bench-audit): Seal against the
// floor of a deterministic protobuf marshal plus SHA-256 of the same
// receipt, and streaming verification from a JSONL export.

// flowEvent is an event shaped like the governed flow's: a policy decision
// with a few hundred bytes of details.
func flowEvent(intent string, seq int64) audit.Event {
	details, _ := json.Marshal(map[string]any{
		"bundle_version": "v1.0.0+3f2a9c1",
		"decision":       "approve",
		"rules": []map[string]any{
			{"name": "pii_requires_masking", "matched": false, "severity": "high"},
			{"name": "silver_write_needs_approval", "matched": true, "severity": "medium", "fault_code": "SILVER_WRITE"},
		},
		"signature": map[string]any{"domain": "fiscal_data_processing", "intent": "reconciliation_and_persist",
			"datasets": []string{"nfe", "clientes", "silver_documentos"}, "operations": []string{"join", "persist"}},
		"cost": map[string]any{"estimated_rows": 1250000, "estimated_seconds": 4.75, "budget": "<= 30s & <= 5M rows"},
	})
	e := event(intent, seq, audit.EventPolicyApprove, "approved")
	e.Details = details
	e.Targets = []string{intent, "silver_documentos"}
	return e
}

var sealBenchCases = []struct {
	name  string
	event audit.Event
}{
	{"small", event("intent-a", 1, audit.EventIntentReceived, "received")},
	{"flow", flowEvent("intent-a", 1)},
}

func BenchmarkSeal(b *testing.B) {
	for _, bc := range sealBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			prev := audit.GenesisPrevHash()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := audit.Seal(bc.event, 1, prev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshalAndHash is the floor Seal is measured against: the
// deterministic protobuf encoding of the same receipt, already built, and
// its SHA-256.
func BenchmarkMarshalAndHash(b *testing.B) {
	for _, bc := range sealBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			r, err := audit.Seal(bc.event, 1, audit.GenesisPrevHash())
			if err != nil {
				b.Fatal(err)
			}
			p := audit.ToProto(r)
			p.Integrity = nil
			opts := proto.MarshalOptions{Deterministic: true}
			b.ReportAllocs()
			for b.Loop() {
				buf, err := opts.Marshal(p)
				if err != nil {
					b.Fatal(err)
				}
				_ = sha256.Sum256(buf)
			}
		})
	}
}

func BenchmarkCanonicalDetails(b *testing.B) {
	details := flowEvent("intent-a", 1).Details
	b.ReportAllocs()
	for b.Loop() {
		if _, err := audit.CanonicalDetails(details); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify1000(b *testing.B) {
	var events []audit.Event
	for i := range 250 {
		events = append(events, intentEvents(fmt.Sprintf("intent-%03d", i))...)
	}
	chain := sealAll(b, events)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := audit.Verify(chain); err != nil {
			b.Fatal(err)
		}
	}
}

// writeExport writes a sealed chain of n receipts (a multiple of 80) to
// path as JSONL: intents of 20 events, four at a time interleaved, one
// event in five with the flow's policy details.
func writeExport(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	const perIntent, together = 20, 4
	prev := audit.GenesisPrevHash()
	batch := make([]audit.Receipt, 0, 1024)
	for i := range n {
		block, k := i/(perIntent*together), i%(perIntent*together)
		intent := fmt.Sprintf("intent-%07d", block*together+k%together)
		seq := int64(k/together + 1)
		var e audit.Event
		switch {
		case seq == 1:
			e = event(intent, seq, audit.EventIntentReceived, "received")
		case seq == perIntent:
			e = event(intent, seq, audit.EventIntentCompleted, "approved")
		case seq%5 == 0:
			e = flowEvent(intent, seq)
		default:
			e = event(intent, seq, audit.EventSemanticResolution, "resolved")
		}
		r, err := audit.Seal(e, int64(i+1), prev)
		if err != nil {
			b.Fatal(err)
		}
		prev = r.Integrity
		if batch = append(batch, r); len(batch) == cap(batch) || i == n-1 {
			if err := audit.WriteJSONL(w, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkVerifyFile is `cfa audit verify --file`: stream the export,
// verify every receipt, check complete_per_intent. peak-heap-MiB is the
// largest HeapInuse seen while verifying (sampled every 16 MiB read): it
// must not grow with the chain.
func BenchmarkVerifyFile(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("receipts=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("1,000,000 receipts: skipped with -short")
			}
			path := filepath.Join(b.TempDir(), "export.jsonl")
			writeExport(b, path, n)
			runtime.GC()
			var peak uint64
			var ms runtime.MemStats
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				v := audit.NewVerifier()
				count, err := audit.VerifyJSONL(sampled{f, &ms, &peak}, v)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				if err := v.Finish(); err != nil {
					b.Fatal(err)
				}
				if err := v.CompletePerIntent(); err != nil {
					b.Fatal(err)
				}
				if count != n {
					b.Fatalf("verified %d receipts, want %d", count, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			if cpu := cpuTime() - cpu0; cpu0 > 0 {
				// On a busy machine events/s drops; the CPU an event costs does not.
				b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/event")
			}
		})
	}
}

// sampled is a file whose reads sample the heap every 16 MiB.
type sampled struct {
	f    *os.File
	ms   *runtime.MemStats
	peak *uint64
}

func (s sampled) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	if pos, _ := s.f.Seek(0, io.SeekCurrent); pos%(16<<20) < int64(n) {
		runtime.ReadMemStats(s.ms)
		*s.peak = max(*s.peak, s.ms.HeapInuse)
	}
	return n, err
}
