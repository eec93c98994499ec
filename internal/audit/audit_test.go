package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func event(intent string, seq int64, eventType, outcome string) audit.Event {
	return audit.Event{
		IntentID:            intent,
		Seq:                 seq,
		CorrelationID:       "session_" + intent,
		PolicyBundleVersion: "v4.2",
		Stage:               "policy_engine",
		EventType:           eventType,
		Outcome:             outcome,
		Actor:               audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
		Action:              audit.ActionInvoke,
		Targets:             []string{intent},
		Timestamp:           t0.Add(time.Duration(seq) * time.Second),
		Details:             json.RawMessage(fmt.Sprintf(`{"z":1,"a":{"y":[3,2,1],"b":"<x>"},"intent":%q}`, intent)),
	}
}

// intentEvents is one complete intent: received, work, completed.
func intentEvents(intent string) []audit.Event {
	return []audit.Event{
		event(intent, 1, audit.EventIntentReceived, "received"),
		event(intent, 2, audit.EventSemanticResolution, "resolved"),
		event(intent, 3, audit.EventPolicyApprove, "approved"),
		event(intent, 4, audit.EventIntentCompleted, "approved"),
	}
}

// sealAll seals events in the given order into one chain.
func sealAll(t testing.TB, events []audit.Event) []audit.Receipt {
	t.Helper()
	out := make([]audit.Receipt, 0, len(events))
	prev := audit.GenesisPrevHash()
	for i, e := range events {
		r, err := audit.Seal(e, int64(i+1), prev)
		require.NoError(t, err)
		out = append(out, r)
		prev = r.Integrity
	}
	return out
}

// interleaved is three intents whose events alternate in the chain.
func interleaved(t testing.TB) []audit.Receipt {
	a, b, c := intentEvents("intent-a"), intentEvents("intent-b"), intentEvents("intent-c")
	var events []audit.Event
	for i := range a {
		events = append(events, a[i], b[i], c[i])
	}
	return sealAll(t, events)
}

func clone(rs []audit.Receipt) []audit.Receipt {
	out := make([]audit.Receipt, len(rs))
	for i, r := range rs {
		r.Targets = append([]string(nil), r.Targets...)
		r.PrevHash = bytes.Clone(r.PrevHash)
		r.Integrity = bytes.Clone(r.Integrity)
		ctx := make(map[string]string, len(r.Context))
		for k, v := range r.Context {
			ctx[k] = v
		}
		r.Context = ctx
		out[i] = r
	}
	return out
}

