package audit

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/contextualflux/cfa/internal/cfs"
)

// Reasons a chain does not verify; ChainError unwraps to one of them.
var (
	// ErrIntegrityMismatch: the receipt's content no longer matches its hash
	// (edited after sealing).
	ErrIntegrityMismatch = errors.New("integrity mismatch")
	// ErrLinkMismatch: prev_hash is not the previous receipt's integrity.
	ErrLinkMismatch = errors.New("prev_hash link mismatch")
	// ErrPositionGap: positions are not consecutive (deleted or reordered).
	ErrPositionGap = errors.New("position gap")
	// ErrCausalOrder: an intent's seq does not increase by exactly 1.
	ErrCausalOrder = errors.New("causal order violated")
	// ErrMalformedReceipt: a field cannot be read back (not sealed by Seal).
	ErrMalformedReceipt = errors.New("malformed receipt")
	// ErrTruncated: the chain ends before its recorded head (receipts were
	// removed from its end).
	ErrTruncated = errors.New("chain truncated")
)

// VerifyHead checks that a chain read in full ends at its recorded head:
// the last receipt has the head's position and integrity (position 0 for
// an empty chain). Verify cannot see receipts removed from the end; the
// head, advanced in the transaction of every append, can.
func VerifyHead(receipts []Receipt, headPosition int64, headIntegrity []byte) error {
	var last Receipt
	if n := len(receipts); n > 0 {
		last = receipts[n-1]
	}
	if last.Position == headPosition && (headPosition == 0 || bytes.Equal(last.Integrity, headIntegrity)) {
		return nil
	}
	return &ChainError{Index: len(receipts) - 1, Position: last.Position, ReceiptID: last.ReceiptID, Err: ErrTruncated,
		Reason: fmt.Sprintf("the chain ends at position %d but its head records position %d (integrity %x): receipts were removed or replaced at the end; restore them from a trusted export",
			last.Position, headPosition, headIntegrity)}
}

// ChainError names the first receipt of a chain that does not verify.
type ChainError struct {
	Index     int    // index in the slice passed to Verify
	Position  int64  // the position the receipt claims
	ReceiptID string // "<intent_id>/<seq>"
	Reason    string // what is wrong and what to do
	Err       error  // one of the Err* sentinels above
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: chain does not verify at position %d (receipt %q, index %d): %v: %s",
		e.Position, e.ReceiptID, e.Index, e.Err, e.Reason)
}

// Unwrap lets callers branch with errors.Is(err, ErrIntegrityMismatch), etc.
func (e *ChainError) Unwrap() error { return e.Err }

// Verify checks a chain given in position order and returns a *ChainError
// for the first receipt that does not verify, or nil. It checks each
// receipt's integrity, that prev_hash links to the previous receipt (to
// GenesisPrevHash at position 1), that positions are consecutive from the
// first, and that each intent's seq increases by exactly 1 (from 1 when the
// chain starts at position 1): no_event_reordering.
//
// Verify cannot see receipts removed from the end of the chain; compare
// len and MerkleRoot with a published head for that (docs/adr/0034).
func Verify(receipts []Receipt) error {
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
		// The hash covers Context, not the Go fields derived from it.
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

// IncompleteIntent is an intent whose start or end is not recorded.
type IncompleteIntent struct {
	IntentID string
	Problem  string
}

// IncompleteError lists every intent that is not complete_per_intent, sorted
// by intent_id.
type IncompleteError struct {
	Intents []IncompleteIntent
}

func (e *IncompleteError) Error() string {
	parts := make([]string, len(e.Intents))
	for i, in := range e.Intents {
		parts[i] = in.IntentID + ": " + in.Problem
	}
	return fmt.Sprintf("audit: %d intent(s) not complete (each needs %s then %s): %s",
		len(e.Intents), EventIntentReceived, EventIntentCompleted, strings.Join(parts, "; "))
}

// CompletePerIntent checks complete_per_intent: every intent with receipts
// has an INTENT_RECEIVED and, after it, an INTENT_COMPLETED. Run it on
// exports of finished intents; in-flight intents have no end yet. It returns
// a *IncompleteError or nil.
func CompletePerIntent(receipts []Receipt) error {
	type span struct{ start, end int } // index+1 of first start / last end; 0 = none
	spans := make(map[string]*span)
	for i, r := range receipts {
		s := spans[r.IntentID()]
		if s == nil {
			s = &span{}
			spans[r.IntentID()] = s
		}
		switch r.EventType() {
		case EventIntentReceived:
			if s.start == 0 {
				s.start = i + 1
			}
		case EventIntentCompleted:
			s.end = i + 1
		}
	}
	var bad []IncompleteIntent
	for id, s := range spans {
		var problem string
		switch {
		case s.start == 0 && s.end == 0:
			problem = "no " + EventIntentReceived + " and no " + EventIntentCompleted
		case s.start == 0:
			problem = "no " + EventIntentReceived
		case s.end == 0:
			problem = "no " + EventIntentCompleted
		case s.end < s.start:
			problem = EventIntentCompleted + " recorded before " + EventIntentReceived
		default:
			continue
		}
		bad = append(bad, IncompleteIntent{IntentID: id, Problem: problem})
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].IntentID < bad[j].IntentID })
	return &IncompleteError{Intents: bad}
}
