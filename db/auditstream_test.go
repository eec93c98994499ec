package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
)

// streamChain seals n receipts: intents of 20 events, four at a time
// interleaved (n a multiple of 80), one event in five with a few hundred
// bytes of details, some text outside ASCII and some traced intents.
func streamChain(tb testing.TB, n int) []audit.Receipt {
	tb.Helper()
	const perIntent, together = 20, 4
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	out := make([]audit.Receipt, 0, n)
	prev := audit.GenesisPrevHash()
	for i := range n {
		block, k := i/(perIntent*together), i%(perIntent*together)
		intent := fmt.Sprintf("stream_%07d", block*together+k%together)
		seq := int64(k/together + 1)
		e := audit.Event{
			IntentID: intent, Seq: seq, CorrelationID: "session_" + intent, PolicyBundleVersion: "v1.0.0",
			Stage: "policy_engine", EventType: audit.EventSemanticResolution, Outcome: "resolvido ✓",
			Actor:  audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
			Action: audit.ActionInvoke, Targets: []string{intent, "silver_documentos"},
			Timestamp: t0.Add(time.Duration(i) * time.Millisecond).Add(123 * time.Microsecond),
			Details:   json.RawMessage(`{"confidence":0.81,"note":"a \"quoted\" <word>"}`),
		}
		switch {
		case seq == 1:
			e.EventType = audit.EventIntentReceived
		case seq == perIntent:
			e.EventType = audit.EventIntentCompleted
		case seq%5 == 0:
			e.Details = json.RawMessage(`{"decision":"approve","rules":[{"name":"pii_requires_masking","matched":false},` +
				`{"name":"silver_write_needs_approval","matched":true,"fault_code":"SILVER_WRITE"}],"signature":{"domain":` +
				`"fiscal_data_processing","datasets":["nfe","clientes","silver_documentos"],"operations":["join","persist"]},` +
				`"cost":{"estimated_rows":1250000,"budget":"<= 30s & <= 5M rows"}}`)
		}
		if block%3 == 0 {
			e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		}
		r, err := audit.Seal(e, int64(i+1), prev)
		require.NoError(tb, err)
		out = append(out, r)
		prev = r.Integrity
	}
	return out
}

// copyChain stores pre-sealed receipts with COPY, triggers off (they would
// demand the head lock row by row), and moves the head to the last one.
func copyChain(tb testing.TB, pool *pgxpool.Pool, rs []audit.Receipt) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(tb, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET session_replication_role = replica")
	require.NoError(tb, err)
	defer func() { _, _ = conn.Exec(ctx, "RESET session_replication_role") }()
	rows := make([][]any, len(rs))
	for i, r := range rs {
		ctxJSON, err := json.Marshal(r.Context)
		require.NoError(tb, err)
		rows[i] = []any{r.Position, r.ReceiptID, r.IntentID(), r.Seq(), r.Context[audit.CtxCorrelationID],
			r.Context[audit.CtxPolicyBundleVersion], r.Context[audit.CtxStage], r.EventType(), r.Context[audit.CtxOutcome],
			r.Actor.ID, string(r.Actor.Type), r.Actor.AuthContext, string(r.Action), r.Targets, r.Timestamp,
			ctxJSON, []byte(r.Context[audit.CtxDetails]), r.PrevHash, r.Integrity}
	}
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"audit_events"}, []string{"position", "receipt_id", "intent_id", "seq",
		"correlation_id", "policy_bundle_version", "stage", "event_type", "outcome", "actor_id", "actor_type",
		"actor_auth_context", "action", "targets", "ts", "context", "details", "prev_hash", "integrity"}, pgx.CopyFromRows(rows))
	require.NoError(tb, err)
	last := rs[len(rs)-1]
	_, err = conn.Exec(ctx, "UPDATE audit_chain_head SET position = $1, integrity = $2 WHERE id", last.Position, last.Integrity)
	require.NoError(tb, err)
}

func TestStreamAuditChainIsWholeAuditChain(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db_auditstream")
	store := db.New(d.Pool)
	ctx := context.Background()
	var got []audit.Receipt
	require.NoError(t, store.StreamAuditChain(ctx, func(r audit.Receipt) error { got = append(got, r); return nil }))
	require.Empty(t, got, "an empty chain streams nothing")

	chain := streamChain(t, 9040) // two full pages and a partial one
	copyChain(t, d.Pool, chain)
	whole, err := store.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.NoError(t, store.StreamAuditChain(ctx, func(r audit.Receipt) error { got = append(got, r); return nil }))
	require.Equal(t, whole, got)
	require.Len(t, got, len(chain))
	require.NoError(t, audit.Verify(got))

	stop := errors.New("stop")
	n := 0
	err = store.StreamAuditChain(ctx, func(audit.Receipt) error {
		if n++; n == 4500 {
			return stop
		}
		return nil
	})
	require.Same(t, stop, err, "fn's error is returned as is")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, store.StreamAuditChain(cancelled, func(audit.Receipt) error { return nil }), context.Canceled)
}

// BenchmarkVerifyPostgres is `cfa audit verify` without Temporal: the
// head, then the chain streamed from Postgres through a Verifier, then
// complete_per_intent. peak-heap-MiB is the largest HeapInuse seen while
// verifying (sampled every 16k receipts).
//
//	go test -run '^$' -bench VerifyPostgres -benchmem ./db/
func BenchmarkVerifyPostgres(b *testing.B) {
	const n = 100_000
	d := dbtest.New(b, "db_verifybench")
	store := db.New(d.Pool)
	ctx := context.Background()
	chain := streamChain(b, n)
	for i := 0; i < n; i += 10_000 {
		copyChain(b, d.Pool, chain[i:i+10_000])
	}
	chain = nil
	_, err := d.Pool.Exec(ctx, "VACUUM ANALYZE audit_events")
	require.NoError(b, err)
	runtime.GC()
	b.Run(fmt.Sprintf("receipts=%d", n), func(b *testing.B) {
		var peak uint64
		var ms runtime.MemStats
		b.ReportAllocs()
		for b.Loop() {
			headPos, headSum, err := store.AuditHead(ctx)
			require.NoError(b, err)
			v := audit.NewVerifier()
			v.ExpectHead(headPos, headSum)
			count := 0
			require.NoError(b, store.StreamAuditChain(ctx, func(r audit.Receipt) error {
				if count++; count%(1<<14) == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
				return v.Add(r)
			}))
			require.NoError(b, v.Finish())
			require.NoError(b, v.CompletePerIntent())
			require.Equal(b, n, count)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}
