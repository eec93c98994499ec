package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// sealViaProto is Seal as it was before the hand-written encoder: build the
// cfspb.Receipt, cfs.SetIntegrity, FromProto. Receipts stored by it must
// keep verifying, so the new Seal must give the same receipt.
func sealViaProto(e Event, position int64, prevHash []byte) (Receipt, error) {
	if err := validate(&e, position, prevHash, true); err != nil {
		return Receipt{}, err
	}
	details, err := CanonicalDetails(e.Details)
	if err != nil {
		return Receipt{}, fmt.Errorf("audit: seal %s/%d: %w: %w", e.IntentID, e.Seq, ErrInvalidEvent, err)
	}
	p := &cfspb.Receipt{
		ReceiptId: receiptID(e.IntentID, e.Seq),
		Actor: &cfspb.Principal{
			Id:          e.Actor.ID,
			Type:        cfspb.PrincipalType(cfspb.PrincipalType_value[string(e.Actor.Type)]),
			AuthContext: e.Actor.AuthContext,
		},
		Action:    cfspb.Action(cfspb.Action_value[string(e.Action)]),
		Targets:   append([]string(nil), e.Targets...),
		Timestamp: timestamppb.New(e.Timestamp.UTC()),
		Context: map[string]string{
			CtxIntentID:            e.IntentID,
			CtxSeq:                 strconv.FormatInt(e.Seq, 10),
			CtxCorrelationID:       e.CorrelationID,
			CtxPolicyBundleVersion: e.PolicyBundleVersion,
			CtxStage:               e.Stage,
			CtxEventType:           e.EventType,
			CtxOutcome:             e.Outcome,
			CtxDetails:             details,
			CtxPosition:            strconv.FormatInt(position, 10),
		},
		PrevHash: bytes.Clone(prevHash),
	}
	if e.TraceID != "" {
		p.Context[CtxTraceID] = e.TraceID
	}
	if err := cfs.SetIntegrity(p); err != nil {
		return Receipt{}, fmt.Errorf("audit: seal %s: %w", p.ReceiptId, err)
	}
	return FromProto(p)
}

func receiptID(intentID string, seq int64) string {
	return intentID + "/" + strconv.FormatInt(seq, 10)
}

// canonicalViaProto is cfs.Canonical of ToProto(r) with integrity cleared.
func canonicalViaProto(t testing.TB, r Receipt) []byte {
	t.Helper()
	p := ToProto(r)
	p.Integrity = nil
	b, err := cfs.Canonical(p)
	require.NoError(t, err)
	return b
}

func baseEvent() Event {
	return Event{
		IntentID:            "intent-a",
		Seq:                 1,
		CorrelationID:       "session_a",
		PolicyBundleVersion: "v4.2",
		Stage:               "policy_engine",
		EventType:           EventIntentReceived,
		Outcome:             "received",
		Actor:               Principal{ID: "cfa-worker", Type: PrincipalService},
		Action:              ActionInvoke,
		Targets:             []string{"intent-a"},
		Timestamp:           time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Details:             json.RawMessage(`{"z":1,"a":{"y":[3,2,1],"b":"<x>"}}`),
	}
}

