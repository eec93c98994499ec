package db_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
)

// BenchmarkAuditAppend compares Store.Append with a plain one-row INSERT
// (autocommit) of the same rows into a table of the same shape without the
// chain, at 1, 8 and 32 concurrent writers, in one database (issue 15).
// One op is one event; events/s is the throughput of all writers together.
//
//	go test -run '^$' -bench AuditAppend -benchtime 4000x ./db/
func BenchmarkAuditAppend(b *testing.B) {
	d := dbtest.New(b, "db_bench")
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(d.URL)
	require.NoError(b, err)
	cfg.MaxConns = 40
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE TABLE plain_audit (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE SEQUENCE plain_audit_position OWNED BY plain_audit.position;
ALTER TABLE plain_audit ALTER COLUMN position SET DEFAULT nextval('plain_audit_position')`)
	require.NoError(b, err)
	store := db.New(pool)
	integrity := make([]byte, 32)

	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d/plain_insert", writers), func(b *testing.B) {
			runWriters(b, writers, func(w, i int) error {
				e := benchEvent(b.Name(), w, i)
				_, err := pool.Exec(ctx, `INSERT INTO plain_audit (receipt_id, intent_id, seq, correlation_id, policy_bundle_version,
  stage, event_type, outcome, actor_id, actor_type, actor_auth_context, action, targets, ts, context, details, prev_hash, integrity)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
					audit.ReceiptID(e.IntentID, e.Seq), e.IntentID, e.Seq, e.CorrelationID, e.PolicyBundleVersion,
					e.Stage, e.EventType, e.Outcome, e.Actor.ID, string(e.Actor.Type), e.Actor.AuthContext, string(e.Action),
					e.Targets, e.Timestamp, []byte(`{"stage":"execution"}`), []byte(e.Details), integrity, integrity)
				return err
			})
		})
		b.Run(fmt.Sprintf("writers=%d/append", writers), func(b *testing.B) {
			runWriters(b, writers, func(w, i int) error {
				_, err := store.Append(ctx, benchEvent(b.Name(), w, i))
				return err
			})
		})
	}
	var n int64
	require.NoError(b, pool.QueryRow(ctx, "SELECT count(*) FROM audit_events").Scan(&n))
	rs, err := store.AuditChain(ctx, 0, 1000)
	require.NoError(b, err)
	require.NoError(b, audit.Verify(rs), "the chain the benchmark wrote verifies")
}

// benchEvent is writer w's i-th event: intents of 10 events each, as a
// stage of an intent appends them.
func benchEvent(run string, w, i int) audit.Event {
	return audit.Event{
		IntentID:            fmt.Sprintf("bench_%x_%d_%d", fnv(run), w, i/10),
		Seq:                 int64(i%10) + 1,
		CorrelationID:       "bench",
		PolicyBundleVersion: "v1",
		Stage:               "execution",
		EventType:           audit.EventUnitExecuted,
		Outcome:             "committed",
		Actor:               audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
		Action:              audit.ActionWrite,
		Targets:             []string{"silver_documentos", "2026-01-02"},
		Timestamp:           time.Date(2026, 12, 3, 9, 0, 0, i*1000, time.UTC),
		Details:             []byte(`{"rows_out":30000,"unit":"2026-01-02"}`),
	}
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

var benchRuns atomic.Int64

// runWriters runs b.N ops spread over writers goroutines, each writer's
// ops in order, and reports events/s.
func runWriters(b *testing.B, writers int, op func(w, i int) error) {
	run := benchRuns.Add(1) << 20 // each run of a benchmark its own intents
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	per := make([]int, writers)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(w+int(run), per[w]); err != nil {
					errs <- err
					return
				}
				per[w]++
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
