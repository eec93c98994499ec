package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// Keys of Receipt.Context. Every sealed receipt carries all of them but
// CtxTraceID.
const (
	CtxIntentID            = "intent_id"
	CtxSeq                 = "seq"
	CtxCorrelationID       = "correlation_id"
	CtxPolicyBundleVersion = "policy_bundle_version"
	CtxStage               = "stage"
	CtxEventType           = "event_type"
	CtxOutcome             = "outcome"
	CtxDetails             = "details"
	CtxPosition            = "position"
	// CtxTraceID is the intent's trace id: only in the receipts of an
	// intent submitted with tracing on (Event.TraceID).
	CtxTraceID = "trace_id"
)

// ErrInvalidEvent: Seal refused an event; the message names the field.
var ErrInvalidEvent = errors.New("invalid audit event")

// GenesisPrevHash returns the prev_hash of the receipt at position 1:
// 32 zero bytes, the size of a SHA-256 digest (docs/adr/0032).
func GenesisPrevHash() []byte { return make([]byte, sha256.Size) }

// Seal turns e into the Receipt at position in the chain, linked to the
// integrity of the receipt before it (GenesisPrevHash at position 1). It is
// pure: the same inputs always give the same receipt, byte for byte.
//
// It hashes the receipt's canonical encoding written by hand (encode.go),
// the bytes cfs.Canonical gives for ToProto of the receipt (docs/adr/0139).
func Seal(e Event, position int64, prevHash []byte) (Receipt, error) {
	f, err := prepareSeal(&e, position, prevHash, true)
	if err != nil {
		return Receipt{}, err
	}
	pos := strconv.FormatInt(position, 10)
	var buf [encodeBuf]byte
	b := appendSealHead(buf[:0], &e, &f)
	b = appendPositionEntry(b, pos)
	b = appendSealTail(b, &e, &f)
	b = appendPrevHash(b, prevHash)
	sum := sha256.Sum256(b)
	// One allocation for both hashes; each slice is capped at its own.
	hashes := make([]byte, 2*sha256.Size)
	copy(hashes, prevHash)
	copy(hashes[sha256.Size:], sum[:])
	return Receipt{
		ReceiptID: f.id,
		Position:  position,
		Actor:     e.Actor,
		Action:    e.Action,
		Targets:   cloneStrings(e.Targets),
		// As FromProto(timestamppb) gives it: UTC, no monotonic reading.
		Timestamp: time.Unix(e.Timestamp.Unix(), int64(e.Timestamp.Nanosecond())).UTC(),
		Context:   sealedContext(&e, &f, pos),
		PrevHash:  hashes[:sha256.Size:sha256.Size],
		Integrity: hashes[sha256.Size:],
	}, nil
}

// validate checks e and, when chained, its position and prevHash.
func validate(e *Event, position int64, prevHash []byte, chained bool) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if e.IntentID == "" {
		add("intent_id is empty: set it to the workflow's intent_id")
	}
	if strings.Contains(e.IntentID, "/") {
		add("intent_id %q contains '/': receipt_id is <intent_id>/<seq>, choose an id without '/'", e.IntentID)
	}
	if e.Seq < 1 {
		add("seq is %d: number events of an intent from 1 in causal order", e.Seq)
	}
	if e.Stage == "" {
		add("stage is empty: name the stage that emitted the event")
	}
	if e.EventType == "" {
		add("event_type is empty: use one of the Event* constants")
	}
	if e.Actor.ID == "" {
		add("actor.id is empty: say who performed the action")
	}
	if _, ok := principalTypes[e.Actor.Type]; !ok {
		add("actor.type is %q: use HUMAN, AGENT, SERVICE or SYSTEM", e.Actor.Type)
	}
	if _, ok := actions[e.Action]; !ok {
		add("action is %q: use READ, WRITE, INVOKE, APPROVE or SYNC", e.Action)
	}
	if len(e.Targets) == 0 {
		add("targets is empty: CFS MUST-005 wants what was affected (at least the intent_id)")
	}
	for i, t := range e.Targets {
		if t == "" {
			add("targets[%d] is empty", i)
		}
	}
	if e.Timestamp.IsZero() {
		add("timestamp is zero: pass workflow time (workflow.Now)")
	} else if y := e.Timestamp.UTC().Year(); y < 1 || y > 9999 {
		// The CFS canonical codec refuses such timestamps (docs/adr/0144).
		add("timestamp %s is outside years 0001..9999, which a CFS timestamp cannot carry: pass workflow time (workflow.Now)", e.Timestamp.UTC().Format(time.RFC3339Nano))
	}
	if chained && position < 1 {
		add("position is %d: chain positions start at 1", position)
	}
	if e.TraceID != "" && !isTraceID(e.TraceID) {
		add("trace_id %q is not a W3C trace id (32 lowercase hex digits, not all zero)", e.TraceID)
	}
	switch {
	case !chained:
	case len(prevHash) != sha256.Size:
		add("prev_hash is %d bytes: pass the previous receipt's Integrity, or GenesisPrevHash() at position 1", len(prevHash))
	case position == 1 && !bytes.Equal(prevHash, GenesisPrevHash()):
		add("position 1 must chain to GenesisPrevHash()")
	case position > 1 && bytes.Equal(prevHash, GenesisPrevHash()):
		add("position %d chains to the genesis hash: pass the Integrity of receipt %d", position, position-1)
	}
	if len(problems) > 0 {
		return fmt.Errorf("audit: seal %s/%d: %w: %s", e.IntentID, e.Seq, ErrInvalidEvent, strings.Join(problems, "; "))
	}
	return nil
}