var sealCases = []struct {
	name   string
	mutate func(*Event)
}{
	{"base", func(*Event) {}},
	{"every action and actor type, READ is the default and absent", func(e *Event) { e.Action, e.Actor.Type = ActionRead, PrincipalHuman }},
	{"write by an agent", func(e *Event) { e.Action, e.Actor.Type = ActionWrite, PrincipalAgent }},
	{"approve by the system", func(e *Event) { e.Action, e.Actor.Type = ActionApprove, PrincipalSystem }},
	{"sync", func(e *Event) { e.Action = ActionSync }},
	{"auth context", func(e *Event) { e.Actor.AuthContext = "oidc:https://issuer/ sub=ana" }},
	{"empty optional strings", func(e *Event) { e.CorrelationID, e.PolicyBundleVersion, e.Outcome = "", "", "" }},
	{"no details", func(e *Event) { e.Details = nil }},
	{"non-ASCII everywhere", func(e *Event) {
		e.IntentID, e.Stage, e.Outcome, e.Actor.ID = "intenção-ü", "validação", "aprovado ✓", "josé@exemplo"
		e.Targets = []string{"silver.documentos", "日本語"}
		e.Details = json.RawMessage(`{"motivo":"não","emoji":"😀","sep":"\u2028"}`)
	}},
	{"long details: 2-byte and 3-byte varint lengths", func(e *Event) {
		e.Details = json.RawMessage(`{"sql":"` + strings.Repeat("SELECT 1; ", 2000) + `"}`)
	}},
	{"details just over 127 bytes", func(e *Event) { e.Details = json.RawMessage(`{"k":"` + strings.Repeat("x", 120) + `"}`) }},
	{"many targets", func(e *Event) {
		e.Targets = nil
		for i := range 40 {
			e.Targets = append(e.Targets, fmt.Sprintf("dataset_%d", i))
		}
	}},
	{"traced", func(e *Event) { e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736" }},
	{"timestamp with nanoseconds in another zone", func(e *Event) {
		e.Timestamp = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
	}},
	{"timestamp at the Unix epoch: an empty Timestamp message", func(e *Event) { e.Timestamp = time.Unix(0, 0) }},
	{"timestamp before 1970: negative seconds", func(e *Event) { e.Timestamp = time.Date(1901, 1, 1, 0, 0, 0, 5, time.UTC) }},
	{"timestamp with a monotonic reading", func(e *Event) { e.Timestamp = time.Now() }},
	{"large seq", func(e *Event) { e.Seq = 1 << 40 }},
}

func TestSealMatchesTheProtobufEncoding(t *testing.T) {
	t.Parallel()
	positions := []int64{1, 2, 9, 10, 99, 100, 127, 128, 16383, 16384, 1e12, 1<<63 - 1}
	for _, tc := range sealCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := baseEvent()
			tc.mutate(&e)
			for _, pos := range positions {
				prev := bytes.Repeat([]byte{byte(pos)}, 32)
				prev[0] = 0xaa
				if pos == 1 {
					prev = GenesisPrevHash()
				}
				checkSeal(t, e, pos, prev)
			}
		})
	}
}

// checkSeal holds Seal, appendReceipt and SealParts to the protobuf path.
func checkSeal(t *testing.T, e Event, pos int64, prev []byte) {
	t.Helper()
	want, err := sealViaProto(e, pos, prev)
	require.NoError(t, err)
	got, err := Seal(e, pos, prev)
	require.NoError(t, err)
	require.Equal(t, want, got, "position %d", pos)
	require.True(t, want.Timestamp.Equal(got.Timestamp) && got.Timestamp == want.Timestamp, "same time.Time representation")

	canonical := canonicalViaProto(t, got)
	enc, err := appendReceipt(nil, &got)
	require.NoError(t, err)
	require.Equal(t, canonical, enc, "position %d", pos)

	parts, err := SealParts(e)
	require.NoError(t, err)
	joined := bytes.Join([][]byte{parts.Head, PositionEntry(pos), parts.Tail, PrevHashField(prev)}, nil)
	require.Equal(t, canonical, joined, "position %d", pos)
	sum := sha256.Sum256(joined)
	require.Equal(t, got.Integrity, sum[:])
}

