package dataplane

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
)

// Promote moves the staged rows of units from staging into the plan's
// target, as the plan's own load would have written them: a MERGE on the
// load's key of the load's columns, or, for a partition overwrite, the
// unit's partition (the plan's window for a unit without one) replaced by
// the staged rows. The staged rows are then deleted. Run it as the data
// plane's owner (not a sandbox role) in the transaction that commits every
// successful unit at once. A second call finds nothing staged and changes
// nothing, so a retried promotion is safe; a unit that staged no rows
// leaves its partition as it was. It returns the number of rows promoted.
func Promote(ctx context.Context, tx Querier, plan planner.ExecutionPlan, cat *catalog.Catalog, intentID string, units []Unit) (int64, error) {
	load, ok := plan.LoadStep()
	if !ok {
		return 0, nil // publish only: nothing was written
	}
	l := load.Params.Load
	target, ok := cat.Get(l.Target)
	if !ok || !Governed(target) {
		return 0, fmt.Errorf("promote plan %s into %s: %w", plan.Hash, l.Target, ErrNotGoverned)
	}
	cols := planner.Names(load.Columns)
	unit := q(ColIntentID) + " = $1 AND " + q(ColUnitKey) + " = $2"
	staged := "SELECT " + qList(cols) + " FROM " + StagingTable(target) + " WHERE " + unit

	// statements returns what moves one unit, with their arguments.
	var statements func(u Unit) ([]string, [][]any, error)
	switch l.Mode {
	case planner.LoadMerge:
		on := make([]string, len(load.Params.Key))
		for i, k := range load.Params.Key {
			on[i] = q("t", k) + " = " + q("s", k)
		}
		var set []string
		for _, c := range cols {
			if !slices.Contains(load.Params.Key, c) {
				set = append(set, q(c)+" = "+q("s", c))
			}
		}
		matched := "DO NOTHING"
		if len(set) > 0 {
			matched = "UPDATE SET " + strings.Join(set, ", ")
		}
		merge := "MERGE INTO " + Table(target) + " AS t USING (" + staged + ") AS s ON " + strings.Join(on, " AND ") +
			" WHEN MATCHED THEN " + matched + " WHEN NOT MATCHED THEN INSERT (" + qList(cols) + ") VALUES (" + prefixed("s", cols) + ")"
		statements = func(u Unit) ([]string, [][]any, error) {
			return []string{merge}, [][]any{{intentID, u.Key}}, nil
		}
	case planner.LoadPartitionOverwrite:
		insert := "INSERT INTO " + Table(target) + " (" + qList(cols) + ") " + staged
		statements = func(u Unit) ([]string, [][]any, error) {
			del, args, err := overwriteDelete(target, l.Window, u)
			return []string{del, insert}, [][]any{args, {intentID, u.Key}}, err
		}
	default:
		return 0, fmt.Errorf("promote plan %s: %w: load mode %q", plan.Hash, ErrInvalidOptions, l.Mode)
	}
	var total int64
	for _, u := range units {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+StagingTable(target)+" WHERE "+unit, intentID, u.Key).Scan(&n); err != nil {
			return total, fmt.Errorf("promote unit %s of intent %s into %s: %w", u.Key, intentID, target.Name, err)
		}
		if n == 0 {
			continue
		}
		sqls, args, err := statements(u)
		if err != nil {
			return total, fmt.Errorf("promote unit %s of intent %s into %s: %w", u.Key, intentID, target.Name, err)
		}
		sqls, args = append(sqls, "DELETE FROM "+StagingTable(target)+" WHERE "+unit), append(args, []any{intentID, u.Key})
		for i, s := range sqls {
			if _, err := tx.Exec(ctx, s, args[i]...); err != nil {
				return total, fmt.Errorf("promote unit %s of intent %s into %s: %w", u.Key, intentID, target.Name, err)
			}
		}
		total += n
	}
	return total, nil
}

