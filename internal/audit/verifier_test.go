package audit

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/cfs"
)

// verifyViaProto is Verify as it was before the Verifier: ToProto and
// cfs.Integrity per receipt, over a slice. The Verifier must report the
// same first failure with the same message.
func verifyViaProto(receipts []Receipt) error {
	fromGenesis := len(receipts) > 0 && receipts[0].Position == 1
	lastSeq := make(map[string]int64)
	for i, r := range receipts {
		fail := func(sentinel error, format string, args ...any) error {
			return &ChainError{Index: i, Position: r.Position, ReceiptID: r.ReceiptID,
				Reason: fmt.Sprintf(format, args...), Err: sentinel}
		}
		p, err := toProtoChecked(r)
		if err != nil {
			return fail(ErrMalformedReceipt, "%v; the receipt was edited or not sealed by audit.Seal", err)
		}
		sum, err := cfs.Integrity(p)
		if err != nil {
			return fail(ErrMalformedReceipt, "%v", err)
		}
		if !bytes.Equal(sum, r.Integrity) {
			return fail(ErrIntegrityMismatch, "stored %x, computed %x: the receipt was edited after sealing; restore it from a trusted copy",
				r.Integrity, sum)
		}
		if got := r.Context[CtxPosition]; got != strconv.FormatInt(r.Position, 10) {
			return fail(ErrMalformedReceipt, "Position field %d disagrees with the sealed context position %q", r.Position, got)
		}
		intent := r.Context[CtxIntentID]
		seq, err := strconv.ParseInt(r.Context[CtxSeq], 10, 64)
		if err != nil || r.ReceiptID != receiptID(intent, seq) {
			return fail(ErrMalformedReceipt, "receipt_id %q does not match context intent_id %q and seq %q",
				r.ReceiptID, intent, r.Context[CtxSeq])
		}
		if i == 0 {
			if r.Position < 1 {
				return fail(ErrPositionGap, "positions start at 1")
			}
			if r.Position == 1 && !bytes.Equal(r.PrevHash, GenesisPrevHash()) {
				return fail(ErrLinkMismatch, "the receipt at position 1 must chain to the genesis hash (32 zero bytes), got %x", r.PrevHash)
			}
		} else {
			prev := receipts[i-1]
			if r.Position != prev.Position+1 {
				return fail(ErrPositionGap, "follows position %d, want %d: a receipt was deleted or the chain was reordered",
					prev.Position, prev.Position+1)
			}
			if !bytes.Equal(r.PrevHash, prev.Integrity) {
				return fail(ErrLinkMismatch, "prev_hash %x is not the integrity %x of receipt %q: the chain was rewritten",
					r.PrevHash, prev.Integrity, prev.ReceiptID)
			}
		}
		last, seen := lastSeq[intent]
		switch {
		case seen && seq != last+1:
			return fail(ErrCausalOrder, "intent %q seq %d follows seq %d, want %d: events were sealed out of causal order or one is missing",
				intent, seq, last, last+1)
		case !seen && fromGenesis && seq != 1:
			return fail(ErrCausalOrder, "first event of intent %q has seq %d, want 1", intent, seq)
		}
		lastSeq[intent] = seq
	}
	return nil
}

// randomChain seals n events of a few interleaved intents, starting at
// position from (chained to an arbitrary hash when from > 1).
func randomChain(t testing.TB, rng *rand.Rand, n int, from int64) []Receipt {
	t.Helper()
	seqs := map[string]int64{}
	prev := GenesisPrevHash()
	if from > 1 {
		prev = bytes.Repeat([]byte{9}, 32)
	}
	out := make([]Receipt, 0, n)
	for i := range n {
		intent := fmt.Sprintf("intent-%d", rng.IntN(5))
		seqs[intent]++
		e := baseEvent()
		e.IntentID, e.Seq, e.Targets = intent, seqs[intent], []string{intent}
		e.EventType = []string{EventIntentReceived, EventPolicyApprove, EventIntentCompleted}[rng.IntN(3)]
		e.Timestamp = time.Unix(1772355600+int64(i), int64(rng.IntN(1e9)))
		r, err := Seal(e, from+int64(i), prev)
		require.NoError(t, err)
		out = append(out, r)
		prev = r.Integrity
	}
	return out
}

// tampers break a chain the ways an attacker or a bug could.
var tampers = []func(rng *rand.Rand, rs []Receipt) []Receipt{
	func(rng *rand.Rand, rs []Receipt) []Receipt {
		rs[rng.IntN(len(rs))].Context[CtxOutcome] = "edited"
		return rs
	},
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].Position += 1; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt {
		i := rng.IntN(len(rs))
		return append(rs[:i:i], rs[i+1:]...)
	},
	func(rng *rand.Rand, rs []Receipt) []Receipt {
		i := rng.IntN(len(rs) - 1)
		rs[i], rs[i+1] = rs[i+1], rs[i]
		return rs
	},
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].PrevHash[3] ^= 1; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].Integrity[0] ^= 1; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].Action = "DELETE"; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].Actor.Type = ""; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt {
		rs[rng.IntN(len(rs))].Context[CtxStage] = "\xff"
		return rs
	},
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].ReceiptID = "other/1"; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt { rs[rng.IntN(len(rs))].Context[CtxSeq] = "x"; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt { return rs[rng.IntN(len(rs)):] },
	func(_ *rand.Rand, rs []Receipt) []Receipt { rs[0].PrevHash = nil; return rs },
	func(rng *rand.Rand, rs []Receipt) []Receipt {
		delete(rs[rng.IntN(len(rs))].Context, CtxPosition)
		return rs
	},
}

