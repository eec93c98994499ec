package cfs_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

var t0 = time.Date(2026, 1, 15, 10, 30, 0, 123456789, time.UTC)

func record(t *testing.T) *cfspb.Record {
	t.Helper()
	props, err := structpb.NewStruct(map[string]any{
		"name":   "orders",
		"rows":   42,
		"nested": map[string]any{"z": 1, "a": []any{"x", true, nil}},
	})
	require.NoError(t, err)
	return &cfspb.Record{
		RecordId:  "0194f1c2-0000-7000-8000-000000000001",
		TenantId:  "acme",
		Labels:    []string{"Table", "Finance"},
		Props:     props.Fields,
		CreatedAt: cfs.Timestamp(t0),
	}
}

func link() *cfspb.Link {
	return &cfspb.Link{
		LinkId:      "l1",
		Type:        "derived_from",
		Source:      "r1",
		Target:      "r2",
		Props:       map[string]*structpb.Value{"weight": structpb.NewNumberValue(0.5), "via": structpb.NewStringValue("etl")},
		Valid:       cfs.OpenInterval(t0),
		System:      cfs.ClosedInterval(t0, t0.Add(time.Hour)),
		AssertionId: "a1",
	}
}

func receipt() *cfspb.Receipt {
	return &cfspb.Receipt{
		ReceiptId: "intent-1/1",
		Actor:     &cfspb.Principal{Id: "svc-planner", Type: cfspb.PrincipalType_SERVICE, AuthContext: "mtls"},
		Action:    cfspb.Action_INVOKE,
		Targets:   []string{"warehouse.orders"},
		Timestamp: cfs.Timestamp(t0),
		Context:   map[string]string{"intent_id": "intent-1", "seq": "1", "stage": "planner"},
		PrevHash:  make([]byte, 32),
	}
}

func TestIntegrityStableAcrossRunsAndMapOrder(t *testing.T) {
	t.Parallel()
	base, err := cfs.Integrity(record(t))
	require.NoError(t, err)
	for i := range 50 {
		// Fresh maps each time: Go randomises insertion and iteration order.
		r := record(t)
		keys := []string{"k3", "k1", "k2"}
		if i%2 == 1 {
			keys = []string{"k2", "k3", "k1"}
		}
		r2 := record(t)
		for _, k := range keys {
			r.Props[k] = structpb.NewStringValue(k)
		}
		for j := len(keys) - 1; j >= 0; j-- {
			r2.Props[keys[j]] = structpb.NewStringValue(keys[j])
		}
		a, err := cfs.Integrity(r)
		require.NoError(t, err)
		b, err := cfs.Integrity(r2)
		require.NoError(t, err)
		require.Equal(t, a, b)
		c, err := cfs.Integrity(record(t))
		require.NoError(t, err)
		require.Equal(t, base, c)
	}
	// Pinned so a protobuf upgrade that changes the encoding is noticed.
	require.Equal(t, "c8799e41dd08f8229801a39be2d1eec79968d920ff6aa98c4a0d53270d3c48e2", hex.EncodeToString(base), "canonical encoding changed: every stored hash would break")
}

func TestIntegrityIgnoresIntegrityFieldAndUnknownFields(t *testing.T) {
	t.Parallel()
	r := receipt()
	before, err := cfs.Integrity(r)
	require.NoError(t, err)
	require.NoError(t, cfs.SetIntegrity(r))
	require.Equal(t, before, r.GetIntegrity())
	require.NoError(t, cfs.VerifyIntegrity(r))

	// Unknown fields (e.g. from a newer schema) are not part of the hash.
	r.ProtoReflect().SetUnknown([]byte{0xf8, 0x06, 0x01}) // field 111, varint 1
	require.NoError(t, cfs.VerifyIntegrity(r))
	require.NotEmpty(t, r.ProtoReflect().GetUnknown(), "Canonical must not modify its input")
}

func TestIntegrityChangesWhenAnyFieldChanges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*cfspb.Receipt)
	}{
		{"receipt_id", func(r *cfspb.Receipt) { r.ReceiptId = "intent-1/2" }},
		{"actor.id", func(r *cfspb.Receipt) { r.Actor.Id = "someone-else" }},
		{"actor.type", func(r *cfspb.Receipt) { r.Actor.Type = cfspb.PrincipalType_HUMAN }},
		{"actor.auth_context", func(r *cfspb.Receipt) { r.Actor.AuthContext = "" }},
		{"action to zero value READ", func(r *cfspb.Receipt) { r.Action = cfspb.Action_READ }},
		{"targets appended", func(r *cfspb.Receipt) { r.Targets = append(r.Targets, "x") }},
		{"targets reordered", func(r *cfspb.Receipt) { r.Targets = []string{"b", "a"} }},
		{"timestamp nanos", func(r *cfspb.Receipt) { r.Timestamp.Nanos++ }},
		{"context value", func(r *cfspb.Receipt) { r.Context["stage"] = "policy" }},
		{"context key added", func(r *cfspb.Receipt) { r.Context["extra"] = "" }},
		{"prev_hash", func(r *cfspb.Receipt) { r.PrevHash[31] = 1 }},
	}
	base, err := cfs.Integrity(receipt())
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := receipt()
			require.NoError(t, cfs.SetIntegrity(r))
			tc.mutate(r)
			got, err := cfs.Integrity(r)
			require.NoError(t, err)
			require.NotEqual(t, base, got)
			require.ErrorIs(t, cfs.VerifyIntegrity(r), cfs.ErrIntegrityMismatch)
		})
	}
}

