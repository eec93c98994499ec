package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
	return checkHead(len(receipts)-1, last.Position, last.ReceiptID, last.Integrity, headPosition, headIntegrity)
}

// checkHead is VerifyHead for the receipt at index (-1: none) of a chain.
func checkHead(index int, position int64, receiptID string, integrity []byte, headPosition int64, headIntegrity []byte) error {
	if position == headPosition && (headPosition == 0 || bytes.Equal(integrity, headIntegrity)) {
		return nil
	}
	return &ChainError{Index: index, Position: position, ReceiptID: receiptID, Err: ErrTruncated,
		Reason: fmt.Sprintf("the chain ends at position %d but its head records position %d (integrity %x): receipts were removed or replaced at the end; restore them from a trusted export",
			position, headPosition, headIntegrity)}
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
	v := NewVerifier()
	for i := range receipts {
		if err := v.add(&receipts[i]); err != nil {
			return err
		}
	}
	return nil
}

// Verifier is Verify one receipt at a time, for a chain streamed from a
// file or a database: it keeps the last receipt's position, id and
// integrity and, per intent, its last seq and where it started and ended,
// so its memory grows with the number of intents, not of receipts.
type Verifier struct {
	n           int // receipts added
	err         error
	fromGenesis bool
	prevPos     int64
	prevID      string
	prevSum     [sha256.Size]byte
	intents     intentTable

	head      bool // ExpectHead was called
	headPos   int64
	headSum   []byte
	atHead    int // index of the last receipt at or before headPos; -1: none
	atHeadPos int64
	atHeadID  string
	atHeadSum [sha256.Size]byte
}

// intentState is what a Verifier keeps per intent.
type intentState struct {
	lastSeq    int64
	start, end int // index+1 of the first INTENT_RECEIVED and the last INTENT_COMPLETED; 0: none
}

// NewVerifier returns a Verifier for a chain read from its first receipt.
func NewVerifier() *Verifier {
	return &Verifier{intents: intentTable{index: make(map[string]int)}, atHead: -1}
}

// ExpectHead makes Finish also check the chain against its recorded head,
// as VerifyHead does. Read the head before the chain: receipts past it
// were appended since, are verified, and are not compared with it.
func (v *Verifier) ExpectHead(position int64, integrity []byte) {
	v.head, v.headPos, v.headSum = true, position, bytes.Clone(integrity)
}

// Add checks the next receipt of the chain. It returns a *ChainError for
// the first receipt that does not verify, with the messages of Verify, and
// that same error for every receipt added after it. Of r it keeps only
// the receipt id, until the next receipt.
func (v *Verifier) Add(r Receipt) error { return v.add(&r) }

// Finish returns the first error of Add or, after ExpectHead, whether the
// chain ends at its head; nil when the chain verifies.
func (v *Verifier) Finish() error {
	if v.err != nil || !v.head {
		return v.err
	}
	var sum []byte
	if v.atHead >= 0 {
		sum = v.atHeadSum[:]
	}
	return checkHead(v.atHead, v.atHeadPos, v.atHeadID, sum, v.headPos, v.headSum)
}

func (v *Verifier) add(r *Receipt) error {
	if v.err != nil {
		return v.err
	}
	var buf [encodeBuf]byte
	l, enc := receiptLink(r, buf[:0])
	return v.check(&l, enc)
}

// link is what the chain checks read of one receipt besides its canonical
// encoding: the fields they compare and the context values they parse. A
// Receipt gives one (receiptLink), and so does a line of an export
// without becoming a Receipt (jsonl_verify.go).
type link struct {
	position  int64
	receiptID string
	// Context values: "" when absent.
	ctxPosition, intentID, seq, eventType string
	prevHash, integrity                   []byte
	encErr                                error // why the receipt has no canonical encoding
	notSealed                             bool  // encErr is a value ToProto cannot represent
}

// receiptLink is r's link and canonical encoding, appended to buf.
func receiptLink(r *Receipt, buf []byte) (link, []byte) {
	l := link{position: r.Position, receiptID: r.ReceiptID, ctxPosition: r.Context[CtxPosition],
		intentID: r.Context[CtxIntentID], seq: r.Context[CtxSeq], eventType: r.Context[CtxEventType],
		prevHash: r.PrevHash, integrity: r.Integrity}
	if err := representable(r); err != nil {
		l.encErr, l.notSealed = err, true
		return l, buf
	}
	enc, err := appendReceipt(buf, r)
	l.encErr = err
	return l, enc
}

