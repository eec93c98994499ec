package dataplane

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
)

// ddlLockKey serialises Ensure and role creation across sessions:
// concurrent CREATE ... IF NOT EXISTS and GRANTs on one object can fail
// with duplicate keys or "tuple concurrently updated".
const ddlLockKey int64 = 0x6366615f64646c00 // "cfa_ddl\x00"

// step is one DDL statement; a policy has no IF NOT EXISTS, so it names the
// policy to look up first.
type step struct {
	sql    string
	policy *policyRef
}

// policyRef names a policy. A policy with alter is versioned: one that
// exists without policyVersion in its comment was made by an earlier
// Ensure and is altered to the current predicates.
type policyRef struct{ schema, table, name, alter string }

// comment is the statement that marks the policy current.
func (p policyRef) comment() string {
	return "COMMENT ON POLICY " + q(p.name) + " ON " + q(p.schema, p.table) + " IS " + literal(policyVersion)
}

// Ensure creates what the catalog needs and is missing: the schemas, one
// table per dataset, the staging and quarantine copies and published view
// of every governed dataset, and the publication table. It creates nothing
// that exists, so a second call is a no-op, and checks that every existing
// table has the catalog's columns (ErrSchemaDrift otherwise). It runs in
// one transaction under an advisory lock: safe from several workers at once.
func Ensure(ctx context.Context, db Beginner, cat *catalog.Catalog) error {
	steps, err := ddl(cat)
	if err != nil {
		return fmt.Errorf("ensure data plane for %s: %w", cat.SnapshotVersion, err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ensure data plane: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
		return fmt.Errorf("ensure data plane: lock: %w", err)
	}
	for _, s := range steps {
		sqls := []string{s.sql}
		if p := s.policy; p != nil {
			var exists, current bool
			if err := tx.QueryRow(ctx, `SELECT count(*) > 0, coalesce(bool_or(obj_description(p.oid, 'pg_policy') = $4), false)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND p.polname = $3`,
				p.schema, p.table, p.name, policyVersion).Scan(&exists, &current); err != nil {
				return fmt.Errorf("ensure data plane: look up policy %s on %s.%s: %w", p.name, p.schema, p.table, err)
			}
			switch {
			case exists && (p.alter == "" || current):
				continue
			case exists:
				sqls = []string{p.alter, p.comment()}
			case p.alter != "":
				sqls = append(sqls, p.comment())
			}
		}
		for _, sql := range sqls {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("ensure data plane: %s: %w", firstLine(sql), err)
			}
		}
	}
	if err := verify(ctx, tx, cat); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ensure data plane: commit: %w", err)
	}
	return nil
}

// ddl lists the statements of Ensure in a fixed order: schemas, then the
// datasets by name.
func ddl(cat *catalog.Catalog) ([]step, error) {
	var out []step
	add := func(sql string) { out = append(out, step{sql: sql}) }
	schemas := []string{SchemaBronze, SchemaSilver, SchemaGold, SchemaStaging, SchemaQuarantine,
		SchemaSilver + PublishedSuffix, SchemaGold + PublishedSuffix}
	for _, s := range schemas {
		add("CREATE SCHEMA IF NOT EXISTS " + q(s))
	}
	statuses := make([]string, len(PublishStatuses))
	for i, s := range PublishStatuses {
		statuses[i] = literal(string(s))
	}
	add(`CREATE TABLE IF NOT EXISTS ` + PublicationTable + ` (
  dataset text NOT NULL,
  partition_value text NOT NULL, -- '' for an unpartitioned dataset
  status text NOT NULL CONSTRAINT cfa_publication_status_check CHECK (status IN (` + strings.Join(statuses, ", ") + `)),
  intent_id text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, partition_value)
)`)

	for _, d := range cat.Datasets {
		if !slices.Contains([]string{SchemaBronze, SchemaSilver, SchemaGold}, d.Layer) {
			return nil, fmt.Errorf("dataset %s: layer %q has no schema: use bronze, silver or gold", d.Name, d.Layer)
		}
		cols, err := columnDefs(d)
		if err != nil {
			return nil, err
		}
		defs := slices.Clone(cols)
		// Governed tables enforce the key the MERGE matches on; bronze is a
		// landing zone that may hold duplicates (the dedupe template's input).
		if k := Key(d); Governed(d) && len(k) > 0 {
			defs = append(defs, "PRIMARY KEY ("+qList(k)+")")
		}
		add("CREATE TABLE IF NOT EXISTS " + Table(d) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)")
		if d.PartitionKey == "" {
			if Governed(d) {
				out = append(out, governed(d, cols)...)
			}
			continue
		}
		add("CREATE INDEX IF NOT EXISTS " + q(d.Name+"_"+d.PartitionKey+"_idx") + " ON " + Table(d) + " (" + q(d.PartitionKey) + ")")
		// A unit that sets cfa.unit_partition reads one partition of every
		// partitioned source (docs/adr/0091). The owner bypasses row security.
		pred, err := unitPartitionPredicate(d)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: partition key: %w", d.Name, err)
		}
		add("ALTER TABLE " + Table(d) + " ENABLE ROW LEVEL SECURITY")
		out = append(out,
			step{sql: "CREATE POLICY cfa_read ON " + Table(d) + " AS PERMISSIVE FOR SELECT TO PUBLIC USING (true)",
				policy: &policyRef{schema: d.Layer, table: d.Name, name: "cfa_read"}},
			step{sql: "CREATE POLICY cfa_unit_partition ON " + Table(d) + " AS RESTRICTIVE FOR SELECT TO PUBLIC USING " + pred,
				policy: &policyRef{d.Layer, d.Name, "cfa_unit_partition", "ALTER POLICY cfa_unit_partition ON " + Table(d) + " USING " + pred}})
		if Governed(d) {
			out = append(out, governed(d, cols)...)
		}
	}
	return out, nil
}