func TestSealPartsAtManyPositions(t *testing.T) {
	t.Parallel()
	e := baseEvent()
	e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.Details = json.RawMessage(`{"long":"` + strings.Repeat("é", 200) + `"}`)
	parts, err := SealParts(e)
	require.NoError(t, err)
	prev := GenesisPrevHash()
	for _, pos := range []int64{1, 9, 10, 11, 99, 100, 127, 128, 129, 999, 1000, 1e6, 1e12, 1e18, 1<<63 - 1} {
		if pos > 1 {
			prev = bytes.Repeat([]byte{0x5c}, 32)
		}
		r, err := Seal(e, pos, prev)
		require.NoError(t, err)
		sum := sha256.Sum256(bytes.Join([][]byte{parts.Head, PositionEntry(pos), parts.Tail, PrevHashField(prev)}, nil))
		require.Equal(t, r.Integrity, sum[:], "position %d", pos)
	}
	digits := "1000000000000"
	require.Equal(t, append([]byte{0x32, byte(12 + len(digits)), 0x0a, 0x08}, append([]byte("position\x12\x0d"), digits...)...), PositionEntry(1e12))
	require.Equal(t, append([]byte{0x3a, 0x20}, prev...), PrevHashField(prev))
}

func TestSealPartsValidatesLikeSeal(t *testing.T) {
	t.Parallel()
	e := baseEvent()
	e.Stage = ""
	_, err := SealParts(e)
	require.ErrorIs(t, err, ErrInvalidEvent)
	require.ErrorContains(t, err, "stage is empty")
	require.NotContains(t, err.Error(), "position", "no chain checks without a position")
	e = baseEvent()
	e.Details = json.RawMessage(`[1]`)
	_, err = SealParts(e)
	require.ErrorContains(t, err, "want an object")
}

func TestSealRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Event){
		"stage":     func(e *Event) { e.Stage = "s\xff" },
		"target":    func(e *Event) { e.Targets = []string{"ok", "\xfe"} },
		"actor id":  func(e *Event) { e.Actor.ID = "\xc3" },
		"outcome":   func(e *Event) { e.Outcome = "a\x80b" },
		"intent id": func(e *Event) { e.IntentID = "\xff" },
	} {
		e := baseEvent()
		mutate(&e)
		_, wantErr := sealViaProto(e, 1, GenesisPrevHash())
		require.Error(t, wantErr, name)
		_, err := Seal(e, 1, GenesisPrevHash())
		require.EqualError(t, err, wantErr.Error(), name)
		_, err = SealParts(e)
		require.ErrorContains(t, err, "invalid UTF-8", name)
	}
}

// Receipts Verify meets were not all made by Seal: the encoder must agree
// with cfs.Canonical on anything ToProto can represent.
func TestAppendReceiptMatchesCanonicalOnAnyReceipt(t *testing.T) {
	t.Parallel()
	sealed, err := Seal(baseEvent(), 1, GenesisPrevHash())
	require.NoError(t, err)
	cases := []struct {
		name   string
		mutate func(*Receipt)
	}{
		{"sealed", func(*Receipt) {}},
		{"no context", func(r *Receipt) { r.Context = nil }},
		{"empty context", func(r *Receipt) { r.Context = map[string]string{} }},
		{"empty key and value", func(r *Receipt) { r.Context[""] = "" }},
		{"keys sorted by bytes, not runes", func(r *Receipt) {
			r.Context["Z"], r.Context["é"], r.Context["z"], r.Context["\u00ff"] = "1", "2", "3", "4"
		}},
		{"more than 16 keys", func(r *Receipt) {
			for i := range 40 {
				r.Context[fmt.Sprintf("k%02d", 40-i)] = strings.Repeat("v", i*10)
			}
		}},
		{"empty receipt id and actor", func(r *Receipt) { r.ReceiptID, r.Actor.ID = "", "" }},
		{"empty target entries", func(r *Receipt) { r.Targets = []string{"", "a", ""} }},
		{"no targets", func(r *Receipt) { r.Targets = nil }},
		{"no prev_hash", func(r *Receipt) { r.PrevHash = nil }},
		{"long prev_hash", func(r *Receipt) { r.PrevHash = bytes.Repeat([]byte{1}, 300) }},
		{"zero time", func(r *Receipt) { r.Timestamp = time.Time{} }},
		{"nanoseconds only", func(r *Receipt) { r.Timestamp = time.Unix(0, 999999999) }},
		{"integrity is ignored", func(r *Receipt) { r.Integrity = []byte("anything") }},
		{"action READ", func(r *Receipt) { r.Action = ActionRead }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cloneReceipt(sealed)
			tc.mutate(&r)
			enc, err := appendReceipt(nil, &r)
			require.NoError(t, err)
			require.Equal(t, canonicalViaProto(t, r), enc)
			want, err := cfs.Integrity(ToProto(r))
			require.NoError(t, err)
			sum, err := integrity(&r)
			require.NoError(t, err)
			require.Equal(t, want, sum[:])
		})
	}
}