func TestSealIsDeterministic(t *testing.T) {
	t.Parallel()
	e := event("intent-a", 1, audit.EventIntentReceived, "received")
	first, err := audit.Seal(e, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	for range 20 {
		again, err := audit.Seal(e, 1, audit.GenesisPrevHash())
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
	// Same instant in another zone, details with other key order and spacing.
	e2 := e
	e2.Timestamp = e.Timestamp.In(time.FixedZone("CET", 3600))
	e2.Details = json.RawMessage(`{ "intent":"intent-a", "a":{"b":"<x>","y":[3,2,1]}, "z":1 }`)
	other, err := audit.Seal(e2, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	require.Equal(t, first.Integrity, other.Integrity)

	require.Equal(t, "intent-a/1", first.ReceiptID)
	require.Equal(t, int64(1), first.Position)
	require.Equal(t, time.UTC, first.Timestamp.Location())
	require.Equal(t, `{"a":{"b":"<x>","y":[3,2,1]},"intent":"intent-a","z":1}`, first.Context[audit.CtxDetails])
	require.Equal(t, map[string]string{
		"intent_id": "intent-a", "seq": "1", "correlation_id": "session_intent-a",
		"policy_bundle_version": "v4.2", "stage": "policy_engine", "event_type": audit.EventIntentReceived,
		"outcome": "received", "details": first.Context[audit.CtxDetails], "position": "1",
	}, first.Context)
	require.Len(t, first.Integrity, 32)
	back, err := audit.FromProto(audit.ToProto(first))
	require.NoError(t, err)
	require.Equal(t, first, back)
}

func TestSealRejectsInvalidEvents(t *testing.T) {
	t.Parallel()
	good := event("intent-a", 1, audit.EventIntentReceived, "received")
	cases := []struct {
		name   string
		mutate func(*audit.Event)
		pos    int64
		prev   []byte
		want   string
	}{
		{"missing intent_id", func(e *audit.Event) { e.IntentID = "" }, 1, nil, "intent_id is empty"},
		{"slash in intent_id", func(e *audit.Event) { e.IntentID = "a/b" }, 1, nil, "contains '/'"},
		{"seq zero", func(e *audit.Event) { e.Seq = 0 }, 1, nil, "seq is 0"},
		{"missing stage", func(e *audit.Event) { e.Stage = "" }, 1, nil, "stage is empty"},
		{"missing event_type", func(e *audit.Event) { e.EventType = "" }, 1, nil, "event_type is empty"},
		{"missing actor id", func(e *audit.Event) { e.Actor.ID = "" }, 1, nil, "actor.id is empty"},
		{"bad actor type", func(e *audit.Event) { e.Actor.Type = "ROBOT" }, 1, nil, `actor.type is "ROBOT"`},
		{"bad action", func(e *audit.Event) { e.Action = "DELETE" }, 1, nil, `action is "DELETE"`},
		{"no targets", func(e *audit.Event) { e.Targets = nil }, 1, nil, "targets is empty"},
		{"zero timestamp", func(e *audit.Event) { e.Timestamp = time.Time{} }, 1, nil, "timestamp is zero"},
		{"details not an object", func(e *audit.Event) { e.Details = json.RawMessage(`[1]`) }, 1, nil, "want an object"},
		{"details invalid", func(e *audit.Event) { e.Details = json.RawMessage(`{"a":`) }, 1, nil, "not valid JSON"},
		{"details trailing data", func(e *audit.Event) { e.Details = json.RawMessage(`{} {}`) }, 1, nil, "after the JSON object"},
		{"position zero", func(*audit.Event) {}, 0, nil, "position is 0"},
		{"short prev_hash", func(*audit.Event) {}, 2, []byte{1}, "prev_hash is 1 bytes"},
		{"position 1 not genesis", func(*audit.Event) {}, 1, bytes.Repeat([]byte{1}, 32), "must chain to GenesisPrevHash"},
		{"genesis after position 1", func(*audit.Event) {}, 5, make([]byte, 32), "pass the Integrity of receipt 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := good
			e.Actor = good.Actor
			tc.mutate(&e)
			prev := tc.prev
			if prev == nil {
				prev = audit.GenesisPrevHash()
			}
			_, err := audit.Seal(e, tc.pos, prev)
			require.ErrorIs(t, err, audit.ErrInvalidEvent)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSealEmptyDetailsIsEmptyObject(t *testing.T) {
	t.Parallel()
	e := event("intent-a", 1, audit.EventIntentReceived, "received")
	e.Details = nil
	r, err := audit.Seal(e, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	require.Equal(t, "{}", r.Context[audit.CtxDetails])
}

func TestVerifyGoodChains(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)
	require.Len(t, chain, 12)
	require.NoError(t, audit.Verify(chain))
	require.NoError(t, audit.Verify(nil))
	require.NoError(t, audit.Verify(chain[5:]), "a segment verifies on its own")
	require.NoError(t, audit.CompletePerIntent(chain))
}

func TestVerifyNamesFirstBadReceipt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tamper  func(t *testing.T, rs []audit.Receipt) []audit.Receipt
		wantIdx int
		wantID  string
		wantErr error
	}{
		{"edited outcome", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[4].Context[audit.CtxOutcome] = "blocked"
			return rs
		}, 4, "intent-b/2", audit.ErrIntegrityMismatch},
		{"edited details", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[7].Context[audit.CtxDetails] = `{"z":2}`
			return rs
		}, 7, "intent-b/3", audit.ErrIntegrityMismatch},
		{"edited action", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[2].Action = audit.ActionApprove
			return rs
		}, 2, "intent-c/1", audit.ErrIntegrityMismatch},
		{"action outside the enum", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[3].Action = "DELETE"
			return rs
		}, 3, "intent-a/2", audit.ErrMalformedReceipt},
		{"edited position field only", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[3].Position = 40
			return rs
		}, 3, "intent-a/2", audit.ErrMalformedReceipt},
		{"deleted event", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			return append(rs[:5:5], rs[6:]...)
		}, 5, "intent-a/3", audit.ErrPositionGap},
		{"deleted first event", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs = rs[1:]
			rs[0].Position = 1 // claims to be the start: its hash disagrees
			return rs
		}, 0, "intent-b/1", audit.ErrMalformedReceipt},
		{"two events swapped", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[6], rs[7] = rs[7], rs[6]
			return rs
		}, 6, "intent-b/3", audit.ErrPositionGap},
		{"tampered prev_hash", func(_ *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[9].PrevHash[0] ^= 0xff
			return rs
		}, 9, "intent-a/4", audit.ErrIntegrityMismatch},
		{"tampered prev_hash, resealed", func(t *testing.T, rs []audit.Receipt) []audit.Receipt {
			// An attacker who recomputes the receipt's own hash still
			// breaks the link to its predecessor.
			e := event("intent-a", 4, audit.EventIntentCompleted, "approved")
			forged, err := audit.Seal(e, 10, bytes.Repeat([]byte{7}, 32))
			require.NoError(t, err)
			rs[9] = forged
			return rs
		}, 9, "intent-a/4", audit.ErrLinkMismatch},
		{"genesis prev_hash replaced", func(t *testing.T, rs []audit.Receipt) []audit.Receipt {
			rs[0].PrevHash = bytes.Repeat([]byte{1}, 32)
			return rs
		}, 0, "intent-a/1", audit.ErrIntegrityMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := tc.tamper(t, clone(interleaved(t)))
			err := audit.Verify(rs)
			var ce *audit.ChainError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.wantIdx, ce.Index, "%v", err)
			require.Equal(t, tc.wantID, ce.ReceiptID, "%v", err)
			require.ErrorIs(t, err, tc.wantErr)
			require.NotEmpty(t, ce.Reason)
		})
	}
}

func TestVerifyCausalOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		events []audit.Event
		wantID string
	}{
		{"sealed out of order", []audit.Event{
			event("i", 1, audit.EventIntentReceived, ""),
			event("i", 3, audit.EventPolicyApprove, ""),
			event("i", 2, audit.EventSemanticResolution, ""),
		}, "i/3"},
		{"duplicate seq", []audit.Event{
			event("i", 1, audit.EventIntentReceived, ""),
			event("i", 1, audit.EventIntentReceived, ""),
		}, "i/1"},
		{"intent does not start at 1", []audit.Event{
			event("i", 1, audit.EventIntentReceived, ""),
			event("j", 2, audit.EventSemanticResolution, ""),
		}, "j/2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := audit.Verify(sealAll(t, tc.events))
			var ce *audit.ChainError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, audit.ErrCausalOrder)
			require.Equal(t, tc.wantID, ce.ReceiptID)
		})
	}
}

func TestCompletePerIntent(t *testing.T) {
	t.Parallel()
	a := intentEvents("a")
	b := intentEvents("b")
	c := intentEvents("c")
	cases := []struct {
		name   string
		events []audit.Event
		want   []audit.IncompleteIntent
	}{
		{"complete", append(append([]audit.Event{}, a...), b...), nil},
		{"in flight and headless", []audit.Event{a[0], a[1], b[1], b[2], b[3]}, []audit.IncompleteIntent{
			{IntentID: "a", Problem: "no " + audit.EventIntentCompleted},
			{IntentID: "b", Problem: "no " + audit.EventIntentReceived},
		}},
		{"no start or end", []audit.Event{c[1]}, []audit.IncompleteIntent{
			{IntentID: "c", Problem: "no INTENT_RECEIVED and no INTENT_COMPLETED"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := audit.CompletePerIntent(sealAll(t, tc.events))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			var ie *audit.IncompleteError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, tc.want, ie.Intents)
		})
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)
	var buf bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&buf, chain))
	require.Equal(t, len(chain), strings.Count(buf.String(), "\n"))

	var again bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&again, chain))
	require.Equal(t, buf.String(), again.String(), "export must be byte-stable")

	back, err := audit.ReadJSONL(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, chain, back)
	require.NoError(t, audit.Verify(back))

	var re bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&re, back))
	require.Equal(t, buf.String(), re.String())

	first := strings.SplitN(buf.String(), "\n", 2)[0]
	require.Contains(t, first, `"receipt_id":"intent-a/1"`)
	require.Contains(t, first, `"action":"INVOKE"`)
	require.Contains(t, first, `"type":"SERVICE"`)
}

