package dataplane_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
)

// TestCanonicalRowDoesNotDependOnTheSession: the same values read in
// sessions with another time zone, date style and float digits encode to
// the same bytes (docs/adr/0128).
func TestCanonicalRowDoesNotDependOnTheSession(t *testing.T) {
	ctx := context.Background()
	const query = `SELECT timestamptz '2026-01-03 10:00:00.123456+02', date '2026-01-03', 1234.50::numeric, 0.1::float8,
		'São "Paulo"'::text, NULL::int, true, 42::bigint, '\x00ff'::bytea`
	var rows [][]byte
	for _, settings := range []string{
		"SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1",
		"SET TimeZone = 'America/Sao_Paulo'; SET DateStyle = 'SQL, DMY'; SET extra_float_digits = -3",
	} {
		conn, err := testDB.Pool.Acquire(ctx)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, settings)
		require.NoError(t, err)
		r, err := conn.Query(ctx, query)
		require.NoError(t, err)
		require.True(t, r.Next())
		vals, err := r.Values()
		require.NoError(t, err)
		r.Close()
		_, err = conn.Exec(ctx, "RESET ALL")
		require.NoError(t, err)
		conn.Release()
		line, err := dataplane.CanonicalRow(vals)
		require.NoError(t, err)
		rows = append(rows, line)
	}
	require.Equal(t, string(rows[0]), string(rows[1]))
	require.Equal(t, `["2026-01-03T08:00:00.123456Z","2026-01-03T00:00:00Z",1234.50,"0.1","São \"Paulo\"",null,true,42,"00ff"]`, string(rows[0]))
}

// TestFingerprintLinesIgnoresTheOrderOfTheRows: a set of rows, in any
// order, has one fingerprint; another row changes it.
func TestFingerprintLinesIgnoresTheOrderOfTheRows(t *testing.T) {
	a := dataplane.FingerprintLines([][]byte{[]byte(`[1]`), []byte(`[2]`), []byte(`[3]`)})
	b := dataplane.FingerprintLines([][]byte{[]byte(`[3]`), []byte(`[1]`), []byte(`[2]`)})
	require.Equal(t, a, b)
	require.Equal(t, int64(3), a.Rows)
	require.Len(t, a.SHA256, 64)
	c := dataplane.FingerprintLines([][]byte{[]byte(`[3]`), []byte(`[1]`), []byte(`[2]`), []byte(`[2]`)})
	require.NotEqual(t, a, c, "a duplicate row is another output")
	require.Equal(t, dataplane.Fingerprint{Rows: 0, SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, dataplane.FingerprintLines(nil))
}
