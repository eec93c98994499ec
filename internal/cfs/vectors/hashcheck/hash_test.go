// Package hashcheck recomputes the hashes of testdata/cfs/vectors.json from
// their hex with nothing but SHA-256: no CFS or protobuf code is imported,
// so a mistake in the codec cannot hide a mistake in the vectors.
package hashcheck_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

func TestVectorHashesAreSHA256OfTheHex(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../../../testdata/cfs/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Positive []struct {
			Name, Hex, SHA256, Multihash string
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Positive) < 15 {
		t.Fatalf("%d positive vectors, want at least 15", len(f.Positive))
	}
	for _, v := range f.Positive {
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatalf("%s: hex: %v", v.Name, err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != v.SHA256 {
			t.Errorf("%s: sha256 %s, file says %s", v.Name, got, v.SHA256)
		}
		// multihash: 0x12 (sha2-256), 0x20 (32 bytes), digest.
		if got := hex.EncodeToString(append([]byte{0x12, 0x20}, sum[:]...)); got != v.Multihash {
			t.Errorf("%s: multihash %s, file says %s", v.Name, got, v.Multihash)
		}
	}
}
