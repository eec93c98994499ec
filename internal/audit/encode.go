package audit

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// The canonical encoding of a receipt, written by hand (docs/adr/0139).
// It is byte for byte what cfs.Canonical (the CFS canonical codec, ADR 0144)
// gives for ToProto(r) with integrity cleared: fields in number order,
// proto3 implicit presence (a scalar at its default is absent, the actor
// and timestamp messages are always present), repeated strings all
// written, context entries sorted by key bytes with both key and value
// written even when empty. encode_test.go holds it to cfs.Canonical.

// Wire tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const (
	tagReceiptID     = 1<<3 | 2
	tagActor         = 2<<3 | 2
	tagAction        = 3 << 3
	tagTargets       = 4<<3 | 2
	tagTimestamp     = 5<<3 | 2
	tagContext       = 6<<3 | 2
	tagPrevHash      = 7<<3 | 2
	tagPrincipalID   = 1<<3 | 2
	tagPrincipalType = 2 << 3
	tagAuthContext   = 3<<3 | 2
	tagSeconds       = 1 << 3
	tagNanos         = 2 << 3
	tagMapKey        = 1<<3 | 2
	tagMapValue      = 2<<3 | 2
)

// encodeBuf is the stack buffer a receipt is encoded into before hashing;
// larger receipts (long details) grow onto the heap.
const encodeBuf = 1536