// integrity is SHA-256 of appendReceipt(r).
func integrity(r *Receipt) ([sha256.Size]byte, error) {
	b, err := appendReceipt(nil, r)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

func cloneReceipt(r Receipt) Receipt {
	r.Targets = append([]string(nil), r.Targets...)
	r.PrevHash = bytes.Clone(r.PrevHash)
	r.Integrity = bytes.Clone(r.Integrity)
	ctx := make(map[string]string, len(r.Context))
	for k, v := range r.Context {
		ctx[k] = v
	}
	r.Context = ctx
	return r
}

func FuzzSealMatchesTheProtobufEncoding(f *testing.F) {
	f.Add("intent-a", int64(1), "session", "v1", "stage", "EVENT", "ok", "actor", "", uint8(0), uint8(0), "t1", "t2", int64(1772355600), int64(0), `{"a":1}`, "", int64(1))
	f.Add("ü", int64(300), "", "", "s", "E", "", "a", "auth ✓", uint8(3), uint8(4), "", "日本", int64(-5), int64(999), `{"x":"`+strings.Repeat("y", 200)+`"}`, "4bf92f3577b34da6a3ce929d0e0e4736", int64(128))
	f.Fuzz(func(t *testing.T, intent string, seq int64, corr, bundle, stage, eventType, outcome, actorID, auth string,
		typ, action uint8, t1, t2 string, secs, nanos int64, details, trace string, pos int64) {
		e := Event{
			IntentID: intent, Seq: seq, CorrelationID: corr, PolicyBundleVersion: bundle, Stage: stage,
			EventType: eventType, Outcome: outcome,
			Actor:     Principal{ID: actorID, Type: []PrincipalType{PrincipalHuman, PrincipalAgent, PrincipalService, PrincipalSystem}[typ%4], AuthContext: auth},
			Action:    []Action{ActionRead, ActionWrite, ActionInvoke, ActionApprove, ActionSync}[action%5],
			Targets:   []string{t1},
			Timestamp: time.Unix(secs%(1<<40), nanos%1e9),
			Details:   json.RawMessage(details),
			TraceID:   trace,
		}
		if t2 != "" {
			e.Targets = append(e.Targets, t2)
		}
		prev := GenesisPrevHash()
		if pos != 1 {
			prev = bytes.Repeat([]byte{3}, 32)
		}
		want, wantErr := sealViaProto(e, pos, prev)
		got, err := Seal(e, pos, prev)
		if wantErr != nil {
			require.Error(t, err, "the protobuf path refused: %v", wantErr)
			require.Equal(t, wantErr.Error(), err.Error())
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
		enc, err := appendReceipt(nil, &got)
		require.NoError(t, err)
		require.Equal(t, canonicalViaProto(t, got), enc)
		parts, err := SealParts(e)
		require.NoError(t, err)
		sum := sha256.Sum256(bytes.Join([][]byte{parts.Head, PositionEntry(pos), parts.Tail, PrevHashField(prev)}, nil))
		require.Equal(t, got.Integrity, sum[:])

		// Its export line takes the fast decoder, to the same receipt.
		var line bytes.Buffer
		if err := WriteJSONL(&line, []Receipt{got}); err != nil {
			return // a timestamp JSON cannot carry
		}
		require.True(t, sameDecoding(t, bytes.TrimSpace(line.Bytes())), "declined %s", line.Bytes())
	})
}
