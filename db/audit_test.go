package db_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
)

func event(intentID string, seq int64) audit.Event {
	return audit.Event{
		IntentID:            intentID,
		Seq:                 seq,
		CorrelationID:       "session_4f9a2c",
		PolicyBundleVersion: "v4.2",
		Stage:               "intent_normalizer",
		EventType:           audit.EventSemanticResolution,
		Outcome:             "resolved",
		Actor:               audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
		Action:              audit.ActionRead,
		Targets:             []string{"silver_documentos"},
		// Nanoseconds on purpose: AppendAudit truncates to microseconds.
		Timestamp: time.Date(2026, 3, 22, 14, 30, 0, 123456789, time.UTC),
		Details:   json.RawMessage(`{"confidence":0.81,"confirmation_mode":"hard_required"}`),
	}
}

// fullChain reads the whole chain, 7 receipts at a time to exercise paging.
func fullChain(t *testing.T, s *db.Store) []audit.Receipt {
	t.Helper()
	var all []audit.Receipt
	after := int64(0)
	for {
		page, err := s.AuditChain(context.Background(), after, 7)
		require.NoError(t, err)
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Position
	}
}

func TestAppendAuditRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "roundtrip_" + uuid.NewString()
	e := event(intent, 1)

	r, err := testStore.AppendAudit(ctx, e)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 22, 14, 30, 0, 123456000, time.UTC), r.Timestamp, "truncated to microseconds before sealing")
	require.Len(t, r.Integrity, 32)
	require.Len(t, r.PrevHash, 32)

	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Equal(t, []audit.Receipt{r}, got, "the stored receipt is byte-for-byte the sealed one")
}

func TestAppendAuditIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "retry_" + uuid.NewString()
	e := event(intent, 1)

	first, err := testStore.AppendAudit(ctx, e)
	require.NoError(t, err)
	e.Timestamp = e.Timestamp.Add(100 * time.Nanosecond) // .123456889: same microsecond, same event
	second, err := testStore.AppendAudit(ctx, e)
	require.NoError(t, err)
	require.Equal(t, first, second)

	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Len(t, got, 1)

	changed := event(intent, 1)
	changed.Outcome = "ambiguous"
	_, err = testStore.AppendAudit(ctx, changed)
	require.ErrorIs(t, err, db.ErrAuditConflict)
}

// TestAppendAuditRetryAtALaterTimeReturnsTheStoredReceipt is finding 1 of
// issue 10: a workflow task retried after a worker died runs its local
// activity again at a later workflow time; the event is the same event.
func TestAppendAuditRetryAtALaterTimeReturnsTheStoredReceipt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "later_" + uuid.NewString()
	first, err := testStore.Append(ctx, event(intent, 1), event(intent, 2))
	require.NoError(t, err)

	later := []audit.Event{event(intent, 1), event(intent, 2), event(intent, 3)}
	for i := range later {
		later[i].Timestamp = later[i].Timestamp.Add(42 * time.Second)
	}
	again, err := testStore.Append(ctx, later...)
	require.NoError(t, err)
	require.Equal(t, first, again[:2], "the stored receipts, with the time of their first append")
	require.Equal(t, later[2].Timestamp.Truncate(time.Microsecond), again[2].Timestamp, "a new event keeps its own time")

	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NoError(t, audit.Verify(mustChain(t)))

	other := event(intent, 2)
	other.Timestamp = other.Timestamp.Add(time.Hour)
	other.Outcome = "ambiguous"
	_, err = testStore.Append(ctx, other)
	require.ErrorIs(t, err, db.ErrAuditConflict, "another time does not excuse other content")
}

func mustChain(t *testing.T) []audit.Receipt {
	t.Helper()
	rs, err := testStore.WholeAuditChain(context.Background())
	require.NoError(t, err)
	return rs
}

func TestAppendAuditKeepsCausalOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "causal_" + uuid.NewString()
	_, err := testStore.AppendAudit(ctx, event(intent, 2))
	require.ErrorIs(t, err, db.ErrAuditOutOfOrder)

	for seq := int64(1); seq <= 3; seq++ {
		_, err := testStore.AppendAudit(ctx, event(intent, seq))
		require.NoError(t, err)
	}
	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, r := range got {
		require.Equal(t, fmt.Sprintf("%s/%d", intent, i+1), r.ReceiptID)
	}
}

func TestAppendAuditRejectsInvalidEvent(t *testing.T) {
	t.Parallel()
	e := event("invalid_"+uuid.NewString(), 1)
	e.Targets = nil
	_, err := testStore.AppendAudit(context.Background(), e)
	require.ErrorIs(t, err, audit.ErrInvalidEvent)
}

func TestAppendAuditRejectsMissingKey(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]audit.Event{
		"no intent_id": event("", 1),
		"seq zero":     event("x", 0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := testStore.AppendAudit(context.Background(), e)
			require.ErrorContains(t, err, "set intent_id and a seq from 1")
		})
	}
}

func TestConcurrentAppendsFormAGapFreeVerifiableChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const goroutines, perGoroutine = 20, 5
	run := uuid.NewString()

	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	returned := make(chan audit.Receipt, goroutines*perGoroutine)
	for g := range goroutines {
		wg.Go(func() {
			intent := fmt.Sprintf("concurrent_%s_%02d", run, g)
			for seq := int64(1); seq <= perGoroutine; seq++ {
				r, err := testStore.AppendAudit(ctx, event(intent, seq))
				errs <- err
				returned <- r
			}
		})
	}
	wg.Wait()
	close(errs)
	close(returned)
	for err := range errs {
		require.NoError(t, err)
	}

	// The whole package chain (other tests append too) is gap-free and verifies.
	chain := fullChain(t, testStore)
	for i, r := range chain {
		require.Equal(t, int64(i+1), r.Position)
	}
	require.NoError(t, audit.Verify(chain))
	head, integrity, err := testStore.AuditHead(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, head, int64(len(chain)))

	byPos := make(map[int64]audit.Receipt, len(chain))
	for _, r := range chain {
		byPos[r.Position] = r
	}
	if head == int64(len(chain)) {
		require.Equal(t, chain[len(chain)-1].Integrity, integrity)
	}
	for r := range returned {
		require.Equal(t, byPos[r.Position], r, "AppendAudit returns what is stored")
	}

	// Causal order per intent.
	got, err := testStore.AuditByIntent(ctx, fmt.Sprintf("concurrent_%s_07", run))
	require.NoError(t, err)
	require.Len(t, got, perGoroutine)
	for i, r := range got {
		require.Equal(t, fmt.Sprint(i+1), r.Context["seq"])
	}
}

func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "append_only_" + uuid.NewString()
	_, err := testStore.AppendAudit(ctx, event(intent, 1))
	require.NoError(t, err)

	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"update", `UPDATE audit_events SET outcome = 'forged' WHERE intent_id = $1`, "audit_events is append-only: UPDATE is not allowed"},
		{"delete", `DELETE FROM audit_events WHERE intent_id = $1`, "audit_events is append-only: DELETE is not allowed"},
		{"truncate", `TRUNCATE audit_events CASCADE`, "audit_events is append-only: TRUNCATE is not allowed"},
		{"insert out of position", `INSERT INTO audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
			SELECT position + 5, $1 || '/99', $1, 99, 'X', 'a', 'SYSTEM', 'READ', now(), '{}', integrity, integrity FROM audit_chain_head`, "must take chain position"},
		{"insert out of causal order", `INSERT INTO audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
			SELECT position + 1, $1 || '/99', $1, 99, 'X', 'a', 'SYSTEM', 'READ', now(), '{}', integrity, integrity FROM audit_chain_head`, "is out of causal order"},
		{"insert not linked to head", `INSERT INTO audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
			SELECT position + 1, $1 || '/2', $1, 2, 'X', 'a', 'SYSTEM', 'READ', now(), '{}', decode(repeat('ff', 32), 'hex'), integrity FROM audit_chain_head`, "does not link to the chain head"},
		{"rewind head", `UPDATE audit_chain_head SET position = 0 WHERE $1 <> ''`, "audit_chain_head may only advance"},
		{"delete head", `DELETE FROM audit_chain_head WHERE $1 <> ''`, "audit_chain_head has exactly one row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := dbtest.Tx(t, testDB.Pool)
			// Hold the head so concurrent appends cannot move it under the statement.
			_, err := tx.Exec(ctx, `SELECT 1 FROM audit_chain_head FOR UPDATE`)
			require.NoError(t, err)
			if tt.name == "truncate" {
				_, err = tx.Exec(ctx, tt.sql)
			} else {
				_, err = tx.Exec(ctx, tt.sql, intent)
			}
			require.ErrorContains(t, err, tt.want)
		})
	}

	got, err := testStore.AuditByIntent(ctx, intent)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "resolved", got[0].Context["outcome"])
}