func TestIntegrityRecordAndLinkFieldChanges(t *testing.T) {
	t.Parallel()
	rec := record(t)
	require.NoError(t, cfs.SetIntegrity(rec))
	rec.Props["nested"].GetStructValue().Fields["z"] = structpb.NewNumberValue(2)
	require.ErrorIs(t, cfs.VerifyIntegrity(rec), cfs.ErrIntegrityMismatch)

	l := link()
	require.NoError(t, cfs.SetIntegrity(l))
	require.NoError(t, cfs.VerifyIntegrity(l))
	l.System.To.Seconds++
	require.ErrorIs(t, cfs.VerifyIntegrity(l), cfs.ErrIntegrityMismatch)
}

func TestIntegrityErrors(t *testing.T) {
	t.Parallel()
	_, err := cfs.Integrity(&cfspb.Gate{GateId: "g"})
	require.ErrorIs(t, err, cfs.ErrNoIntegrityField)
	require.ErrorIs(t, cfs.VerifyIntegrity(receipt()), cfs.ErrIntegrityMissing)
	_, err = cfs.Canonical((*cfspb.Receipt)(nil))
	require.Error(t, err)
	_, err = cfs.Integrity(&cfspb.Receipt{ReceiptId: "\xff"})
	require.ErrorContains(t, err, "UTF-8")
}

func TestCanonicalIsDeterministicBinary(t *testing.T) {
	t.Parallel()
	a, err := cfs.Canonical(link())
	require.NoError(t, err)
	for range 20 {
		b, err := cfs.Canonical(link())
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b))
	}
	var back cfspb.Link
	require.NoError(t, proto.Unmarshal(a, &back))
	require.True(t, proto.Equal(link(), &back))
}

func TestMultihash(t *testing.T) {
	t.Parallel()
	digest, err := cfs.Integrity(receipt())
	require.NoError(t, err)
	mh, err := cfs.Multihash(digest)
	require.NoError(t, err)
	require.Len(t, mh, 34)
	require.Equal(t, cfs.MultihashSHA256Prefix, mh[:2])
	s, err := cfs.MultihashHex(digest)
	require.NoError(t, err)
	require.Len(t, s, 68)
	require.Equal(t, "1220"+hex.EncodeToString(digest), s)
	back, err := cfs.DigestFromMultihash(mh)
	require.NoError(t, err)
	require.Equal(t, digest, back)

	_, err = cfs.Multihash([]byte{1, 2, 3})
	require.ErrorContains(t, err, "want 32")
	_, err = cfs.DigestFromMultihash([]byte{0x13, 0x02, 1, 2}) // sha2-512 code
	require.ErrorContains(t, err, "want sha2-256")
}

func TestJSONTransportPreservesIntegrity(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  proto.Message
		zero func() proto.Message
	}{
		{"record", record(t), func() proto.Message { return &cfspb.Record{} }},
		{"link with forever", link(), func() proto.Message { return &cfspb.Link{} }},
		{"receipt", receipt(), func() proto.Message { return &cfspb.Receipt{} }},
		{"receipt action READ", func() proto.Message { r := receipt(); r.Action = cfspb.Action_READ; return r }(),
			func() proto.Message { return &cfspb.Receipt{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, cfs.SetIntegrity(tc.msg))
			b, err := cfs.MarshalJSON(tc.msg)
			require.NoError(t, err)
			require.NotContains(t, string(b), "\n")
			again, err := cfs.MarshalJSON(tc.msg)
			require.NoError(t, err)
			require.Equal(t, b, again)

			back := tc.zero()
			require.NoError(t, cfs.UnmarshalJSON(b, back))
			require.True(t, proto.Equal(tc.msg, back), "round trip changed data: %s", b)
			require.NoError(t, cfs.VerifyIntegrity(back))
		})
	}
}

func TestJSONForever(t *testing.T) {
	t.Parallel()
	b, err := cfs.MarshalJSON(link())
	require.NoError(t, err)
	require.Contains(t, string(b), `"to":"`+cfs.MaxJSONTimestamp+`"`)
	require.Contains(t, string(b), `"assertion_id":"a1"`)

	l := link()
	l.System.To = &timestamppb.Timestamp{Seconds: 253402300799, Nanos: 999999999}
	_, err = cfs.MarshalJSON(l)
	require.ErrorIs(t, err, cfs.ErrReservedTimestamp)

	var r cfspb.Receipt
	require.ErrorContains(t, cfs.UnmarshalJSON([]byte(`{"receipt_id":"x","bogus":1}`), &r), "bogus")
}

func TestTimestamps(t *testing.T) {
	t.Parallel()
	require.True(t, cfs.IsForever(cfs.Forever()))
	require.False(t, cfs.IsForever(nil))
	require.True(t, cfs.IsNowSentinel(cfs.NowSentinel()))
	require.False(t, cfs.IsNowSentinel(nil))
	require.False(t, cfs.IsNowSentinel(cfs.Timestamp(t0)))
	local := t0.In(time.FixedZone("X", 3600))
	require.True(t, proto.Equal(cfs.Timestamp(t0), cfs.Timestamp(local)))

	open := cfs.OpenInterval(t0)
	closed := cfs.ClosedInterval(t0, t0.Add(time.Second))
	cases := []struct {
		at         time.Time
		open, shut bool
	}{
		{t0.Add(-time.Nanosecond), false, false},
		{t0, true, true},
		{t0.Add(time.Second - 1), true, true},
		{t0.Add(time.Second), true, false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), true, false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.at), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.open, cfs.IntervalContains(open, cfs.Timestamp(tc.at)))
			require.Equal(t, tc.shut, cfs.IntervalContains(closed, cfs.Timestamp(tc.at)))
		})
	}
}