// governed lists the staging and quarantine copies and the published view
// of a silver or gold dataset.
func governed(d catalog.Dataset, cols []string) []step {
	var out []step
	add := func(sql string) { out = append(out, step{sql: sql}) }

	// Staging: the unit's columns come from the transaction's settings, so
	// the generated INSERT and MERGE (which name only catalog columns) fill
	// them; current_setting without missing_ok fails an insert made outside
	// a unit. The CHECK catches a pooled session left with empty settings.
	unitCols := []string{
		q(ColIntentID) + " text NOT NULL DEFAULT current_setting(" + literal(SettingIntentID) + ")",
		q(ColUnitKey) + " text NOT NULL DEFAULT current_setting(" + literal(SettingUnitKey) + ")",
		"CHECK (" + q(ColIntentID) + " <> '' AND " + q(ColUnitKey) + " <> '')",
	}
	staging := append(slices.Clone(cols), unitCols...)
	if k := Key(d); len(k) > 0 {
		staging = append(staging, "UNIQUE ("+qList(append([]string{ColIntentID, ColUnitKey}, k...))+")")
	}
	add("CREATE TABLE IF NOT EXISTS " + StagingTable(d) + " (\n  " + strings.Join(staging, ",\n  ") + "\n)")
	// A unit sees and writes only its own rows, and (for a partition unit)
	// only rows of its partition: the generated MERGE then matches within
	// the unit, whatever other units left in staging.
	check := unitRowPredicate()
	if d.PartitionKey != "" {
		pred, _ := unitPartitionPredicate(d) // checked by the caller
		check += " AND " + pred
	}
	add("ALTER TABLE " + StagingTable(d) + " ENABLE ROW LEVEL SECURITY")
	predicates := "USING (" + unitRowPredicate() + ")\n  WITH CHECK (" + check + ")"
	out = append(out, step{
		sql:    "CREATE POLICY cfa_unit ON " + StagingTable(d) + " AS PERMISSIVE FOR ALL TO PUBLIC\n  " + predicates,
		policy: &policyRef{SchemaStaging, d.Name, "cfa_unit", "ALTER POLICY cfa_unit ON " + StagingTable(d) + "\n  " + predicates},
	})

	quarantine := append(slices.Clone(cols),
		q(ColIntentID)+" text NOT NULL",
		q(ColUnitKey)+" text NOT NULL",
		q(ColFaultCode)+" text NOT NULL",
		q(ColQuarantinedAt)+" timestamptz NOT NULL DEFAULT now()")
	add("CREATE TABLE IF NOT EXISTS " + QuarantineTable(d) + " (\n  " + strings.Join(quarantine, ",\n  ") + "\n)")
	add("CREATE INDEX IF NOT EXISTS " + q(d.Name+"_unit_idx") + " ON " + QuarantineTable(d) + " (" + qList([]string{ColIntentID, ColUnitKey}) + ")")

	on := "p.dataset = " + literal(d.Name) + " AND p.partition_value = ''"
	if d.PartitionKey != "" {
		on = "p.dataset = " + literal(d.Name) + " AND p.partition_value = " + partitionText("d", d)
	}
	statuses := literal(string(Published)) + ", " + literal(string(Degraded))
	add("CREATE OR REPLACE VIEW " + PublishedView(d) + " AS\nSELECT " + prefixed("d", columnNames(d)) + ", p.status AS " + q(ColPublishStatus) +
		"\nFROM " + Table(d) + " AS d\nJOIN " + PublicationTable + " AS p ON " + on + "\nWHERE p.status IN (" + statuses + ")")
	return out
}

func columnDefs(d catalog.Dataset) ([]string, error) {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		pt, err := codegen.PostgresType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("dataset %s column %s: %w", d.Name, c.Name, err)
		}
		out[i] = q(c.Name) + " " + pt
	}
	return out, nil
}

// verify compares every table Ensure manages with the catalog's columns.
func verify(ctx context.Context, db Querier, cat *catalog.Catalog) error {
	var drift []string
	for _, d := range cat.Datasets {
		want, err := ExpectedSchema(d)
		if err != nil {
			return err
		}
		tables := []string{d.Layer}
		if Governed(d) {
			tables = append(tables, SchemaStaging, SchemaQuarantine)
		}
		for _, schema := range tables {
			got, err := Schema(ctx, db, schema, d.Name)
			if err != nil {
				return err
			}
			if schema != d.Layer { // the unit columns follow the catalog's
				got = got[:min(len(got), len(want))]
			}
			if diff := SchemaDiff(want, got); len(diff) > 0 {
				drift = append(drift, schema+"."+d.Name+": "+strings.Join(diff, "; "))
			}
		}
	}
	if len(drift) > 0 {
		return fmt.Errorf("%w against %s: %s: the catalog changed a table that already exists; migrate its data by hand, or drop the data plane schemas of a demo database and run Ensure again",
			ErrSchemaDrift, cat.SnapshotVersion, strings.Join(drift, " | "))
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