// overwriteDelete deletes the unit's partition, or the plan's window when
// the unit has none.
func overwriteDelete(target catalog.Dataset, w *planner.Window, u Unit) (string, []any, error) {
	pt, err := codegen.PostgresType(columnType(target, target.PartitionKey))
	if err != nil || target.PartitionKey == "" {
		return "", nil, fmt.Errorf("%w: partition overwrite of an unpartitioned target", ErrInvalidOptions)
	}
	col := q(target.PartitionKey)
	if u.Partition != "" {
		return "DELETE FROM " + Table(target) + " WHERE " + col + " = $1::" + pt, []any{u.Partition}, nil
	}
	if w == nil || (w.From == "" && w.To == "") {
		return "", nil, fmt.Errorf("%w: partition overwrite without a window or a unit partition", ErrInvalidOptions)
	}
	var conds []string
	var args []any
	if w.From != "" {
		args = append(args, w.From)
		conds = append(conds, fmt.Sprintf("%s >= $%d::date", col, len(args)))
	}
	if w.To != "" {
		args = append(args, w.To)
		conds = append(conds, fmt.Sprintf("%s < $%d::date", col, len(args)))
	}
	return "DELETE FROM " + Table(target) + " WHERE " + strings.Join(conds, " AND "), args, nil
}

// Quarantine moves a unit's staged rows into target's quarantine table with
// the fault code that failed it, replacing what an earlier attempt of the
// same unit quarantined. With nothing staged (the unit failed before
// writing, or a retried call) it changes nothing. It returns the number of
// rows moved.
func Quarantine(ctx context.Context, tx Querier, target catalog.Dataset, intentID, unitKey, faultCode string) (int64, error) {
	if !Governed(target) {
		return 0, fmt.Errorf("quarantine unit %s of %s: %w", unitKey, target.Name, ErrNotGoverned)
	}
	if faultCode == "" {
		return 0, fmt.Errorf("quarantine unit %s of %s: %w: a fault code is required", unitKey, target.Name, ErrInvalidOptions)
	}
	unit := q(ColIntentID) + " = $1 AND " + q(ColUnitKey) + " = $2"
	cols := qList(columnNames(target))
	if _, err := tx.Exec(ctx, "DELETE FROM "+QuarantineTable(target)+" WHERE "+unit+
		" AND EXISTS (SELECT 1 FROM "+StagingTable(target)+" WHERE "+unit+")", intentID, unitKey); err != nil {
		return 0, fmt.Errorf("quarantine unit %s of intent %s: %w", unitKey, intentID, err)
	}
	tag, err := tx.Exec(ctx, "WITH moved AS (DELETE FROM "+StagingTable(target)+" WHERE "+unit+" RETURNING "+cols+")\n"+
		"INSERT INTO "+QuarantineTable(target)+" ("+cols+", "+qList([]string{ColIntentID, ColUnitKey, ColFaultCode})+")\n"+
		"SELECT "+cols+", $1, $2, $3 FROM moved", intentID, unitKey, faultCode)
	if err != nil {
		return 0, fmt.Errorf("quarantine unit %s of intent %s: %w", unitKey, intentID, err)
	}
	return tag.RowsAffected(), nil
}

// Discard deletes a unit's staged rows (full_rollback, panic rollback of a
// unit that wrote nothing worth keeping). It returns the rows deleted.
func Discard(ctx context.Context, tx Querier, target catalog.Dataset, intentID, unitKey string) (int64, error) {
	if !Governed(target) {
		return 0, fmt.Errorf("discard unit %s of %s: %w", unitKey, target.Name, ErrNotGoverned)
	}
	tag, err := tx.Exec(ctx, "DELETE FROM "+StagingTable(target)+" WHERE "+q(ColIntentID)+" = $1 AND "+q(ColUnitKey)+" = $2", intentID, unitKey)
	if err != nil {
		return 0, fmt.Errorf("discard unit %s of intent %s: %w", unitKey, intentID, err)
	}
	return tag.RowsAffected(), nil
}