func TestJSONLEditedLineDetected(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)
	var buf bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&buf, chain))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Contains(t, lines[6], `"outcome":"approved"`)
	lines[6] = strings.Replace(lines[6], `"outcome":"approved"`, `"outcome":"blocked"`, 1)
	edited := strings.Join(lines, "\n") + "\n"
	require.NotEqual(t, buf.String(), edited)

	back, err := audit.ReadJSONL(strings.NewReader(edited))
	require.NoError(t, err)
	err = audit.Verify(back)
	var ce *audit.ChainError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 6, ce.Index)
	require.Equal(t, "intent-a/3", ce.ReceiptID)
	require.ErrorIs(t, err, audit.ErrIntegrityMismatch)
}

func TestReadJSONLErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)[:2]
	var buf bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&buf, chain))
	cases := []struct {
		name, input, want string
	}{
		{"garbage on line 3", buf.String() + "\n{not json\n", "line 4"},
		{"unknown field", `{"receipt_id":"x","extra":1}`, "line 1"},
		{"no position", `{"receipt_id":"x","context":{}}`, "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := audit.ReadJSONL(strings.NewReader(tc.input))
			require.ErrorContains(t, err, tc.want)
		})
	}
	rs, err := audit.ReadJSONL(strings.NewReader(""))
	require.NoError(t, err)
	require.Empty(t, rs)
	rs, err = audit.ReadJSONL(strings.NewReader(strings.TrimSuffix(buf.String(), "\n")))
	require.NoError(t, err, "a missing final newline is fine")
	require.Len(t, rs, 2)
}

func TestMerkle(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)
	root, err := audit.MerkleRoot(chain)
	require.NoError(t, err)
	require.Len(t, root, 32)
	again, err := audit.MerkleRoot(clone(chain))
	require.NoError(t, err)
	require.Equal(t, root, again)

	for n := 1; n <= len(chain); n++ {
		sub := chain[:n]
		subRoot, err := audit.MerkleRoot(sub)
		require.NoError(t, err)
		for i := range sub {
			p, err := audit.InclusionProof(sub, uint64(i))
			require.NoError(t, err)
			require.NoError(t, audit.VerifyInclusion(sub[i], uint64(i), uint64(n), p, subRoot), "n=%d i=%d", n, i)
		}
	}
	p, err := audit.InclusionProof(chain, 3)
	require.NoError(t, err)
	require.Error(t, audit.VerifyInclusion(chain[4], 3, uint64(len(chain)), p, root))
	_, err = audit.InclusionProof(chain, uint64(len(chain)))
	require.Error(t, err)

	// Truncating the end changes the root even though Verify passes.
	require.NoError(t, audit.Verify(chain[:len(chain)-1]))
	short, err := audit.MerkleRoot(chain[:len(chain)-1])
	require.NoError(t, err)
	require.NotEqual(t, root, short)
	require.Equal(t, chain[0].Integrity, audit.Leaf(chain[0]))
}

func TestChainErrorMessage(t *testing.T) {
	t.Parallel()
	rs := clone(interleaved(t))
	rs[1].Context[audit.CtxOutcome] = "x"
	err := audit.Verify(rs)
	require.ErrorContains(t, err, `position 2 (receipt "intent-b/1", index 1): integrity mismatch`)
	require.True(t, errors.Is(err, audit.ErrIntegrityMismatch))
}

// TestVerifyHeadFindsATruncatedTail is finding 8 of issue 10: receipts
// deleted from the end verify as a chain, not against the head.
func TestVerifyHeadFindsATruncatedTail(t *testing.T) {
	t.Parallel()
	chain := interleaved(t)
	last := chain[len(chain)-1]
	cases := []struct {
		name     string
		receipts []audit.Receipt
		pos      int64
		hash     []byte
		ok       bool
	}{
		{"whole chain", chain, last.Position, last.Integrity, true},
		{"empty chain, empty head", nil, 0, make([]byte, 32), true},
		{"last two deleted", chain[:len(chain)-2], last.Position, last.Integrity, false},
		{"all deleted", nil, last.Position, last.Integrity, false},
		{"last replaced", chain, last.Position, chain[0].Integrity, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := audit.VerifyHead(c.receipts, c.pos, c.hash)
			if c.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, audit.ErrTruncated)
			require.ErrorContains(t, err, fmt.Sprintf("head records position %d", c.pos))
		})
	}
}