// check is Verify's checks of the next receipt of the chain, whose
// canonical encoding is enc.
func (v *Verifier) check(l *link, enc []byte) error {
	if v.err != nil {
		return v.err
	}
	i := v.n
	v.n++
	fail := func(sentinel error, format string, args ...any) error {
		v.err = &ChainError{Index: i, Position: l.position, ReceiptID: l.receiptID,
			Reason: fmt.Sprintf(format, args...), Err: sentinel}
		return v.err
	}
	switch {
	case l.notSealed:
		return fail(ErrMalformedReceipt, "%v; the receipt was edited or not sealed by audit.Seal", l.encErr)
	case l.encErr != nil:
		return fail(ErrMalformedReceipt, "%v", l.encErr)
	}
	sum := sha256.Sum256(enc)
	if !bytes.Equal(sum[:], l.integrity) {
		return fail(ErrIntegrityMismatch, "stored %x, computed %x: the receipt was edited after sealing; restore it from a trusted copy",
			l.integrity, bytes.Clone(sum[:])) // a copy keeps sum off the heap
	}
	// The hash covers Context, not the Go fields derived from it.
	if !isDecimal(l.ctxPosition, l.position) {
		return fail(ErrMalformedReceipt, "Position field %d disagrees with the sealed context position %q", l.position, l.ctxPosition)
	}
	seq, err := strconv.ParseInt(l.seq, 10, 64)
	if err != nil || !isReceiptID(l.receiptID, l.intentID, seq) {
		return fail(ErrMalformedReceipt, "receipt_id %q does not match context intent_id %q and seq %q",
			l.receiptID, l.intentID, l.seq)
	}

	if i == 0 {
		if l.position < 1 {
			return fail(ErrPositionGap, "positions start at 1")
		}
		if l.position == 1 && !bytes.Equal(l.prevHash, genesis[:]) {
			return fail(ErrLinkMismatch, "the receipt at position 1 must chain to the genesis hash (32 zero bytes), got %x", l.prevHash)
		}
		v.fromGenesis = l.position == 1
	} else {
		if l.position != v.prevPos+1 {
			return fail(ErrPositionGap, "follows position %d, want %d: a receipt was deleted or the chain was reordered",
				v.prevPos, v.prevPos+1)
		}
		if !bytes.Equal(l.prevHash, v.prevSum[:]) {
			return fail(ErrLinkMismatch, "prev_hash %x is not the integrity %x of receipt %q: the chain was rewritten",
				l.prevHash, v.prevSum[:], v.prevID)
		}
	}

	k, seen := v.intents.index[l.intentID]
	var st intentState
	if seen {
		st = v.intents.states[k]
	}
	switch {
	case seen && seq != st.lastSeq+1:
		return fail(ErrCausalOrder, "intent %q seq %d follows seq %d, want %d: events were sealed out of causal order or one is missing",
			l.intentID, seq, st.lastSeq, st.lastSeq+1)
	case !seen && v.fromGenesis && seq != 1:
		return fail(ErrCausalOrder, "first event of intent %q has seq %d, want 1", l.intentID, seq)
	}
	st.lastSeq = seq
	st.track(l.eventType, i)
	if seen {
		v.intents.states[k] = st
	} else {
		v.intents.add(strings.Clone(l.intentID), st) // l's strings may share memory with a whole batch
	}

	v.prevPos, v.prevID, v.prevSum = l.position, l.receiptID, sum
	if v.head && l.position <= v.headPos {
		v.atHead, v.atHeadPos, v.atHeadID, v.atHeadSum = i, l.position, l.receiptID, sum
	}
	return nil
}

// CompletePerIntent is CompletePerIntent over the receipts added so far
// (call it once they all verified): a *IncompleteError or nil.
func (v *Verifier) CompletePerIntent() error { return incomplete(&v.intents) }

var genesis [sha256.Size]byte

// isDecimal reports whether s is strconv.FormatInt(n, 10), without
// formatting n.
func isDecimal(s string, n int64) bool {
	var buf [20]byte
	return s == string(strconv.AppendInt(buf[:0], n, 10))
}

// isReceiptID reports whether id is "<intent>/<seq>", without building
// it.
func isReceiptID(id, intent string, seq int64) bool {
	return len(id) > len(intent) && strings.HasPrefix(id, intent) && id[len(intent)] == '/' &&
		isDecimal(id[len(intent)+1:], seq)
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
// has an INTENT_RECEIVED and, after it, an INTENT_COMPLETED; a trail that
// begins with ACCESS_RECORDED is complete with it. Run it on
// exports of finished intents; in-flight intents have no end yet. It returns
// a *IncompleteError or nil.
func CompletePerIntent(receipts []Receipt) error {
	spans := intentTable{index: make(map[string]int)}
	for i, r := range receipts {
		k, ok := spans.index[r.IntentID()]
		if !ok {
			k = spans.add(r.IntentID(), intentState{})
		}
		spans.states[k].track(r.EventType(), i)
	}
	return incomplete(&spans)
}

// intentTable holds a state per intent. The map only indexes the states:
// updating a state never stores its key again, which for a string key
// would keep the memory of the receipt it came from (a whole batch of a
// streamed file) alive until the intent's next receipt.
type intentTable struct {
	index  map[string]int
	states []intentState
}

func (t *intentTable) add(intent string, st intentState) int {
	t.index[intent] = len(t.states)
	t.states = append(t.states, st)
	return len(t.states) - 1
}

// track records the receipt at index i of the chain, of eventType.
func (s *intentState) track(eventType string, i int) {
	switch eventType {
	case EventIntentReceived:
		if s.start == 0 {
			s.start = i + 1
		}
	case EventIntentCompleted:
		s.end = i + 1
	case EventAccessRecorded:
		// A standalone access receipt is a whole trail: it starts and
		// ends it, when it is the trail's first event (docs/adr/0146).
		if s.start == 0 && s.end == 0 {
			s.start, s.end = i+1, i+1
		}
	}
}

func incomplete(intents *intentTable) error {
	var bad []IncompleteIntent
	for id, k := range intents.index {
		s := intents.states[k]
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
