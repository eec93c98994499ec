package dataplane

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
)

// ColumnType is one column of an output schema, its type as Postgres's
// format_type writes it: "text", "numeric(18,2)", "timestamp without time zone".
type ColumnType struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// ColumnStats is one column's null count in a measured set of rows.
type ColumnStats struct {
	Name  string `json:"name"`
	Nulls int64  `json:"nulls"`
	// NullRatio is Nulls / Rows, 0 when there are no rows.
	NullRatio float64 `json:"null_ratio"`
}

// Metrics are the runtime_metrics of 5.7 that the data itself gives.
type Metrics struct {
	Rows    int64         `json:"rows"`
	Columns []ColumnStats `json:"columns"` // in table order
	Schema  []ColumnType  `json:"schema"`  // in table order
}

// MaxNullRatio returns the column with the highest null ratio (the first in
// table order on a tie); ok is false when there are no columns.
func (m Metrics) MaxNullRatio() (ColumnStats, bool) {
	if len(m.Columns) == 0 {
		return ColumnStats{}, false
	}
	best := m.Columns[0]
	for _, c := range m.Columns[1:] {
		if c.NullRatio > best.NullRatio {
			best = c
		}
	}
	return best, true
}

// Column returns the stats of the named column.
func (m Metrics) Column(name string) (ColumnStats, bool) {
	for _, c := range m.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnStats{}, false
}

