package dataplane_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
)

// TestPromoteEmptiesStagingAtOnceOnlyWhenAlone (docs/adr/0141): the
// promoted units' rows leave staging with the table (TRUNCATE, a new file)
// when they are all it holds and nobody else has it open; with another
// intent's rows in it, or another session on it, they are deleted, and
// the promotion does not wait. The count is the rows promoted either way.
func TestPromoteEmptiesStagingAtOnceOnlyWhenAlone(t *testing.T) {
	t.Parallel()
	pool := freshDB(t, dataplane.Options{RowsPerPartition: 10, ClientCount: 5, Seed: 1})
	ctx := context.Background()
	plan, _ := reconciliation(t)
	stage := func(intent string, partitions ...string) []dataplane.Unit {
		var units []dataplane.Unit
		for _, p := range partitions {
			_, err := pool.Exec(ctx, `INSERT INTO staging.silver_documentos (nfe_id, processing_date, uf, cfa_intent_id, cfa_unit_key)
SELECT 'n' || g, $2::date, 'SP', $1, $2 FROM generate_series(1, 3) g`, intent, p)
			require.NoError(t, err)
			units = append(units, dataplane.Unit{IntentID: intent, Key: p, Partition: p})
		}
		return units
	}
	filenode := func() (n int64) {
		require.NoError(t, pool.QueryRow(ctx, "SELECT pg_relation_filenode('staging.silver_documentos')::bigint").Scan(&n))
		return n
	}
	promote := func(intent string, units []dataplane.Unit) int64 {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		n, err := dataplane.Promote(ctx, tx, plan, cat, intent, units)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		return n
	}

	a := stage("intent-a", "2026-01-01", "2026-01-02")
	b := stage("intent-b", "2026-01-03")
	before := filenode()
	require.Equal(t, int64(6), promote("intent-a", a))
	require.Equal(t, before, filenode(), "another intent's rows are there: deleted, not truncated")
	require.Equal(t, int64(3), count(t, pool, "SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = 'intent-b'"))
	require.Equal(t, int64(6), count(t, pool, "SELECT count(*) FROM silver.silver_documentos"))

	require.Equal(t, int64(3), promote("intent-b", b))
	require.NotEqual(t, before, filenode(), "alone: the table is emptied at once")
	require.Zero(t, count(t, pool, "SELECT count(*) FROM staging.silver_documentos"))
	require.Equal(t, int64(9), count(t, pool, "SELECT count(*) FROM silver.silver_documentos"))

	// Another session reads staging: the promotion neither waits nor truncates.
	c := stage("intent-c", "2026-01-04")
	reader, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = reader.Rollback(ctx) }()
	require.Equal(t, int64(3), count(t, reader, "SELECT count(*) FROM staging.silver_documentos"))
	before = filenode()
	start := time.Now()
	require.Equal(t, int64(3), promote("intent-c", c))
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, before, filenode())
	require.Zero(t, count(t, pool, "SELECT count(*) FROM staging.silver_documentos"))
}
