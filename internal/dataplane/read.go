package dataplane

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
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
	"github.com/contextualflux/cfa/internal/planner"
)

// A read (docs/adr/0132) runs its query on the sandbox login, as a role
// that may SELECT the read's sources and nothing else, in a READ ONLY
// transaction: it writes nothing, not even staging.

// ReadScope is what a read plan reads: the datasets its extract steps
// read, sorted.
func ReadScope(plan planner.ExecutionPlan) []string { return ScopeOf(plan).Sources }

// EnsureReadRole has the NOLOGIN role of a read over sources made
// (EnsureRoleFunction), grants it USAGE on their schemas and SELECT on
// their tables, and returns its name: cfa_sbx_<database>_read_<base>_<hash
// of the sources>. Its grants never change, so calling again is a no-op.
func EnsureReadRole(ctx context.Context, db Beginner, cat *catalog.Catalog, sources []string) (string, error) {
	if len(sources) == 0 {
		return "", fmt.Errorf("read role: %w: a read reads at least one dataset", ErrInvalidOptions)
	}
	ds := make([]catalog.Dataset, 0, len(sources))
	for _, n := range sources {
		d, ok := cat.Get(n)
		if !ok {
			return "", fmt.Errorf("read role: %w: source %q is not in catalog %s", ErrInvalidOptions, n, cat.SnapshotVersion)
		}
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b catalog.Dataset) int { return strings.Compare(a.Name, b.Name) })
	tx, err := db.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("read role of %s: begin: %w", strings.Join(sources, ", "), err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
		return "", fmt.Errorf("read role: lock: %w", err)
	}
	var dbName string
	if err := tx.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		return "", fmt.Errorf("read role: %w", err)
	}
	role := readRoleName(dbName, ds)
	if _, err := tx.Exec(ctx, "SELECT "+EnsureRoleFunction+"($1)", role); err != nil {
		return "", fmt.Errorf("read role %s: %w: the roles must be set up (`cfa roles setup`, docs/roles.md)", role, err)
	}
	var schemas, stmts []string
	for _, d := range ds {
		if !slices.Contains(schemas, d.Layer) {
			schemas = append(schemas, d.Layer)
		}
	}
	slices.Sort(schemas)
	for _, s := range schemas {
		stmts = append(stmts, "GRANT USAGE ON SCHEMA "+q(s)+" TO "+q(role))
	}
	for _, d := range ds {
		stmts = append(stmts, "GRANT SELECT ON "+Table(d)+" TO "+q(role))
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return "", fmt.Errorf("read role %s: %s: %w: run dataplane.Ensure first, as the role that runs the worker (it owns the data plane)", role, s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("read role %s: commit: %w", role, err)
	}
	return role, nil
}

func readRoleName(dbName string, sources []catalog.Dataset) string {
	h := sha256.New()
	h.Write([]byte("read"))
	for _, s := range sources {
		h.Write([]byte{0})
		h.Write([]byte(s.Layer + "." + s.Name))
	}
	name := "read_" + sources[0].Name
	if len(name) > 30 {
		name = name[:30]
	}
	return databasePrefix(dbName) + name + "_" + hex.EncodeToString(h.Sum(nil))[:8]
}

// Read is one read's execution context.
type Read struct {
	IntentID string `json:"intent_id"`
	// StatementTimeout bounds the query; 0 keeps the session's.
	StatementTimeout time.Duration `json:"statement_timeout,omitempty"`
}

// BeginRead prepares tx, a READ ONLY transaction just begun on the sandbox
// login, to run a read's query: cfa.intent_id, statement_timeout and
// standard_conforming_strings (a backslash in a filter's string is itself)
// for the transaction only, then SET LOCAL ROLE role.
func BeginRead(ctx context.Context, tx Querier, role string, r Read) error {
	if r.IntentID == "" || role == "" {
		return fmt.Errorf("begin read of intent %q as %q: %w: intent ID and role are required", r.IntentID, role, ErrInvalidOptions)
	}
	if r.StatementTimeout < 0 {
		return fmt.Errorf("begin read of intent %s: %w: negative statement timeout", r.IntentID, ErrInvalidOptions)
	}
	timeout := ""
	if r.StatementTimeout > 0 {
		timeout = strconv.FormatInt(max(1, r.StatementTimeout.Milliseconds()), 10)
	}
	var readOnly string
	if err := tx.QueryRow(ctx, `SELECT current_setting('transaction_read_only'), set_config($1, $2, true), set_config('standard_conforming_strings', 'on', true),
  CASE WHEN $3 = '' THEN NULL ELSE set_config('statement_timeout', $3, true) END`,
		SettingIntentID, r.IntentID, timeout).Scan(&readOnly, nil, nil, nil); err != nil {
		return fmt.Errorf("begin read of intent %s: settings: %w", r.IntentID, err)
	}
	if readOnly != "on" {
		return fmt.Errorf("begin read of intent %s: %w: the transaction is not READ ONLY: begin it with pgx.TxOptions{AccessMode: pgx.ReadOnly}", r.IntentID, ErrInvalidOptions)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+q(role)); err != nil {
		return fmt.Errorf("begin read of intent %s: set role %s: %w: create it with EnsureReadRole", r.IntentID, role, err)
	}
	return nil
}

// QueryRows runs a read's query (one SELECT, as codegen wrote it) and
// returns its rows as JSON values (ResultValue), at most limit of them.
func QueryRows(ctx context.Context, tx Querier, query string, limit int) ([][]any, error) {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	out := [][]any{}
	for rows.Next() {
		if len(out) >= limit {
			break
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if row[i], err = ResultValue(fields[i].DataTypeOID, v); err != nil {
				return nil, fmt.Errorf("column %s: %w", fields[i].Name, err)
			}
		}
		out = append(out, row)
	}
	rows.Close()
	return out, rows.Err()
}

// ResultValue turns what pgx decoded into a JSON value of a read's result:
// integers and floats as numbers, a numeric as its exact text, a date as
// YYYY-MM-DD, a timestamp as RFC 3339 in UTC, JSON as it is, NULL as nil.
func ResultValue(oid uint32, v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int16, int32, int64:
		return x, nil
	case float32:
		return finite(float64(x))
	case float64:
		return finite(x)
	case pgtype.Numeric:
		dv, err := x.Value()
		if err != nil || dv == nil {
			return nil, err
		}
		return dv.(string), nil
	case time.Time:
		if oid == pgtype.DateOID {
			return x.Format(time.DateOnly), nil
		}
		return x.UTC().Format(time.RFC3339Nano), nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil, err
		}
		return ResultValue(oid, dv)
	case fmt.Stringer:
		return x.String(), nil
	}
	return fmt.Sprint(v), nil
}

// finite keeps a float a JSON number; NaN and the infinities, which JSON
// has no number for, become their names.
func finite(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return f, nil
}
