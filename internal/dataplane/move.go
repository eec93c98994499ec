package dataplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
//
// Units of distinct partitions, whose rows the load's key keeps apart,
// move in the same statements (one MERGE, or the partitions' deletes and
// one INSERT); others (the time windows of one day, dataset units) move
// one after another in the order given, as before. One DELETE then
// empties staging of them all (docs/adr/0141).
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
	if len(units) == 0 {
		return 0, nil
	}
	keys := make([]string, len(units))
	for i, u := range units {
		keys[i] = u.Key
	}
	batches := [][]Unit{units}
	if !disjoint(units, target, load.Params.Key) {
		batches = batches[:0]
		for _, u := range units {
			batches = append(batches, []Unit{u})
		}
	}
	cols := planner.Names(load.Columns)
	theUnits := q(ColIntentID) + " = $1 AND " + q(ColUnitKey) + " = ANY($2::text[])"
	staged := "SELECT " + qList(cols) + " FROM " + StagingTable(target) + " WHERE " + theUnits
	fail := func(err error) (int64, error) {
		return 0, fmt.Errorf("promote units %s of intent %s into %s: %w", strings.Join(keys, ", "), intentID, target.Name, err)
	}
	if l.Mode == planner.LoadMerge {
		// The MERGE joins the staged rows with the target: planned from
		// the statistics of a staging table analyzed while empty, it may
		// scan the target once per staged row. Sampling staging first
		// costs a fraction of the move; SKIP_LOCKED never waits on
		// autovacuum or on another projection sampling it (docs/adr/0141).
		if _, err := tx.Exec(ctx, "ANALYZE (SKIP_LOCKED) "+StagingTable(target)); err != nil {
			return fail(err)
		}
	}
	var total int64
	counted := true // every staged row was counted by the statement that moved it
	for _, batch := range batches {
		n, all, err := promoteBatch(ctx, tx, l.Mode, l.Window, load.Params.Key, target, cols, staged, intentID, batch)
		if err != nil {
			return fail(err)
		}
		total, counted = total+n, counted && all
	}
	if counted {
		truncated, err := truncateAlone(ctx, tx, target, intentID, keys)
		if err != nil {
			return fail(err)
		}
		if truncated {
			return total, nil
		}
	}
	// What was staged is what was promoted: the delete counts it.
	tag, err := tx.Exec(ctx, "DELETE FROM "+StagingTable(target)+" WHERE "+theUnits, intentID, keys)
	if err != nil {
		return fail(err)
	}
	return tag.RowsAffected(), nil
}

// truncateAlone empties target's staging table at once, instead of
// deleting the units' rows one by one, when those rows are all it holds
// and no other session has it open: it takes the table's lock without
// waiting (a unit of another intent keeps it: the DELETE then runs), and
// then looks, by index probes, for a row of any other unit. It reports
// whether it truncated. Outside a transaction it does nothing.
func truncateAlone(ctx context.Context, tx Querier, target catalog.Dataset, intentID string, keys []string) (bool, error) {
	const sp = "cfa_truncate_staging"
	if _, err := tx.Exec(ctx, "SAVEPOINT "+sp); err != nil {
		return false, nil // not in a transaction: the DELETE does it
	}
	undo := func(err error) (bool, error) { // give the lock back
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		if _, rerr := tx.Exec(ctx, "RELEASE SAVEPOINT "+sp); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return false, err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+StagingTable(target)+" IN ACCESS EXCLUSIVE MODE NOWAIT"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
			return undo(nil)
		}
		return undo(err)
	}
	// Walk the (intent, unit) pairs the table holds, in index order, one
	// probe each: every one must be one of these units.
	next := "SELECT " + qList([]string{ColIntentID, ColUnitKey}) + " FROM " + StagingTable(target)
	order := " ORDER BY " + qList([]string{ColIntentID, ColUnitKey}) + " LIMIT 1"
	var intent, unit string
	err := tx.QueryRow(ctx, next+order).Scan(&intent, &unit)
	for err == nil {
		if intent != intentID || !slices.Contains(keys, unit) {
			return undo(nil)
		}
		err = tx.QueryRow(ctx, next+" WHERE ("+qList([]string{ColIntentID, ColUnitKey})+") > ($1, $2)"+order, intent, unit).Scan(&intent, &unit)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return undo(err)
	}
	if _, err := tx.Exec(ctx, "TRUNCATE "+StagingTable(target)); err != nil {
		return undo(err)
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
		return false, err
	}
	return true, nil
}