func sizeVarint(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// sizeField is the size of a length-delimited field of n bytes (tag < 16).
func sizeField(n int) int { return 1 + sizeVarint(uint64(n)) + n }

func appendString(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendOptString writes s unless it is empty (implicit presence).
func appendOptString(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(b, tag, s)
}

func sizeOptString(s string) int {
	if s == "" {
		return 0
	}
	return sizeField(len(s))
}

func principalNumber(t PrincipalType) (cfspb.PrincipalType, bool) {
	switch t {
	case PrincipalHuman:
		return cfspb.PrincipalType_HUMAN, true
	case PrincipalAgent:
		return cfspb.PrincipalType_AGENT, true
	case PrincipalService:
		return cfspb.PrincipalType_SERVICE, true
	case PrincipalSystem:
		return cfspb.PrincipalType_SYSTEM, true
	}
	return 0, false
}

func actionNumber(a Action) (cfspb.Action, bool) {
	switch a {
	case ActionRead:
		return cfspb.Action_READ, true
	case ActionWrite:
		return cfspb.Action_WRITE, true
	case ActionInvoke:
		return cfspb.Action_INVOKE, true
	case ActionApprove:
		return cfspb.Action_APPROVE, true
	case ActionSync:
		return cfspb.Action_SYNC, true
	}
	return 0, false
}

// appendActor writes field 2, present even when every field is default.
func appendActor(b []byte, id string, typ cfspb.PrincipalType, authContext string) []byte {
	n := sizeOptString(id) + sizeOptString(authContext)
	if typ != 0 {
		n += 1 + sizeVarint(uint64(typ))
	}
	b = append(b, tagActor)
	b = appendVarint(b, uint64(n))
	b = appendOptString(b, tagPrincipalID, id)
	if typ != 0 {
		b = append(b, tagPrincipalType)
		b = appendVarint(b, uint64(typ))
	}
	return appendOptString(b, tagAuthContext, authContext)
}

// appendTimestamp writes field 5 as timestamppb.New(t) encodes.
func appendTimestamp(b []byte, t time.Time) []byte {
	secs, nanos := uint64(t.Unix()), uint64(t.Nanosecond())
	n := 0
	if secs != 0 {
		n += 1 + sizeVarint(secs)
	}
	if nanos != 0 {
		n += 1 + sizeVarint(nanos)
	}
	b = append(b, tagTimestamp)
	b = appendVarint(b, uint64(n))
	if secs != 0 {
		b = append(b, tagSeconds)
		b = appendVarint(b, secs)
	}
	if nanos != 0 {
		b = append(b, tagNanos)
		b = appendVarint(b, nanos)
	}
	return b
}

// appendEntry writes one context map entry; key and value are written even
// when empty, as protobuf-go does for map entries.
func appendEntry(b []byte, key, value string) []byte {
	b = append(b, tagContext)
	b = appendVarint(b, uint64(sizeField(len(key))+sizeField(len(value))))
	b = appendString(b, tagMapKey, key)
	return appendString(b, tagMapValue, value)
}

// closeLen fills the one-byte length slot at mark with the length of what
// follows it, widening the slot when the length takes more varint bytes.
func closeLen(b []byte, mark int) []byte {
	n := len(b) - mark - 1
	if n < 0x80 {
		b[mark] = byte(n)
		return b
	}
	k := sizeVarint(uint64(n))
	var pad [9]byte
	b = append(b, pad[:k-1]...)
	copy(b[mark+k:], b[mark+1:len(b)-(k-1)])
	appendVarint(b[mark:mark], uint64(n))
	return b
}

func appendPrevHash(b []byte, prev []byte) []byte {
	if len(prev) == 0 {
		return b
	}
	b = append(b, tagPrevHash)
	b = appendVarint(b, uint64(len(prev)))
	return append(b, prev...)
}

// errInvalidUTF8 is how cfs.Integrity refuses a string protobuf cannot
// marshal; the wording is kept so Seal and Verify say what they said.
var errInvalidUTF8 = errors.New("cfs: integrity: cfs: canonical encoding of cfs.v0.Receipt: string field contains invalid UTF-8 (strings must be valid UTF-8)")

type entry struct{ key, value string }

// appendReceipt appends the canonical encoding of r with its integrity
// field cleared. It refuses what ToProto cannot represent (an actor type or
// action outside the CFS enums) and strings that are not UTF-8, as
// toProtoChecked and cfs.Canonical do.
func appendReceipt(b []byte, r *Receipt) ([]byte, error) {
	if err := representable(r); err != nil {
		return b, err
	}
	typ, _ := principalNumber(r.Actor.Type)
	action, _ := actionNumber(r.Action)
	switch {
	case !utf8.ValidString(r.ReceiptID):
		return b, errInvalidUTF8
	case !utf8.ValidString(r.Actor.ID):
		return b, errInvalidUTF8
	case !utf8.ValidString(r.Actor.AuthContext):
		return b, errInvalidUTF8
	}
	for _, t := range r.Targets {
		if !utf8.ValidString(t) {
			return b, errInvalidUTF8
		}
	}

	// Sort the context by key: a small insertion sort on the stack beats
	// sorting a heap slice for the ten keys a sealed receipt has.
	var stack [16]entry
	entries := stack[:0]
	for k, v := range r.Context {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return b, errInvalidUTF8
		}
		entries = append(entries, entry{k, v})
		for i := len(entries) - 1; i > 0 && entries[i].key < entries[i-1].key; i-- {
			entries[i], entries[i-1] = entries[i-1], entries[i]
		}
	}

	b = appendOptString(b, tagReceiptID, r.ReceiptID)
	b = appendActor(b, r.Actor.ID, typ, r.Actor.AuthContext)
	if action != 0 {
		b = append(b, tagAction)
		b = appendVarint(b, uint64(action))
	}
	for _, t := range r.Targets {
		b = appendString(b, tagTargets, t)
	}
	b = appendTimestamp(b, r.Timestamp)
	for _, e := range entries {
		b = appendEntry(b, e.key, e.value)
	}
	return appendPrevHash(b, r.PrevHash), nil
}

// representable refuses what ToProto would map to an enum's zero value.
func representable(r *Receipt) error {
	if _, ok := principalNumber(r.Actor.Type); !ok {
		return fmt.Errorf("actor.type %q is not a CFS principal type", r.Actor.Type)
	}
	if _, ok := actionNumber(r.Action); !ok {
		return fmt.Errorf("action %q is not a CFS action", r.Action)
	}
	return nil
}

// sealFields are the strings a sealed receipt derives from its event.
type sealFields struct {
	id, seq, details string
}

// appendSealHead writes a sealed receipt's fields up to (not including)
// its context entry "position": fields 1 to 5 and the entries whose keys
// sort before it. The keys are constants, so their order is fixed here
// (and checked against cfs.Canonical by the tests).
func appendSealHead(b []byte, e *Event, f *sealFields) []byte {
	typ, _ := principalNumber(e.Actor.Type) // validated
	action, _ := actionNumber(e.Action)
	b = appendOptString(b, tagReceiptID, f.id)
	b = appendActor(b, e.Actor.ID, typ, e.Actor.AuthContext)
	if action != 0 {
		b = append(b, tagAction)
		b = appendVarint(b, uint64(action))
	}
	for _, t := range e.Targets {
		b = appendString(b, tagTargets, t)
	}
	b = appendTimestamp(b, e.Timestamp)
	b = appendEntry(b, CtxCorrelationID, e.CorrelationID)
	b = appendEntry(b, CtxDetails, f.details)
	b = appendEntry(b, CtxEventType, e.EventType)
	b = appendEntry(b, CtxIntentID, e.IntentID)
	b = appendEntry(b, CtxOutcome, e.Outcome)
	return appendEntry(b, CtxPolicyBundleVersion, e.PolicyBundleVersion)
}

// appendSealTail writes the context entries whose keys sort after
// "position".
func appendSealTail(b []byte, e *Event, f *sealFields) []byte {
	b = appendEntry(b, CtxSeq, f.seq)
	b = appendEntry(b, CtxStage, e.Stage)
	if e.TraceID != "" {
		b = appendEntry(b, CtxTraceID, e.TraceID)
	}
	return b
}

// checkEventUTF8 refuses the strings protobuf would refuse to marshal.
// Details need no check: CanonicalDetails writes valid UTF-8 only.
func checkEventUTF8(e *Event) error {
	for _, s := range [...]string{e.IntentID, e.CorrelationID, e.PolicyBundleVersion, e.Stage,
		e.EventType, e.Outcome, e.Actor.ID, e.Actor.AuthContext, e.TraceID} {
		if !utf8.ValidString(s) {
			return errInvalidUTF8
		}
	}
	for _, t := range e.Targets {
		if !utf8.ValidString(t) {
			return errInvalidUTF8
		}
	}
	return nil
}

// prepareSeal validates e (and position and prevHash when chained) and
// returns the strings its receipt derives from it.
func prepareSeal(e *Event, position int64, prevHash []byte, chained bool) (sealFields, error) {
	if err := validate(e, position, prevHash, chained); err != nil {
		return sealFields{}, err
	}
	details, err := CanonicalDetails(e.Details)
	if err != nil {
		return sealFields{}, fmt.Errorf("audit: seal %s/%d: %w: %w", e.IntentID, e.Seq, ErrInvalidEvent, err)
	}
	seq := strconv.FormatInt(e.Seq, 10)
	f := sealFields{id: e.IntentID + "/" + seq, seq: seq, details: details}
	if err := checkEventUTF8(e); err != nil {
		return sealFields{}, fmt.Errorf("audit: seal %s: %w", f.id, err)
	}
	return f, nil
}

// positionEntryLen is the size of PositionEntry(pos) for digits bytes; the
// entry is shorter than 128 bytes (19 digits at most), so its length takes
// one byte.
func positionEntryLen(digits int) int {
	return 1 + 1 + sizeField(len(CtxPosition)) + sizeField(digits)
}

func appendPositionEntry(b []byte, digits string) []byte {
	return appendEntry(b, CtxPosition, digits)
}

// ChainParts splits a receipt's canonical encoding (integrity cleared) at
// the two things only the chain head decides: its position and its
// prev_hash.
type ChainParts struct{ Head, Tail []byte }

// SealParts validates e as Seal does (all but the position and prev_hash
// checks) and returns the parts of its canonical encoding such that, for
// every position and prevHash Seal accepts,
//
//	sha256(Head || PositionEntry(position) || Tail || PrevHashField(prevHash))
//	  == Seal(e, position, prevHash).Integrity
//
// This split is the contract the database function audit_append relies on
// to seal an event at the head with sha256() (docs/adr/0139): it may only
// change with that function. The caller truncates e.Timestamp as it would
// before Seal (to microseconds, UTC, for Postgres).
func SealParts(e Event) (ChainParts, error) {
	f, err := prepareSeal(&e, 0, nil, false)
	if err != nil {
		return ChainParts{}, err
	}
	head := appendSealHead(make([]byte, 0, 256+len(f.details)), &e, &f)
	return ChainParts{Head: head, Tail: appendSealTail(nil, &e, &f)}, nil
}

// PositionEntry is the context map entry {"position": decimal(pos)}:
// 0x32 len 0x0a 0x08 "position" 0x12 len digits.
func PositionEntry(pos int64) []byte {
	digits := strconv.FormatInt(pos, 10)
	return appendPositionEntry(make([]byte, 0, positionEntryLen(len(digits))), digits)
}

// PrevHashField is field 7, prev_hash: 0x3a 0x20 and the 32 bytes of prev
// (empty when prev is).
func PrevHashField(prev []byte) []byte {
	return appendPrevHash(make([]byte, 0, 2+len(prev)), prev)
}

// sealedContext is the context of a sealed receipt: every key but trace_id,
// which only a traced intent's receipts carry.
func sealedContext(e *Event, f *sealFields, position string) map[string]string {
	n := 9
	if e.TraceID != "" {
		n++
	}
	ctx := make(map[string]string, n)
	ctx[CtxIntentID] = e.IntentID
	ctx[CtxSeq] = f.seq
	ctx[CtxCorrelationID] = e.CorrelationID
	ctx[CtxPolicyBundleVersion] = e.PolicyBundleVersion
	ctx[CtxStage] = e.Stage
	ctx[CtxEventType] = e.EventType
	ctx[CtxOutcome] = e.Outcome
	ctx[CtxDetails] = f.details
	ctx[CtxPosition] = position
	if e.TraceID != "" {
		ctx[CtxTraceID] = e.TraceID
	}
	return ctx
}

// cloneStrings copies ss, nil when empty (as FromProto does).
func cloneStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return append([]string(nil), ss...)
}