// DiscardIntent deletes every row the intent staged in target's staging
// table, whatever unit wrote it: what an intent leaves when it ends without
// a projection (interrupted, its projection failed, or rolled back). It
// returns the rows deleted.
func DiscardIntent(ctx context.Context, tx Querier, target catalog.Dataset, intentID string) (int64, error) {
	if !Governed(target) {
		return 0, nil // nothing is staged for it
	}
	tag, err := tx.Exec(ctx, "DELETE FROM "+StagingTable(target)+" WHERE "+q(ColIntentID)+" = $1", intentID)
	if err != nil {
		return 0, fmt.Errorf("discard the staged rows of intent %s in %s: %w", intentID, target.Name, err)
	}
	return tag.RowsAffected(), nil
}

// Publication is one partition's row in public.cfa_publication.
type Publication struct {
	Dataset   string        `json:"dataset"`
	Partition string        `json:"partition"` // "" for an unpartitioned dataset
	Status    PublishStatus `json:"status"`
	IntentID  string        `json:"intent_id"`
}

// SetPublication records status for partitions of d (use "" for an
// unpartitioned dataset), by the intent that decided it. Call it in the
// State Projection's transaction so readers and the registry change
// together; it is an upsert, so a retried projection writes the same rows.
func SetPublication(ctx context.Context, tx Querier, d catalog.Dataset, partitions []string, status PublishStatus, intentID string) error {
	if !status.Valid() {
		return fmt.Errorf("set publication of %s: %w: status %q is not one of %v", d.Name, ErrInvalidOptions, status, PublishStatuses)
	}
	if !Governed(d) || intentID == "" {
		return fmt.Errorf("set publication of %s: %w: a governed dataset and an intent ID are required", d.Name, ErrInvalidOptions)
	}
	for _, p := range partitions {
		if (p == "") != (d.PartitionKey == "") {
			return fmt.Errorf("set publication of %s: %w: partition %q: use \"\" exactly when the dataset is unpartitioned", d.Name, ErrInvalidOptions, p)
		}
		if p != "" && columnType(d, d.PartitionKey) == "date" {
			if _, err := planner.ParseDate(p); err != nil {
				return fmt.Errorf("set publication of %s: %w: %w", d.Name, ErrInvalidOptions, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+PublicationTable+` (dataset, partition_value, status, intent_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (dataset, partition_value) DO UPDATE SET status = excluded.status, intent_id = excluded.intent_id, updated_at = now()
WHERE (`+PublicationTable+`.status, `+PublicationTable+`.intent_id) IS DISTINCT FROM (excluded.status, excluded.intent_id)`,
			d.Name, p, string(status), intentID); err != nil {
			return fmt.Errorf("set publication of %s partition %q: %w", d.Name, p, err)
		}
	}
	return nil
}

// Publications lists d's rows of public.cfa_publication by partition.
func Publications(ctx context.Context, db Querier, d catalog.Dataset) ([]Publication, error) {
	rows, err := db.Query(ctx, "SELECT dataset, partition_value, status, intent_id FROM "+PublicationTable+" WHERE dataset = $1 ORDER BY partition_value", d.Name)
	if err != nil {
		return nil, fmt.Errorf("read publication of %s: %w", d.Name, err)
	}
	defer rows.Close()
	var out []Publication
	for rows.Next() {
		var p Publication
		if err := rows.Scan(&p.Dataset, &p.Partition, &p.Status, &p.IntentID); err != nil {
			return nil, fmt.Errorf("read publication of %s: %w", d.Name, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read publication of %s: %w", d.Name, err)
	}
	return out, nil
}

// Reset empties the silver and gold tables, staging, quarantine and the
// publication table in one transaction, for a demo that starts over.
// Bronze is left to Seed.
func Reset(ctx context.Context, db Beginner, cat *catalog.Catalog) error {
	tables := []string{PublicationTable}
	for _, d := range cat.Datasets {
		if Governed(d) {
			tables = append(tables, Table(d), StagingTable(d), QuarantineTable(d))
		}
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("reset data plane: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("reset data plane: %w: run dataplane.Ensure first", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("reset data plane: commit: %w", err)
	}
	return nil
}