var principalTypes = map[PrincipalType]cfspb.PrincipalType{
	PrincipalHuman: cfspb.PrincipalType_HUMAN, PrincipalAgent: cfspb.PrincipalType_AGENT,
	PrincipalService: cfspb.PrincipalType_SERVICE, PrincipalSystem: cfspb.PrincipalType_SYSTEM,
}

var actions = map[Action]cfspb.Action{
	ActionRead: cfspb.Action_READ, ActionWrite: cfspb.Action_WRITE, ActionInvoke: cfspb.Action_INVOKE,
	ActionApprove: cfspb.Action_APPROVE, ActionSync: cfspb.Action_SYNC,
}

// CanonicalDetails returns the compact canonical JSON of a details object:
// keys sorted at every level, no insignificant whitespace, no HTML escaping,
// numbers kept as written (no float rounding). Empty details become "{}".
func CanonicalDetails(details json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(details)) == 0 {
		return "{}", nil
	}
	if out, ok := canonicalObject(details); ok {
		return out, nil
	}
	// The fast path declined: decode and re-encode, which also words the
	// error when details are not one JSON object.
	dec := json.NewDecoder(bytes.NewReader(details))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("details is not valid JSON (%w): marshal the stage data with encoding/json", err)
	}
	if dec.More() {
		return "", fmt.Errorf("details has data after the JSON object: pass exactly one object")
	}
	if _, ok := v.(map[string]any); !ok {
		return "", fmt.Errorf("details is a JSON %T, want an object: wrap the value in {\"...\": value}", v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return "", fmt.Errorf("details: re-encode: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// ToProto maps r to the CFS Receipt whose canonical encoding is hashed.
// An actor type or action outside the CFS enums maps to the zero value;
// Verify reports such receipts as malformed instead of hashing them.
func ToProto(r Receipt) *cfspb.Receipt {
	p := &cfspb.Receipt{
		ReceiptId: r.ReceiptID,
		Actor: &cfspb.Principal{
			Id:          r.Actor.ID,
			Type:        principalTypes[r.Actor.Type],
			AuthContext: r.Actor.AuthContext,
		},
		Action:    actions[r.Action],
		Targets:   append([]string(nil), r.Targets...),
		Timestamp: timestamppb.New(r.Timestamp),
		PrevHash:  bytes.Clone(r.PrevHash),
		Integrity: bytes.Clone(r.Integrity),
	}
	if r.Context != nil {
		p.Context = make(map[string]string, len(r.Context))
		for k, v := range r.Context {
			p.Context[k] = v
		}
	}
	return p
}

// toProtoChecked is ToProto that refuses values ToProto cannot represent.
func toProtoChecked(r Receipt) (*cfspb.Receipt, error) {
	if _, ok := principalTypes[r.Actor.Type]; !ok {
		return nil, fmt.Errorf("actor.type %q is not a CFS principal type", r.Actor.Type)
	}
	if _, ok := actions[r.Action]; !ok {
		return nil, fmt.Errorf("action %q is not a CFS action", r.Action)
	}
	return ToProto(r), nil
}

// FromProto maps a CFS Receipt back to a Receipt. Position comes from the
// sealed context, so it is covered by the integrity hash.
func FromProto(p *cfspb.Receipt) (Receipt, error) {
	if p == nil {
		return Receipt{}, fmt.Errorf("audit: from proto: nil receipt")
	}
	r := Receipt{
		ReceiptID: p.GetReceiptId(),
		Actor: Principal{
			ID:          p.GetActor().GetId(),
			AuthContext: p.GetActor().GetAuthContext(),
		},
		Targets:   append([]string(nil), p.GetTargets()...),
		Timestamp: p.GetTimestamp().AsTime(),
		PrevHash:  bytes.Clone(p.GetPrevHash()),
		Integrity: bytes.Clone(p.GetIntegrity()),
	}
	if t := p.GetActor().GetType(); t != cfspb.PrincipalType_PRINCIPAL_TYPE_UNSPECIFIED {
		r.Actor.Type = PrincipalType(t.String())
	}
	r.Action = Action(p.GetAction().String())
	if _, ok := actions[r.Action]; !ok {
		return Receipt{}, fmt.Errorf("audit: receipt %q: action %d is not a CFS action", r.ReceiptID, p.GetAction())
	}
	if p.GetContext() != nil {
		r.Context = make(map[string]string, len(p.GetContext()))
		for k, v := range p.GetContext() {
			r.Context[k] = v
		}
	}
	pos, err := strconv.ParseInt(r.Context[CtxPosition], 10, 64)
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: receipt %q: context position %q is not an integer: was it sealed by audit.Seal?", r.ReceiptID, r.Context[CtxPosition])
	}
	r.Position = pos
	return r, nil
}

// TraceID returns the intent's trace id, "" when it was not traced.
func (r Receipt) TraceID() string { return r.Context[CtxTraceID] }

func isTraceID(s string) bool {
	if len(s) != 32 || s == strings.Repeat("0", 32) {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// IntentID returns the intent the receipt belongs to.
func (r Receipt) IntentID() string { return r.Context[CtxIntentID] }

// EventType returns the sealed event type.
func (r Receipt) EventType() string { return r.Context[CtxEventType] }

// Seq returns the event's seq within its intent (0 if the context does not
// hold an integer, which Verify reports).
func (r Receipt) Seq() int64 {
	n, _ := strconv.ParseInt(r.Context[CtxSeq], 10, 64)
	return n
}
