package dataplane

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
)

// Schemas of the data plane. The layer schemas are the ones codegen writes
// (docs/adr/0061); staging and quarantine hold unit rows of governed targets.
const (
	SchemaBronze     = "bronze"
	SchemaSilver     = "silver"
	SchemaGold       = "gold"
	SchemaStaging    = "staging"
	SchemaQuarantine = "quarantine"
	// PublishedSuffix names the schema of a layer's published views:
	// silver_published, gold_published.
	PublishedSuffix = "_published"
)

// PublicationTable is the table the workflow maintains and the published
// views join: one row per (dataset, partition_value) with its status.
const PublicationTable = "public.cfa_publication"

// Columns a unit adds to staging and quarantine rows, and the published
// views to theirs. The cfa_ prefix keeps them apart from catalog columns.
const (
	ColIntentID      = "cfa_intent_id"
	ColUnitKey       = "cfa_unit_key"
	ColFaultCode     = "cfa_fault_code"
	ColQuarantinedAt = "cfa_quarantined_at"
	ColPublishStatus = "cfa_publish_status"
)

// Session settings a unit's transaction carries; BeginUnit sets them with
// set_config(..., true) so they end with the transaction.
const (
	SettingIntentID      = "cfa.intent_id"
	SettingUnitKey       = "cfa.unit_key"
	SettingUnitPartition = "cfa.unit_partition"
)

// PublishStatus is a partition's state for downstream readers (5.8
// publish_semantics, plus the states the workflow records when a partition
// must not be read).
type PublishStatus string

// Publish statuses; published views show only Published and Degraded.
const (
	CommittedNotPublished PublishStatus = "committed_not_published"
	Published             PublishStatus = "published"
	Degraded              PublishStatus = "degraded"
	Quarantined           PublishStatus = "quarantined"
	Stale                 PublishStatus = "stale"
)

// PublishStatuses is the closed set, in the order of the CHECK constraint.
var PublishStatuses = []PublishStatus{CommittedNotPublished, Published, Degraded, Quarantined, Stale}

// Valid reports whether s is in the closed set.
func (s PublishStatus) Valid() bool {
	for _, v := range PublishStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Errors a caller can branch on.
var (
	// ErrSchemaDrift: a data plane table does not have the catalog's columns.
	ErrSchemaDrift = errors.New("data plane schema drift")
	// ErrNotGoverned: the dataset has no staging copy (it is not silver or gold).
	ErrNotGoverned = errors.New("dataset is not a governed (silver or gold) target")
	// ErrInvalidOptions: Seed or a unit was given options it cannot use.
	ErrInvalidOptions = errors.New("invalid data plane options")
	// ErrUnexpectedWrite: a script writes a table other than its target.
	ErrUnexpectedWrite = errors.New("script writes outside its target")
)

// Beginner starts a transaction: a *pgxpool.Pool, a *pgx.Conn, or a pgx.Tx
// (a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Querier runs statements: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Governed reports whether writes into d go through staging: silver and gold.
func Governed(d catalog.Dataset) bool { return d.Layer == SchemaSilver || d.Layer == SchemaGold }

// Key is what d's rows are unique on: the merge key plus the partition key
// when partitioned (docs/adr/0057), the key the generated MERGE matches on.
// Nil when the dataset has no merge key.
func Key(d catalog.Dataset) []string {
	if d.MergeKey == "" {
		return nil
	}
	if d.PartitionKey != "" && d.PartitionKey != d.MergeKey {
		return []string{d.MergeKey, d.PartitionKey}
	}
	return []string{d.MergeKey}
}

// Table is d's quoted table name, "silver"."silver_documentos".
func Table(d catalog.Dataset) string { return q(d.Layer, d.Name) }

// StagingTable is the quoted staging copy of a governed target.
func StagingTable(d catalog.Dataset) string { return q(SchemaStaging, d.Name) }

// QuarantineTable is the quoted quarantine copy of a governed target.
func QuarantineTable(d catalog.Dataset) string { return q(SchemaQuarantine, d.Name) }

// PublishedView is the quoted view of d's trusted partitions,
// "silver_published"."silver_documentos".
func PublishedView(d catalog.Dataset) string { return q(d.Layer+PublishedSuffix, d.Name) }

// q and qList quote identifiers the way the generated code does.
var q, qList = codegen.Ident, codegen.IdentList

// prefixed qualifies each column with alias: "s"."a", "s"."b".
func prefixed(alias string, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = q(alias, n)
	}
	return strings.Join(out, ", ")
}

// literal quotes s as a SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func columnNames(d catalog.Dataset) []string {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = c.Name
	}
	return out
}

func columnType(d catalog.Dataset, name string) string {
	for _, c := range d.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	return ""
}

// partitionText renders the partition key of alias's row as the text
// cfa_publication and cfa.unit_partition hold: YYYY-MM-DD for dates
// (independent of DateStyle), the text cast otherwise.
func partitionText(alias string, d catalog.Dataset) string {
	col := q(alias, d.PartitionKey)
	switch columnType(d, d.PartitionKey) {
	case "date":
		return "to_char(" + col + "::timestamp, 'YYYY-MM-DD')" // no time zone involved
	case "timestamp":
		return "to_char(" + col + `, 'YYYY-MM-DD"T"HH24:MI:SS')`
	}
	return col + "::text"
}

// unitPartitionPredicate is true when the transaction narrows to no
// partition (cfa.unit_partition unset or empty) or the row is in it. The
// settings are read in scalar subqueries, which Postgres evaluates once
// per statement (an InitPlan) instead of once per row: a stable function
// in a policy is called for every row it filters (docs/adr/0140).
func unitPartitionPredicate(d catalog.Dataset) (string, error) {
	pt, err := codegen.PostgresType(columnType(d, d.PartitionKey))
	if err != nil {
		return "", err
	}
	setting := "nullif(current_setting(" + literal(SettingUnitPartition) + ", true), '')"
	return "(" + q(d.PartitionKey) + " = (SELECT " + setting + "::" + pt + ") OR (SELECT " + setting + " IS NULL))", nil
}

// unitRowPredicate is true for the rows of the transaction's unit; the
// settings are read once per statement, as in unitPartitionPredicate.
func unitRowPredicate() string {
	return q(ColIntentID) + " = (SELECT current_setting(" + literal(SettingIntentID) + ", true)) AND " +
		q(ColUnitKey) + " = (SELECT current_setting(" + literal(SettingUnitKey) + ", true))"
}

// policyVersion marks, in each policy's comment, the predicates Ensure
// writes: a policy made by an earlier version is altered to them.
const policyVersion = "cfa data plane policy v2 (docs/adr/0140)"
