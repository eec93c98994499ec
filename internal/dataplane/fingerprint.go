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
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/contextualflux/cfa/internal/catalog"
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
	sorted := slices.Clone(sources)
	slices.SortFunc(sorted, func(a, b catalog.Dataset) int { return cmpString(a.Name, b.Name) })
	out.Inputs = []InputFingerprint{}
	for _, s := range sorted {
		in := InputFingerprint{Dataset: s.Name}
		if s.PartitionKey != "" {
			in.Partition = u.Partition
		}
		if in.Fingerprint, err = fingerprintRows(ctx, tx, "SELECT "+qList(columnNames(s))+" FROM "+Table(s)); err != nil {
			return out, fmt.Errorf("fingerprint source %s of unit %s: %w", s.Name, u.Key, err)
		}
		out.Inputs = append(out.Inputs, in)
	}
	return out, nil
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
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return Fingerprint{}, err
	}
	defer rows.Close()
	var lines [][]byte
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return Fingerprint{}, err
		}
		line, err := CanonicalRow(vals)
		if err != nil {
			return Fingerprint{}, err
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return Fingerprint{}, err
	}
	return FingerprintLines(lines), nil
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