// promoteBatch moves the staged rows of a batch of units into target. It
// returns the rows its statements wrote, and whether that counts every
// staged row (not so for a MERGE that does nothing on a match).
func promoteBatch(ctx context.Context, tx Querier, mode planner.LoadMode, window *planner.Window, key []string, target catalog.Dataset, cols []string, staged, intentID string, batch []Unit) (int64, bool, error) {
	keys := make([]string, len(batch))
	for i, u := range batch {
		keys[i] = u.Key
	}
	switch mode {
	case planner.LoadMerge:
		on := make([]string, len(key))
		for i, k := range key {
			on[i] = q("t", k) + " = " + q("s", k)
		}
		var set []string
		for _, c := range cols {
			if !slices.Contains(key, c) {
				set = append(set, q(c)+" = "+q("s", c))
			}
		}
		matched := "DO NOTHING"
		if len(set) > 0 {
			matched = "UPDATE SET " + strings.Join(set, ", ")
		}
		// A unit that staged nothing matches nothing: no need to look first.
		tag, err := tx.Exec(ctx, "MERGE INTO "+Table(target)+" AS t USING ("+staged+") AS s ON "+strings.Join(on, " AND ")+
			" WHEN MATCHED THEN "+matched+" WHEN NOT MATCHED THEN INSERT ("+qList(cols)+") VALUES ("+prefixed("s", cols)+")", intentID, keys)
		if err != nil {
			return 0, false, err
		}
		return tag.RowsAffected(), len(set) > 0, nil
	case planner.LoadPartitionOverwrite:
		// Only a unit that staged rows replaces its partition: one index
		// probe per unit, not a count of its rows.
		rows, err := tx.Query(ctx, "SELECT k FROM unnest($2::text[]) AS k WHERE EXISTS (SELECT 1 FROM "+StagingTable(target)+
			" s WHERE s."+q(ColIntentID)+" = $1 AND s."+q(ColUnitKey)+" = k)", intentID, keys)
		if err != nil {
			return 0, false, err
		}
		nonEmpty, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, false, err
		}
		for _, u := range batch {
			if !slices.Contains(nonEmpty, u.Key) {
				continue
			}
			del, args, err := overwriteDelete(target, window, u)
			if err != nil {
				return 0, false, err
			}
			if _, err := tx.Exec(ctx, del, args...); err != nil {
				return 0, false, err
			}
		}
		if len(nonEmpty) == 0 {
			return 0, true, nil
		}
		tag, err := tx.Exec(ctx, "INSERT INTO "+Table(target)+" ("+qList(cols)+") "+staged, intentID, nonEmpty)
		if err != nil {
			return 0, false, err
		}
		return tag.RowsAffected(), true, nil
	}
	return 0, false, fmt.Errorf("%w: load mode %q", ErrInvalidOptions, mode)
}

// disjoint: no two units can stage the same key, so they may move in one
// statement: each has a partition of its own, and the load's key holds
// the partition key.
func disjoint(units []Unit, target catalog.Dataset, key []string) bool {
	if target.PartitionKey == "" || !slices.Contains(key, target.PartitionKey) {
		return false
	}
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		if u.Partition == "" || seen[u.Partition] {
			return false
		}
		seen[u.Partition] = true
	}
	return true
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
