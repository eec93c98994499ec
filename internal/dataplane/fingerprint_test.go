package dataplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
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

// slowLines encodes every row of query as ADR 0128 defines it: pgx's
// decoded values through CanonicalRow.
func slowLines(t *testing.T, db dataplane.Querier, query string) [][]byte {
	t.Helper()
	rows, err := db.Query(context.Background(), query)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		line, err := dataplane.CanonicalRow(vals)
		require.NoError(t, err)
		out = append(out, line)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestFingerprintEncodingIsCanonicalRow: the encoder the fingerprints use
// writes, row for row, the bytes CanonicalRow writes, so a fingerprint
// recorded before it compares with one taken after (docs/adr/0128, 0140):
// every demo dataset, and values chosen for the corners of encoding/json.
func TestFingerprintEncodingIsCanonicalRow(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	queries := map[string]string{}
	for _, d := range cat.Datasets {
		if d.Layer == dataplane.SchemaBronze {
			queries[d.Name] = "SELECT * FROM " + dataplane.Table(d) + " ORDER BY 1"
		}
	}
	queries["corners"] = `SELECT * FROM (VALUES
  (1, '{"b": 1, "a": [1.0, 2.5e-7, 1e21, -0, 123456789012345678901234567890], "c": {"z": null, "y": true, "x": "<&>"}}'::jsonb,
      '{"k": 1, "k": 2, "é": "\u00e9\u2028", "s": "tab\there"}'::json, 'a<b>&"c"\'::text, 'NaN'::float8, 'NaN'::numeric,
      'infinity'::date, '-infinity'::timestamp, '\x00ff'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 1.5::float4, 32767::int2, '1 day'::interval),
  (2, '[]'::jsonb, '{}'::json, '', '-Infinity'::float8, 1.50::numeric, '2026-01-03'::date, '2026-01-03 10:00:00.5'::timestamp, ''::bytea, NULL, NULL, NULL, NULL),
  (3, '"plain"'::jsonb, '[1, [2, [3, {"a": []}]], 0.000001, 1e-7, 100000000000000000000]'::json, 'São Paulo', 0.1::float8, -0.0001::numeric,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, '{"a": {"b": {"c": {"d": [{"e": 1E+2}]}}}}'::jsonb, '  {"x" : 1 }  '::json, E'\u2028\u0001', 1e300::float8, 12345678901234567890.123::numeric,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) v ORDER BY 1`
	queries["numerics and texts"] = `SELECT n, n::numeric(40,4), (n * 1e-20), -n, n::text::varchar, n::text::char(12), 'x'::name
  FROM unnest('{0, 0.00, 100.00, 1, -1, 0.5, 123456789.123456789, 1e30, 99999999999999999999999999}'::numeric[]) n ORDER BY 1`
	// Numerics of every shape: scales above and below their digits,
	// integers with trailing zeros, tiny and huge magnitudes, negatives.
	queries["random numerics"] = `SELECT g, x, x::numeric(40,0), x::numeric(60,10), round(x, 3), -x, trunc(x * 10000) / 10000, x * 1e15, x / 1e15,
  (g * 1000)::numeric, (g * 1000)::numeric(20,2), (x::float8)::numeric
FROM (SELECT g, ((hashtextextended(g::text, 0) % 1000000007)::numeric / 1000000007 * 10 ^ (g % 41 - 20))::numeric AS x FROM generate_series(1, 3000) g) s ORDER BY g`
	queries["times"] = `SELECT d, d::timestamp + (g || ' microseconds')::interval, (d::timestamp + (g * 7 || ' seconds')::interval)::timestamptz,
  g::int2, (g * 100000)::int4, (g::int8 << 40), g::float4 / 7, g::float8 / 3, g % 2 = 0
FROM (SELECT g, date '0001-01-01' + (g * 1234) AS d FROM generate_series(1, 2000) g) s ORDER BY g`
	for name, query := range queries {
		t.Run(name, func(t *testing.T) {
			want := slowLines(t, pool, query)
			got, err := dataplane.CanonicalLines(ctx, pool, query)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			require.NotEmpty(t, got)
			for i := range want {
				require.Equal(t, string(want[i]), string(got[i]), "row %d", i+1)
			}
		})
	}
}

// TestCanonicalJSONIsEncodingJSON: appendCanonicalJSON writes what
// json.Marshal writes of json.Unmarshal's value, or declines.
func TestCanonicalJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-0.0`, `1.0`, `1e2`, `1E-7`, `0.000001`, `1e21`, `1e20`, `123456789012345678901`,
		`5e-324`, `1.7976931348623157e308`, `"a"`, `""`, ` [ 1 , 2 ] `, `{"b":1,"a":2,"ab":3,"B":4}`, `[{"x":[{}]},[]]`,
		`{"a":"<"}`, `{"a":"\u00e9"}`, `{"a\"b":1}`, `{"a":1,"a":2}`, `"é"`, `01`, `1.`, `.5`, `-`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`1e400`, `[1 2]`, `tru`, `nul`, `{"a":1}x`, `"\/"`, `"tab	"`,
		`0.000001`, `0.0000001`, `0.00000099`, `0.000001000`, `-0.0`, `0.000`, `123456789012345`, `1234567890123456`, `0.1`,
		`0.30000000000000004`, `1.10`, `100`, `999999999999999.9`, `99999999999999.9`, `-12.5000`, `9007199254740993`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		docs = append(docs, randomJSON(r, 0))
	}
	for range 5000 { // decimals of 1 to 18 digits at every scale
		digits := strconv.FormatInt(100_000_000_000_000_000+r.Int64N(900_000_000_000_000_000), 10)[:1+r.IntN(18)]
		at := r.IntN(len(digits) + 8)
		var doc string
		switch {
		case at < len(digits):
			doc = strings.TrimLeft(digits[:at], "0") + "." + digits[at:]
			if strings.HasPrefix(doc, ".") {
				doc = "0" + doc
			}
		default:
			doc = "0." + strings.Repeat("0", at-len(digits)) + digits
		}
		if r.IntN(2) == 0 {
			doc = "-" + doc
		}
		docs = append(docs, doc)
	}
	for _, doc := range docs {
		var v any
		want, werr := []byte(nil), json.Unmarshal([]byte(doc), &v)
		if werr == nil {
			var err error
			want, err = json.Marshal(v)
			require.NoError(t, err)
		}
		got, ok := dataplane.AppendCanonicalJSON([]byte("prefix"), []byte(doc))
		if !ok {
			require.Equal(t, "prefix", string(got), "a declined document leaves dst as it was: %s", doc)
			continue
		}
		require.NoError(t, werr, "accepted a document encoding/json refuses: %s", doc)
		require.Equal(t, "prefix"+string(want), string(got), doc)
	}
}

func randomJSON(r *rand.Rand, depth int) string {
	keys := []string{"a", "b", "ab", "B", "produto_id", "valor", "x y", "<", "k"}
	switch n := r.IntN(9); {
	case depth < 4 && n == 0:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, strconv.Quote(keys[r.IntN(len(keys))])+":"+randomJSON(r, depth+1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case depth < 4 && n == 1:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, randomJSON(r, depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case n == 2:
		return strconv.Quote(keys[r.IntN(len(keys))])
	case n == 3:
		return strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(50)-25)), 'g', -1, 64)
	case n == 4:
		return strconv.FormatInt(r.Int64N(1<<62)-(1<<61), 10)
	case n == 5:
		return fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100))
	case n == 6:
		return []string{"true", "false", "null"}[r.IntN(3)]
	}
	return strconv.FormatFloat(r.Float64(), 'e', r.IntN(20), 64)
}

// TestReportUnitIsMeasureAndFingerprint: what RunUnit reports of a unit,
// reading its staged rows once, is what MeasureStaged and FingerprintUnit
// report reading them twice; so is it when the staging table has a column
// the catalog does not (the two reads are then taken as they are).
func TestReportUnitIsMeasureAndFingerprint(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	plan, sql := reconciliation(t)
	target := dataset(t, plan.Target)
	sources := []catalog.Dataset{dataset(t, "clientes"), dataset(t, "nfe")}
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)
	staged, err := dataplane.RedirectToStaging(sql, target)
	require.NoError(t, err)
	for _, drift := range []bool{false, true} {
		t.Run(fmt.Sprintf("drift=%v", drift), func(t *testing.T) {
			u := dataplane.Unit{IntentID: "intent-report", Key: dataplane.DemoPartitions[2], Partition: dataplane.DemoPartitions[2]}
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			if drift {
				_, err = tx.Exec(ctx, "ALTER TABLE staging.silver_documentos ADD COLUMN zz_extra text")
				require.NoError(t, err)
			}
			require.NoError(t, dataplane.BeginUnit(ctx, tx, role, u))
			_, err = tx.Exec(ctx, staged)
			require.NoError(t, err)
			m, bytes, f, err := dataplane.ReportUnit(ctx, tx, target, sources, u)
			require.NoError(t, err)
			wantM, wantBytes, err := dataplane.MeasureStaged(ctx, tx, target, u.IntentID, u.Key)
			require.NoError(t, err)
			wantF, err := dataplane.FingerprintUnit(ctx, tx, target, sources, u)
			require.NoError(t, err)
			require.Equal(t, wantM, m)
			require.Equal(t, wantBytes, bytes)
			require.Equal(t, wantF, f)
			require.Equal(t, int64(dataplane.DefaultRowsPerPartition), m.Rows)
			c, _ := m.Column("cliente_id")
			require.Equal(t, int64(demoOpts.NullRows(u.Partition)), c.Nulls, "the broken partition's nulls are counted")
			if drift {
				require.Equal(t, "zz_extra", m.Schema[len(m.Schema)-1].Name, "schema drift is reported")
			}
		})
	}
}