func TestVerifierMatchesTheProtobufVerify(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 3))
	for round := range 400 {
		from := int64(1)
		if round%3 == 0 {
			from = 1 + rng.Int64N(1000)
		}
		chain := randomChain(t, rng, 2+rng.IntN(30), from)
		for range 1 + rng.IntN(2) {
			for i := range chain {
				chain[i] = cloneReceipt(chain[i])
			}
			chain = tampers[rng.IntN(len(tampers))](rng, chain)
		}
		want := verifyViaProto(chain)
		got := Verify(chain)
		if want == nil {
			require.NoError(t, got, "round %d", round)
			continue
		}
		require.Error(t, got, "round %d: want %v", round, want)
		require.Equal(t, want.Error(), got.Error(), "round %d", round)
	}
}

// verifyStoredViaSlices is what `cfa audit verify` did with the whole chain
// in memory: Verify, then VerifyHead on the receipts up to the head.
func verifyStoredViaSlices(rs []Receipt, headPos int64, headSum []byte) error {
	if err := Verify(rs); err != nil {
		return err
	}
	upToHead := rs
	for len(upToHead) > 0 && upToHead[len(upToHead)-1].Position > headPos {
		upToHead = upToHead[:len(upToHead)-1]
	}
	return VerifyHead(upToHead, headPos, headSum)
}

func TestVerifierHeadMatchesVerifyHead(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(15, 4))
	chain := randomChain(t, rng, 12, 1)
	cases := []struct {
		name     string
		receipts []Receipt
		headPos  int64
		headSum  []byte
		ok       bool
	}{
		{"whole chain at its head", chain, chain[11].Position, chain[11].Integrity, true},
		{"appended after the head was read", chain, chain[8].Position, chain[8].Integrity, true},
		{"empty chain, empty head", nil, 0, make([]byte, 32), true},
		{"tail removed", chain[:9], chain[11].Position, chain[11].Integrity, false},
		{"everything removed", nil, chain[11].Position, chain[11].Integrity, false},
		{"head hash replaced", chain, chain[11].Position, chain[0].Integrity, false},
		{"head hash of an earlier receipt", chain, chain[5].Position, chain[4].Integrity, false},
		{"head before a segment", chain[4:], chain[2].Position, chain[2].Integrity, false},
		{"empty head, receipts appended since", chain, 0, make([]byte, 32), true},
		{"broken chain: the chain error wins", append(append([]Receipt{}, chain[:3]...), chain[4:]...), chain[11].Position, chain[11].Integrity, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := verifyStoredViaSlices(tc.receipts, tc.headPos, tc.headSum)
			v := NewVerifier()
			v.ExpectHead(tc.headPos, tc.headSum)
			for _, r := range tc.receipts {
				_ = v.Add(r)
			}
			got := v.Finish()
			if tc.ok {
				require.NoError(t, want)
				require.NoError(t, got)
				return
			}
			require.Error(t, want)
			require.EqualError(t, got, want.Error())
			var wce, gce *ChainError
			require.ErrorAs(t, want, &wce)
			require.ErrorAs(t, got, &gce)
			require.Equal(t, *wce, *gce)
		})
	}
}

func TestVerifierKeepsItsFirstError(t *testing.T) {
	t.Parallel()
	chain := randomChain(t, rand.New(rand.NewPCG(1, 2)), 6, 1)
	chain[2] = cloneReceipt(chain[2])
	chain[2].Context[CtxOutcome] = "edited"
	v := NewVerifier()
	require.NoError(t, v.Add(chain[0]))
	require.NoError(t, v.Add(chain[1]))
	first := v.Add(chain[2])
	require.ErrorIs(t, first, ErrIntegrityMismatch)
	for _, r := range chain[3:] {
		require.Same(t, first, v.Add(r))
	}
	require.Same(t, first, v.Finish())
	require.NoError(t, NewVerifier().Finish(), "an empty chain verifies")
}

func TestVerifierCompletePerIntent(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for range 50 {
		chain := randomChain(t, rng, 1+rng.IntN(20), 1)
		v := NewVerifier()
		for _, r := range chain {
			require.NoError(t, v.Add(r))
		}
		want := CompletePerIntent(chain)
		got := v.CompletePerIntent()
		if want == nil {
			require.NoError(t, got)
			continue
		}
		require.Equal(t, want, got)
	}
}