func TestAuditPrivilegesRevokedFromPublic(t *testing.T) {
	t.Parallel()
	for _, priv := range []string{"UPDATE", "DELETE", "TRUNCATE"} {
		var ok bool
		require.NoError(t, testDB.Pool.QueryRow(context.Background(),
			`SELECT has_table_privilege('public', 'audit_events', $1)`, priv).Scan(&ok))
		require.False(t, ok, priv)
	}
}

// A batch carries several callers' events: one caller's error is its own,
// and a retry inside a batch finds its stored receipts (ADR 0143).
func TestAppendBatchGivesEachCallerItsOwnAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, c := "batch_a_"+uuid.NewString(), "batch_b_"+uuid.NewString(), "batch_c_"+uuid.NewString()
	first, err := testStore.AppendAudit(ctx, event(c, 1))
	require.NoError(t, err)

	retried := event(c, 1)
	retried.Timestamp = retried.Timestamp.Add(time.Hour) // a later attempt: the stored time wins
	out, errs := db.AppendGroups(ctx, testStore, [][]audit.Event{
		{event(a, 1), event(a, 2)},
		{event(b, 5)}, // seq 4 of b was never recorded
		{retried, event(c, 2)},
	})
	require.NoError(t, errs[0])
	require.Len(t, out[0], 2)
	require.ErrorIs(t, errs[1], db.ErrAuditOutOfOrder)
	require.Empty(t, out[1])
	require.NoError(t, errs[2])
	require.Len(t, out[2], 2)
	require.Equal(t, first, out[2][0], "the stored receipt answers the retry")
	require.Equal(t, int64(2), out[2][1].Seq())

	for _, id := range []string{a, c} {
		rs, err := testStore.AuditByIntent(ctx, id)
		require.NoError(t, err)
		require.Len(t, rs, 2)
	}
	rs, err := testStore.AuditByIntent(ctx, b)
	require.NoError(t, err)
	require.Empty(t, rs, "nothing of the refused caller is recorded")
}

// The head moves with every insert, whoever inserts: a chained row
// inserted without audit_append still advances it, and the head cannot be
// moved past the last event.
func TestTheHeadFollowsEveryInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	intent := "raw_" + uuid.NewString()
	tx := dbtest.Tx(t, testDB.Pool)
	var pos int64
	require.NoError(t, tx.QueryRow(ctx, `SELECT position FROM audit_chain_head FOR UPDATE`).Scan(&pos))
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
		SELECT position + 1, $1 || '/1', $1, 1, 'X', 'a', 'SYSTEM', 'READ', now(), '{}', integrity, sha256(integrity) FROM audit_chain_head`, intent)
	require.NoError(t, err)
	var after int64
	require.NoError(t, tx.QueryRow(ctx, `SELECT position FROM audit_chain_head`).Scan(&after))
	require.Equal(t, pos+1, after)
	_, err = tx.Exec(ctx, `UPDATE audit_chain_head SET position = position + 1`)
	require.ErrorContains(t, err, "audit_chain_head may only advance")
}
