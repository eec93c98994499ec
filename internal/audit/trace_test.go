package audit_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
)

// TestTraceIDIsSealedOnlyWhenSet: an event with a trace id seals it in the
// receipt's context (covered by the integrity hash, verified like any key);
// one without seals exactly the bytes it sealed before trace ids existed.
func TestTraceIDIsSealedOnlyWhenSet(t *testing.T) {
	e := event("intent-t", 1, audit.EventIntentReceived, "received")
	plain, err := audit.Seal(e, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	require.NotContains(t, plain.Context, audit.CtxTraceID)
	require.Empty(t, plain.TraceID())

	e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	traced, err := audit.Seal(e, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	require.Equal(t, e.TraceID, traced.Context[audit.CtxTraceID])
	require.Equal(t, e.TraceID, traced.TraceID())
	require.False(t, bytes.Equal(plain.Integrity, traced.Integrity), "the trace id is sealed")
	again, err := audit.Seal(e, 1, audit.GenesisPrevHash())
	require.NoError(t, err)
	require.Equal(t, traced, again, "same inputs, same bytes (I8)")
	require.NoError(t, audit.Verify([]audit.Receipt{traced}))

	edited := clone([]audit.Receipt{traced})
	edited[0].Context[audit.CtxTraceID] = "00f067aa0ba902b74bf92f3577b34da6"
	require.ErrorIs(t, audit.Verify(edited), audit.ErrIntegrityMismatch)
	dropped := clone([]audit.Receipt{traced})
	delete(dropped[0].Context, audit.CtxTraceID)
	require.ErrorIs(t, audit.Verify(dropped), audit.ErrIntegrityMismatch)

	// Through the proto and back, as the JSONL export reads it.
	back, err := audit.FromProto(audit.ToProto(traced))
	require.NoError(t, err)
	require.Equal(t, e.TraceID, back.TraceID())
}

func TestSealRefusesAMalformedTraceID(t *testing.T) {
	for _, bad := range []string{"abc", "4BF92F3577B34DA6A3CE929D0E0E4736", "00000000000000000000000000000000", "4bf92f3577b34da6a3ce929d0e0e473g"} {
		e := event("intent-t", 1, audit.EventIntentReceived, "received")
		e.TraceID = bad
		_, err := audit.Seal(e, 1, audit.GenesisPrevHash())
		require.ErrorIs(t, err, audit.ErrInvalidEvent, bad)
		require.ErrorContains(t, err, "trace_id")
	}
}
