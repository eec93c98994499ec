package audit

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// verifyResult is what `cfa audit verify --file` reports of an export.
type verifyResult struct {
	receipts   int
	readErr    string
	chainErr   string
	incomplete error
}

// verifyViaProtojson is the reference: every line through protojson and
// FromProto, the whole chain in memory, the protobuf Verify.
func verifyViaProtojson(export []byte) verifyResult {
	var rs []Receipt
	for i, line := range bytes.Split(export, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		r, err := decodeProtoJSON(line)
		if err != nil {
			return verifyResult{readErr: fmt.Errorf("audit: read JSONL line %d: %w", i+1, err).Error()}
		}
		rs = append(rs, r)
	}
	res := verifyResult{receipts: len(rs)}
	if err := verifyViaProto(rs); err != nil {
		res.chainErr = err.Error()
		return res
	}
	res.incomplete = CompletePerIntent(rs)
	return res
}

func verifyViaVerifyJSONL(export []byte) verifyResult {
	v := NewVerifier()
	n, err := VerifyJSONL(bytes.NewReader(export), v)
	if err != nil {
		return verifyResult{readErr: err.Error()}
	}
	res := verifyResult{receipts: n}
	if err := v.Finish(); err != nil {
		res.chainErr = err.Error()
		return res
	}
	res.incomplete = v.CompletePerIntent()
	return res
}

func requireSameVerification(t *testing.T, export []byte, msg string) {
	t.Helper()
	want, got := verifyViaProtojson(export), verifyViaVerifyJSONL(export)
	require.Equal(t, want.receipts, got.receipts, msg)
	require.Equal(t, want.readErr, got.readErr, msg)
	require.Equal(t, want.chainErr, got.chainErr, msg)
	require.Equal(t, want.incomplete, got.incomplete, msg)
}

// lineEdits break an export the ways a file can be broken.
var lineEdits = []func(rng *rand.Rand, lines []string) []string{
	func(rng *rand.Rand, ls []string) []string { // delete a line
		i := rng.IntN(len(ls))
		return append(ls[:i:i], ls[i+1:]...)
	},
	func(rng *rand.Rand, ls []string) []string { // swap two
		i, j := rng.IntN(len(ls)), rng.IntN(len(ls))
		ls[i], ls[j] = ls[j], ls[i]
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // repeat one
		i := rng.IntN(len(ls))
		return append(ls[:i+1:i+1], ls[i:]...)
	},
	func(rng *rand.Rand, ls []string) []string { // flip a byte
		i := rng.IntN(len(ls))
		b := []byte(ls[i])
		b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
		ls[i] = string(b)
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // edit a value
		i := rng.IntN(len(ls))
		ls[i] = strings.Replace(ls[i], `"outcome":"`, `"outcome":"x`, 1)
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // a position written otherwise
		i := rng.IntN(len(ls))
		ls[i] = strings.Replace(ls[i], `"position":"`, `"position":"0`, 1)
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // fields in another order
		i := rng.IntN(len(ls))
		ls[i] = strings.Replace(ls[i], `{"receipt_id":`, `{"action":"INVOKE","receipt_id":`, 1)
		ls[i] = strings.Replace(ls[i], `},"action":"INVOKE"`, `}`, 1)
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // blank lines and spaces
		i := rng.IntN(len(ls))
		ls[i] = "\n  " + strings.ReplaceAll(ls[i], `,"`, `, "`) + " \t"
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // cut a line short
		i := rng.IntN(len(ls))
		ls[i] = ls[i][:rng.IntN(len(ls[i]))]
		return ls
	},
	func(rng *rand.Rand, ls []string) []string { // drop the tail
		return ls[:rng.IntN(len(ls))+1]
	},
	func(rng *rand.Rand, ls []string) []string { // a target emptied
		i := rng.IntN(len(ls))
		ls[i] = strings.Replace(ls[i], `"targets":["`, `"targets":["","`, 1)
		return ls
	},
}

func TestVerifyJSONLMatchesTheProtojsonPath(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 5))
	for round := range 300 {
		chain := randomChain(t, rng, 2+rng.IntN(40), 1+int64(round%4)*int64(rng.IntN(50)))
		var buf bytes.Buffer
		require.NoError(t, WriteJSONL(&buf, chain))
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if round%5 != 0 {
			for range 1 + rng.IntN(2) {
				lines = lineEdits[rng.IntN(len(lineEdits))](rng, lines)
			}
		}
		requireSameVerification(t, []byte(strings.Join(lines, "\n")), fmt.Sprintf("round %d", round))
	}
}

func TestVerifyJSONLAcrossBatches(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 6))
	chain := randomChain(t, rng, 3*linkBatchSize+17, 1)
	var buf bytes.Buffer
	require.NoError(t, WriteJSONL(&buf, chain))
	requireSameVerification(t, buf.Bytes(), "whole")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for _, i := range []int{0, linkBatchSize - 1, linkBatchSize, 2*linkBatchSize + 3, len(lines) - 1} {
		edited := append([]string(nil), lines...)
		edited[i] = strings.Replace(edited[i], `"outcome":"`, `"outcome":"x`, 1)
		requireSameVerification(t, []byte(strings.Join(edited, "\n")), fmt.Sprintf("edited line %d", i+1))
		edited[len(edited)-1] = "{"
		requireSameVerification(t, []byte(strings.Join(edited, "\n")), fmt.Sprintf("edited line %d, last line broken", i+1))
	}
	requireSameVerification(t, nil, "empty")
}

// The fast path of VerifyJSONL must take what WriteJSONL writes, and
// give the link and encoding of the receipt protojson decodes.
func TestFastLinksAreTheReceiptsLinks(t *testing.T) {
	t.Parallel()
	for _, line := range exportLines(t) {
		require.True(t, sameLink(t, line), "the fast path declined %s", line)
	}
}

// sameLink reports whether the fast path took the line, and checks that
// it then agrees with the receipt protojson decodes.
func sameLink(t *testing.T, line []byte) bool {
	t.Helper()
	var b linkBatch
	if !b.addLine(line) {
		require.Empty(t, b.enc)
		require.Empty(t, b.text)
		return false
	}
	b.finish()
	rec, err := decodeProtoJSON(line)
	require.NoError(t, err, "the fast path took a line protojson refuses: %s", line)
	want, wantEnc := receiptLink(&rec, nil)
	got := b.links[0]
	require.True(t, reflect.DeepEqual(want, got.link), "line %s\nreceipt %#v\nfast    %#v", line, want, got.link)
	require.Equal(t, wantEnc, b.enc[got.enc.off:got.enc.off+got.enc.n], "line %s", line)
	return true
}

func FuzzFastLink(f *testing.F) {
	for _, line := range exportLines(f) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) { sameLink(t, line) })
}

func TestVerifyJSONLReadErrors(t *testing.T) {
	t.Parallel()
	_, err := VerifyJSONL(iotestErrReader{}, NewVerifier())
	require.ErrorContains(t, err, "audit: read JSONL line 1: disk gone")
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }
