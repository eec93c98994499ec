package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
)

// Fingerprint is a set of rows in short, for I8 (docs/adr/0128): how many,
// and the SHA-256 of their canonical encodings in sorted order, one per
// line. The encoding does not depend on the session (time zone, date
// style, float digits) nor on the order Postgres returns the rows in.
type Fingerprint struct {
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// InputFingerprint is one source a unit read, as its sandbox role saw it:
// for a partition unit, the partition only (row security narrows every
// partitioned source to it).
type InputFingerprint struct {
	Dataset   string `json:"dataset"`
	Partition string `json:"partition,omitempty"`
	Fingerprint
}

// UnitFingerprints are what one attempt of a unit read and staged.
type UnitFingerprints struct {
	Output Fingerprint        `json:"output"`
	Inputs []InputFingerprint `json:"inputs"`
}

// FingerprintUnit fingerprints, inside the unit's transaction (BeginUnit),
// what the unit staged in target (its catalog columns, in catalog order)
// and every source it may read (sorted by name).
func FingerprintUnit(ctx context.Context, tx Querier, target catalog.Dataset, sources []catalog.Dataset, u Unit) (UnitFingerprints, error) {
	var out UnitFingerprints
	var err error
	out.Output, err = fingerprintRows(ctx, tx, "SELECT "+qList(columnNames(target))+" FROM "+StagingTable(target)+
		" WHERE "+q(ColIntentID)+" = $1 AND "+q(ColUnitKey)+" = $2", u.IntentID, u.Key)
	if err != nil {
		return out, fmt.Errorf("fingerprint the output of unit %s: %w", u.Key, err)
	}
	out.Inputs, err = inputFingerprints(ctx, tx, sources, u)
	return out, err
}

// inputFingerprints fingerprints every source a unit may read, sorted by
// name, as its role sees it.
func inputFingerprints(ctx context.Context, tx Querier, sources []catalog.Dataset, u Unit) ([]InputFingerprint, error) {
	sorted := slices.Clone(sources)
	slices.SortFunc(sorted, func(a, b catalog.Dataset) int { return cmpString(a.Name, b.Name) })
	out := []InputFingerprint{}
	for _, s := range sorted {
		in := InputFingerprint{Dataset: s.Name}
		sql, args := "SELECT "+qList(columnNames(s))+" FROM "+Table(s), []any(nil)
		if s.PartitionKey != "" {
			in.Partition = u.Partition
			if u.Partition != "" {
				// What row security shows, said so the planner reads the
				// partition only (docs/adr/0140).
				pt, err := codegen.PostgresType(columnType(s, s.PartitionKey))
				if err != nil {
					return nil, fmt.Errorf("fingerprint source %s of unit %s: %w", s.Name, u.Key, err)
				}
				sql, args = sql+" WHERE "+q(s.PartitionKey)+" = $1::"+pt, []any{u.Partition}
			}
		}
		var err error
		if in.Fingerprint, err = fingerprintRows(ctx, tx, sql, args...); err != nil {
			return nil, fmt.Errorf("fingerprint source %s of unit %s: %w", s.Name, u.Key, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// ReportUnit is, inside the unit's transaction, MeasureStaged and
// FingerprintUnit: what the unit staged, its size, and the fingerprints of
// its output and sources. When the staging table has the catalog's
// columns (Ensure keeps it so) the staged rows are read once for all three
// (docs/adr/0140); otherwise as each function reads them.
func ReportUnit(ctx context.Context, tx Querier, target catalog.Dataset, sources []catalog.Dataset, u Unit) (Metrics, int64, UnitFingerprints, error) {
	fail := func(err error) (Metrics, int64, UnitFingerprints, error) {
		return Metrics{}, 0, UnitFingerprints{}, fmt.Errorf("report unit %s of %s for intent %s: %w", u.Key, target.Name, u.IntentID, err)
	}
	if !Governed(target) {
		return fail(ErrNotGoverned)
	}
	all, err := Schema(ctx, tx, SchemaStaging, target.Name)
	if err != nil {
		return fail(err)
	}
	var m Metrics
	var names []string
	for _, c := range all {
		if !strings.HasPrefix(c.Name, "cfa_") {
			m.Schema = append(m.Schema, c)
			names = append(names, c.Name)
		}
	}
	if !slices.Equal(names, columnNames(target)) {
		m, bytes, err := MeasureStaged(ctx, tx, target, u.IntentID, u.Key)
		if err != nil {
			return Metrics{}, 0, UnitFingerprints{}, err
		}
		f, err := FingerprintUnit(ctx, tx, target, sources, u)
		return m, bytes, f, err
	}
	rows, err := tx.Query(ctx, "SELECT "+qList(names)+", pg_column_size(t.*)::bigint FROM "+StagingTable(target)+
		" t WHERE "+q(ColIntentID)+" = $1 AND "+q(ColUnitKey)+" = $2", u.IntentID, u.Key)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	enc := newRowEncoder(rows)
	nulls := make([]int64, len(names))
	var size int64
	var lines [][]byte
	var arena []byte
	for rows.Next() {
		raw := rows.RawValues()
		for i := range names {
			if raw[i] == nil {
				nulls[i]++
			}
		}
		var n int64
		if err := enc.types.Scan(pgtype.Int8OID, enc.fields[len(names)].Format, raw[len(names)], &n); err != nil {
			return fail(err)
		}
		size += n
		if cap(arena)-len(arena) < 4096 {
			arena = make([]byte, 0, 1<<20)
		}
		start := len(arena)
		if arena, err = enc.appendRow(arena, raw[:len(names)]); err != nil {
			return fail(err)
		}
		lines = append(lines, arena[start:len(arena):len(arena)])
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	m.Rows = int64(len(lines))
	for i, c := range m.Schema {
		st := ColumnStats{Name: c.Name, Nulls: nulls[i]}
		if m.Rows > 0 {
			st.NullRatio = float64(st.Nulls) / float64(m.Rows)
		}
		m.Columns = append(m.Columns, st)
	}
	f := UnitFingerprints{Output: FingerprintLines(lines)}
	if f.Inputs, err = inputFingerprints(ctx, tx, sources, u); err != nil {
		return Metrics{}, 0, UnitFingerprints{}, err
	}
	return m, size, f, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fingerprintRows reads every row of a query and fingerprints them; the
// rows are held in memory to be sorted, a unit's worth.
func fingerprintRows(ctx context.Context, db Querier, sql string, args ...any) (Fingerprint, error) {
	lines, err := canonicalLines(ctx, db, sql, args...)
	if err != nil {
		return Fingerprint{}, err
	}
	return FingerprintLines(lines), nil
}

// canonicalLines reads every row of a query, each encoded as CanonicalRow
// encodes it (rowEncoder, canonical.go).
func canonicalLines(ctx context.Context, db Querier, sql string, args ...any) ([][]byte, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	enc := newRowEncoder(rows)
	var lines [][]byte
	var arena []byte // lines are carved from large blocks: one allocation per block, not per row
	for rows.Next() {
		if cap(arena)-len(arena) < 4096 {
			arena = make([]byte, 0, 1<<20)
		}
		start := len(arena)
		if arena, err = enc.appendRow(arena, rows.RawValues()); err != nil {
			return nil, err
		}
		lines = append(lines, arena[start:len(arena):len(arena)])
	}
	return lines, rows.Err()
}

// FingerprintLines fingerprints canonical rows in any order.
func FingerprintLines(lines [][]byte) Fingerprint {
	slices.SortFunc(lines, bytes.Compare)
	h := sha256.New()
	for _, l := range lines {
		h.Write(l)
		h.Write([]byte{'\n'})
	}
	return Fingerprint{Rows: int64(len(lines)), SHA256: hex.EncodeToString(h.Sum(nil))}
}

// CanonicalRow encodes one row's values as a JSON array: times in UTC
// (RFC 3339), numerics as written, floats in their shortest form, bytes
// in hex. The same values give the same bytes in any session.
func CanonicalRow(vals []any) ([]byte, error) {
	out := make([]any, len(vals))
	for i, v := range vals {
		c, err := canonicalValue(v)
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i+1, err)
		}
		out[i] = c
	}
	return json.Marshal(out)
}

func canonicalValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, int16, int32, int64, int:
		return x, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case float64:
		return floatText(x), nil
	case float32:
		return floatText(float64(x)), nil
	case []byte:
		return hex.EncodeToString(x), nil
	case [16]byte:
		return hex.EncodeToString(x[:]), nil
	case pgtype.Numeric:
		b, err := x.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	}
	// Any other type pgx decodes (intervals, arrays, JSON) has a stable
	// JSON form of its own.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T has no canonical form: %w", v, err)
	}
	return json.RawMessage(b), nil
}

func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