// Schema reads a table's or view's columns in order. A relation that does
// not exist has no columns.
func Schema(ctx context.Context, db Querier, schema, table string) ([]ColumnType, error) {
	rows, err := db.Query(ctx, `
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read schema of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	var out []ColumnType
	for rows.Next() {
		var c ColumnType
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, fmt.Errorf("read schema of %s.%s: %w", schema, table, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema of %s.%s: %w", schema, table, err)
	}
	return out, nil
}

// ExpectedSchema is d's catalog columns as Schema reads them back, for
// schema drift detection against the contract.
func ExpectedSchema(d catalog.Dataset) ([]ColumnType, error) {
	out := make([]ColumnType, len(d.Columns))
	for i, c := range d.Columns {
		pt, err := codegen.PostgresType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("expected schema of %s column %s: %w", d.Name, c.Name, err)
		}
		if pt == "timestamp" { // format_type's spelling
			pt = "timestamp without time zone"
		}
		out[i] = ColumnType{Name: c.Name, Type: pt}
	}
	return out, nil
}

// SchemaDiff describes how got differs from want, column by column in
// want's order then got's extras; empty when they are equal.
func SchemaDiff(want, got []ColumnType) []string {
	var out []string
	gotType := make(map[string]string, len(got))
	for _, c := range got {
		gotType[c.Name] = c.Type
	}
	wantSet := make(map[string]bool, len(want))
	for i, c := range want {
		wantSet[c.Name] = true
		t, ok := gotType[c.Name]
		switch {
		case !ok:
			out = append(out, "missing column "+c.Name+" "+c.Type)
		case t != c.Type:
			out = append(out, "column "+c.Name+" is "+t+", want "+c.Type)
		case i >= len(got) || got[i].Name != c.Name:
			out = append(out, "column "+c.Name+" out of order")
		}
	}
	for _, c := range got {
		if !wantSet[c.Name] {
			out = append(out, "unexpected column "+c.Name+" "+c.Type)
		}
	}
	return out
}

// Measure counts the rows of d's table (of one partition when partition is
// not empty) and the nulls of every column.
func Measure(ctx context.Context, db Querier, d catalog.Dataset, partition string) (Metrics, error) {
	var where string
	var args []any
	if partition != "" {
		if d.PartitionKey == "" {
			return Metrics{}, fmt.Errorf("measure %s partition %q: %w: the dataset is not partitioned", d.Name, partition, ErrInvalidOptions)
		}
		pt, err := codegen.PostgresType(columnType(d, d.PartitionKey))
		if err != nil {
			return Metrics{}, fmt.Errorf("measure %s: %w", d.Name, err)
		}
		where = q(d.PartitionKey) + " = $1::" + pt
		args = append(args, partition)
	}
	m, err := measure(ctx, db, d.Layer, d.Name, where, args, nil)
	if err != nil {
		return Metrics{}, fmt.Errorf("measure %s (partition %q): %w", Table(d), partition, err)
	}
	return m, nil
}

// MeasureUnit measures the rows a unit left in target's staging table:
// its catalog columns only, which is what Promote would write. Run it as
// the table's owner, or inside the unit's transaction (its row security
// shows the unit's rows only).
func MeasureUnit(ctx context.Context, db Querier, target catalog.Dataset, intentID, unitKey string) (Metrics, error) {
	if !Governed(target) {
		return Metrics{}, fmt.Errorf("measure unit %s of %s: %w", unitKey, target.Name, ErrNotGoverned)
	}
	where := q(ColIntentID) + " = $1 AND " + q(ColUnitKey) + " = $2"
	m, err := measure(ctx, db, SchemaStaging, target.Name, where, []any{intentID, unitKey}, func(c string) bool { return !strings.HasPrefix(c, "cfa_") })
	if err != nil {
		return Metrics{}, fmt.Errorf("measure unit %s of %s for intent %s: %w", unitKey, target.Name, intentID, err)
	}
	return m, nil
}

// MeasureStaged is MeasureUnit and StagedBytes in one read of the unit's
// staged rows: what RunUnit reports of every attempt.
func MeasureStaged(ctx context.Context, db Querier, target catalog.Dataset, intentID, unitKey string) (Metrics, int64, error) {
	if !Governed(target) {
		return Metrics{}, 0, fmt.Errorf("measure unit %s of %s: %w", unitKey, target.Name, ErrNotGoverned)
	}
	var bytes int64
	where := q(ColIntentID) + " = $1 AND " + q(ColUnitKey) + " = $2"
	m, err := measureWith(ctx, db, SchemaStaging, target.Name, where, []any{intentID, unitKey}, func(c string) bool { return !strings.HasPrefix(c, "cfa_") },
		"coalesce(sum(pg_column_size(t.*)), 0)", &bytes)
	if err != nil {
		return Metrics{}, 0, fmt.Errorf("measure unit %s of %s for intent %s: %w", unitKey, target.Name, intentID, err)
	}
	return m, bytes, nil
}

func measure(ctx context.Context, db Querier, schema, table, where string, args []any, keep func(string) bool) (Metrics, error) {
	return measureWith(ctx, db, schema, table, where, args, keep, "")
}

// measureWith measures, and scans extra (an aggregate over the rows, t)
// into dest in the same read.
func measureWith(ctx context.Context, db Querier, schema, table, where string, args []any, keep func(string) bool, extra string, dest ...any) (Metrics, error) {
	all, err := Schema(ctx, db, schema, table)
	if err != nil {
		return Metrics{}, err
	}
	if len(all) == 0 {
		return Metrics{}, fmt.Errorf("relation %s.%s does not exist: run dataplane.Ensure", schema, table)
	}
	m := Metrics{}
	exprs := []string{"count(*)"}
	for _, c := range all {
		if keep != nil && !keep(c.Name) {
			continue
		}
		m.Schema = append(m.Schema, c)
		exprs = append(exprs, "count("+q(c.Name)+")")
	}
	counts := make([]int64, len(exprs))
	scan := make([]any, len(exprs))
	for i := range counts {
		scan[i] = &counts[i]
	}
	if extra != "" {
		exprs, scan = append(exprs, extra), append(scan, dest...)
	}
	sql := "SELECT " + strings.Join(exprs, ", ") + " FROM " + q(schema, table) + " t"
	if where != "" {
		sql += " WHERE " + where
	}
	if err := db.QueryRow(ctx, sql, args...).Scan(scan...); err != nil {
		return Metrics{}, err
	}
	m.Rows = counts[0]
	for i, c := range m.Schema {
		s := ColumnStats{Name: c.Name, Nulls: m.Rows - counts[i+1]}
		if m.Rows > 0 {
			s.NullRatio = float64(s.Nulls) / float64(m.Rows)
		}
		m.Columns = append(m.Columns, s)
	}
	return m, nil
}

// Partitions lists the partition values a dataset's table holds, as
// cfa_publication and cfa.unit_partition write them (partitionText), in
// [from, to) when given (ISO dates, either may be empty). An unpartitioned
// dataset has none.
func Partitions(ctx context.Context, db Querier, d catalog.Dataset, from, to string) ([]string, error) {
	if d.PartitionKey == "" {
		return nil, nil
	}
	sql := fmt.Sprintf("SELECT DISTINCT %s FROM %s t", partitionText("t", d), Table(d))
	var where []string
	var args []any
	if from != "" {
		args = append(args, from)
		where = append(where, fmt.Sprintf("%s >= $%d::date", q("t", d.PartitionKey), len(args)))
	}
	if to != "" {
		args = append(args, to)
		where = append(where, fmt.Sprintf("%s < $%d::date", q("t", d.PartitionKey), len(args)))
	}
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.Query(ctx, sql+" ORDER BY 1", args...)
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", Table(d), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", Table(d), err)
	}
	return out, nil
}

// StagedBytes is the size of one unit's staged rows: what the unit wrote.
func StagedBytes(ctx context.Context, db Querier, target catalog.Dataset, intentID, unitKey string) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, fmt.Sprintf("SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM %s t WHERE %s = $1 AND %s = $2",
		StagingTable(target), q(ColIntentID), q(ColUnitKey)), intentID, unitKey).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("measure the staged bytes of unit %s: %w", unitKey, err)
	}
	return n, nil
}

// DuplicateKeys counts the key values of d's target table held by more than
// one row (domain_invariant_preservation, whitepaper 5.11): 0 when the
// merge key is still unique. For a partitioned dataset only the given
// partitions are read (what one execution committed); none reads nothing.
// A dataset without a merge key has none.
//
// A table whose key the database keeps unique (a valid unique index on
// exactly the key's columns, every one NOT NULL: the primary key Ensure
// gives every governed target) cannot hold a duplicate, and is not read;
// otherwise the given partitions are read through an index-usable
// condition on the partition key (docs/adr/0141).
func DuplicateKeys(ctx context.Context, db Querier, d catalog.Dataset, partitions []string) (int64, error) {
	key := Key(d)
	if len(key) == 0 || (d.PartitionKey != "" && len(partitions) == 0) {
		return 0, nil
	}
	var enforced bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
    AND i.indnkeyatts = cardinality($2::text[])
    AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
         WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey[0:i.indnkeyatts - 1]) AND a.attnotnull)
        = (SELECT array_agg(k ORDER BY k) FROM unnest($2::text[]) k))`, Table(d), key).Scan(&enforced); err != nil {
		return 0, fmt.Errorf("look up the unique indexes of %s: %w", Table(d), err)
	}
	if enforced {
		return 0, nil
	}
	where, args := "", []any{}
	if d.PartitionKey != "" {
		pt, err := codegen.PostgresType(columnType(d, d.PartitionKey))
		if err != nil {
			return 0, fmt.Errorf("count duplicate keys of %s: %w", Table(d), err)
		}
		where, args = " WHERE "+q("t", d.PartitionKey)+" = ANY($1::"+pt+"[])", []any{partitions}
	}
	var n int64
	err := db.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s t%s GROUP BY %s HAVING count(*) > 1) d",
		Table(d), where, prefixed("t", key)), args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count duplicate keys of %s: %w", Table(d), err)
	}
	return n, nil
}
