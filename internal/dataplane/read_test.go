package dataplane_test

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
)

// TestResultValue: what pgx decodes becomes the JSON a read's result
// carries: numbers, a numeric's exact text, ISO dates and RFC 3339
// timestamps in UTC, JSON as it is.
func TestResultValue(t *testing.T) {
	t.Parallel()
	var n pgtype.Numeric
	require.NoError(t, n.Scan("1234.50"))
	ts := time.Date(2026, 1, 2, 13, 4, 5, 0, time.FixedZone("BRT", -3*3600))
	cases := []struct {
		name string
		oid  uint32
		in   any
		want any
	}{
		{"null", pgtype.TextOID, nil, nil},
		{"text", pgtype.TextOID, "SP", "SP"},
		{"bigint", pgtype.Int8OID, int64(6000), int64(6000)},
		{"double", pgtype.Float8OID, 1.5, 1.5},
		{"NaN has no JSON number", pgtype.Float8OID, math.NaN(), "NaN"},
		{"numeric keeps its digits", pgtype.NumericOID, n, "1234.50"},
		{"date", pgtype.DateOID, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), "2026-01-02"},
		{"timestamp in UTC", pgtype.TimestampOID, ts, "2026-01-02T16:04:05Z"},
		{"jsonb", pgtype.JSONBOID, []any{map[string]any{"produto_id": "p1"}}, json.RawMessage(`[{"produto_id":"p1"}]`)},
		{"boolean", pgtype.BoolOID, true, true},
	}
	for _, tc := range cases {
		got, err := dataplane.ResultValue(tc.oid, tc.in)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
}

// TestEnsureReadRole: a read's role is a sandbox role of the database
// (the name cfa_ensure_sandbox_role accepts), the same for the same
// sources in any order, and may SELECT them only.
func TestEnsureReadRole(t *testing.T) {
	pool := seededDB(t)
	ctx := context.Background()
	role, err := dataplane.EnsureReadRole(ctx, pool, cat, []string{"nfe", "clientes"})
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^cfa_sbx_[0-9a-f]{8}_read_clientes_[0-9a-f]{8}$`), role)
	again, err := dataplane.EnsureReadRole(ctx, pool, cat, []string{"clientes", "nfe"})
	require.NoError(t, err)
	require.Equal(t, role, again)
	var can bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT has_table_privilege($1, 'bronze.nfe', 'SELECT') AND has_table_privilege($1, 'bronze.clientes', 'SELECT')
		AND NOT has_table_privilege($1, 'bronze.produtos', 'SELECT') AND NOT has_table_privilege($1, 'bronze.clientes', 'INSERT')`, role).Scan(&can))
	require.True(t, can)
	_, err = dataplane.EnsureReadRole(ctx, pool, cat, nil)
	require.ErrorIs(t, err, dataplane.ErrInvalidOptions)
	_, err = dataplane.EnsureReadRole(ctx, pool, cat, []string{"nope"})
	require.ErrorIs(t, err, dataplane.ErrInvalidOptions)
}

// TestBeginReadNeedsAReadOnlyTransaction: a read refuses a transaction
// that could write.
func TestBeginReadNeedsAReadOnlyTransaction(t *testing.T) {
	pool := seededDB(t)
	ctx := context.Background()
	role, err := dataplane.EnsureReadRole(ctx, pool, cat, []string{"clientes"})
	require.NoError(t, err)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	err = dataplane.BeginRead(ctx, tx, role, dataplane.Read{IntentID: "i"})
	require.ErrorIs(t, err, dataplane.ErrInvalidOptions)
	require.ErrorContains(t, err, "not READ ONLY")
}
