package cfs_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/internal/cfs"
)

// BenchmarkCanonical compares the CFS canonical encoder with protobuf-go's
// deterministic marshal (what Canonical was before docs/adr/0144) on a
// receipt and a link. Audit sealing does not use either: it has its own
// hand-written encoder (internal/audit/encode.go).
func BenchmarkCanonical(b *testing.B) {
	msgs := []struct {
		name string
		msg  proto.Message
	}{{"receipt", sealedReceipt(&testing.T{})}, {"link", link()}}
	det := proto.MarshalOptions{Deterministic: true}
	for _, m := range msgs {
		b.Run(m.name+"/canonical", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cfs.Canonical(m.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/deterministic", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := det.Marshal(m.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/integrity", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cfs.Integrity(m.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		enc, _ := cfs.Canonical(m.msg)
		b.Run(m.name+"/decode-canonical", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := cfs.DecodeCanonical(enc, m.msg.ProtoReflect().New().Interface()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := proto.Unmarshal(enc, m.msg.ProtoReflect().New().Interface()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
