package dataplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
)

// Scope is what a plan may touch: it reads Sources and writes Target (and,
// for a cross_dataset_atomic plan, the targets of its parts, Also).
type Scope struct {
	Target  string   `json:"target"`
	Sources []string `json:"sources"` // sorted, unique
	// Also are the other targets of a cross_dataset_atomic plan, sorted
	// (docs/adr/0138): one role writes the staging of every target.
	Also []string `json:"also,omitempty"`
}

// ScopeOf reads a plan's scope: its target and the datasets its extract
// steps read, with its parts' targets and sources.
func ScopeOf(plan planner.ExecutionPlan) Scope {
	s := Scope{Target: plan.Target}
	for i, part := range plan.PerTarget() {
		if i > 0 && part.Target != s.Target && !slices.Contains(s.Also, part.Target) {
			s.Also = append(s.Also, part.Target)
		}
		for _, st := range part.Steps {
			if st.Kind == planner.KindExtract && !slices.Contains(s.Sources, st.Dataset) {
				s.Sources = append(s.Sources, st.Dataset)
			}
		}
	}
	slices.Sort(s.Sources)
	slices.Sort(s.Also)
	return s
}

// sandboxPrefix starts every sandbox role name; the next 8 hex digits hash
// the database, since roles are global to the server and every test
// database (and the demo's) must get roles of its own.
const sandboxPrefix = "cfa_sbx_"

// EnsureRoleFunction makes a sandbox role: the worker has no CREATEROLE, so
// a function the DBA's setup installs (db/roles.sql.tmpl), owned by a
// CREATEROLE role and executable by the worker only, creates the NOLOGIN
// NOINHERIT role if missing and makes the sandbox login a member of it. It
// refuses any name that is not a sandbox role's of the connected database.
const EnsureRoleFunction = "public.cfa_ensure_sandbox_role"

// EnsureSandboxRole has the NOLOGIN role of scope in the connected database
// made (EnsureRoleFunction), grants it its scope and returns its name. The
// role may SELECT the source tables and SELECT, INSERT, UPDATE and DELETE
// the target's staging table, and nothing else: not the target, not
// another dataset, not the control plane. The name is a hash of the
// database and the scope, so its grants never change and calling again is
// a no-op. The connected role must own the data plane (it grants on its
// tables); it does not become a member: units log in as the sandbox login,
// which is (docs/adr/0093, 0114).
func EnsureSandboxRole(ctx context.Context, db Beginner, cat *catalog.Catalog, scope Scope) (string, error) {
	target, ok := cat.Get(scope.Target)
	if !ok {
		return "", fmt.Errorf("sandbox role for %s: %w: dataset %q is not in catalog %s", scope.Target, ErrInvalidOptions, scope.Target, cat.SnapshotVersion)
	}
	if !Governed(target) {
		return "", fmt.Errorf("sandbox role for %s: %w: a unit writes only through staging", target.Name, ErrNotGoverned)
	}
	also := make([]catalog.Dataset, 0, len(scope.Also))
	for _, n := range scope.Also {
		d, ok := cat.Get(n)
		if !ok || !Governed(d) {
			return "", fmt.Errorf("sandbox role for %s: %w: target %q is not a governed dataset of catalog %s", target.Name, ErrInvalidOptions, n, cat.SnapshotVersion)
		}
		also = append(also, d)
	}
	slices.SortFunc(also, func(a, b catalog.Dataset) int { return strings.Compare(a.Name, b.Name) })
	sources := make([]catalog.Dataset, 0, len(scope.Sources))
	for _, n := range scope.Sources {
		d, ok := cat.Get(n)
		if !ok {
			return "", fmt.Errorf("sandbox role for %s: %w: source %q is not in catalog %s", target.Name, ErrInvalidOptions, n, cat.SnapshotVersion)
		}
		sources = append(sources, d)
	}
	slices.SortFunc(sources, func(a, b catalog.Dataset) int { return strings.Compare(a.Name, b.Name) })

	tx, err := db.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("sandbox role for %s: begin: %w", target.Name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
		return "", fmt.Errorf("sandbox role for %s: lock: %w", target.Name, err)
	}
	var dbName string
	if err := tx.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		return "", fmt.Errorf("sandbox role for %s: %w", target.Name, err)
	}
	role := sandboxRoleName(dbName, target, sources, also...)
	if _, err := tx.Exec(ctx, "SELECT "+EnsureRoleFunction+"($1)", role); err != nil {
		return "", fmt.Errorf("sandbox role %s: %w: the roles must be set up (`cfa roles setup`, docs/roles.md)", role, err)
	}
	schemas := []string{SchemaStaging}
	for _, s := range sources {
		if !slices.Contains(schemas, s.Layer) {
			schemas = append(schemas, s.Layer)
		}
	}
	slices.Sort(schemas)
	var stmts []string
	for _, s := range schemas {
		stmts = append(stmts, "GRANT USAGE ON SCHEMA "+q(s)+" TO "+q(role))
	}
	for _, s := range sources {
		stmts = append(stmts, "GRANT SELECT ON "+Table(s)+" TO "+q(role))
	}
	for _, t := range append([]catalog.Dataset{target}, also...) {
		stmts = append(stmts, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+StagingTable(t)+" TO "+q(role))
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return "", fmt.Errorf("sandbox role %s: %s: %w: run dataplane.Ensure first, as the role that runs the worker (it owns the data plane)", role, s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("sandbox role %s: commit: %w", role, err)
	}
	return role, nil
}

func sandboxRoleName(dbName string, target catalog.Dataset, sources []catalog.Dataset, also ...catalog.Dataset) string {
	h := sha256.New()
	h.Write([]byte(target.Layer + "." + target.Name))
	for _, s := range sources {
		h.Write([]byte{0})
		h.Write([]byte(s.Layer + "." + s.Name))
	}
	for _, t := range also { // the other targets: a scope of its own
		h.Write([]byte{1})
		h.Write([]byte(t.Layer + "." + t.Name))
	}
	name := target.Name
	if len(name) > 30 {
		name = name[:30]
	}
	return databasePrefix(dbName) + name + "_" + hex.EncodeToString(h.Sum(nil))[:8]
}

// SandboxRolePrefix starts the names of every sandbox role of database
// dbName (a test drops them with its database).
func SandboxRolePrefix(dbName string) string { return databasePrefix(dbName) }

func databasePrefix(dbName string) string {
	sum := sha256.Sum256([]byte(dbName))
	return sandboxPrefix + hex.EncodeToString(sum[:])[:8] + "_"
}

// DropSandboxRoles drops every sandbox role of the connected database, for
// test cleanup and a demo reset. A role still used by an open transaction
// cannot be dropped: end the units first.
func DropSandboxRoles(ctx context.Context, db Beginner) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("drop sandbox roles: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
		return fmt.Errorf("drop sandbox roles: lock: %w", err)
	}
	var dbName string
	if err := tx.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		return fmt.Errorf("drop sandbox roles: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY rolname", databasePrefix(dbName))
	if err != nil {
		return fmt.Errorf("drop sandbox roles: %w", err)
	}
	var roles []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return fmt.Errorf("drop sandbox roles: %w", err)
		}
		roles = append(roles, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("drop sandbox roles: %w", err)
	}
	for _, r := range roles {
		for _, s := range []string{"DROP OWNED BY " + q(r), "DROP ROLE " + q(r)} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("drop sandbox role %s: %s: %w", r, s, err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("drop sandbox roles: commit: %w", err)
	}
	return nil
}

// Unit is one consistency unit's execution context.
type Unit struct {
	// IntentID and Key tag the unit's staging rows; Key is the partition
	// value for a partition unit, else a stable name (the dataset, the
	// branch, the window).
	IntentID string `json:"intent_id"`
	Key      string `json:"key"`
	// Partition narrows every partitioned source to this partition value
	// (YYYY-MM-DD for dates) and makes staging refuse rows of any other.
	// Empty reads the plan's whole window (a dataset unit).
	Partition string `json:"partition,omitempty"`
	// StatementTimeout bounds each statement of the unit; 0 keeps the
	// session's.
	StatementTimeout time.Duration `json:"statement_timeout,omitempty"`
}

// BeginUnit prepares tx, a transaction just begun on the sandbox login, to
// run one unit's redirected script: it sets the unit's settings
// (cfa.intent_id, cfa.unit_key, cfa.unit_partition) and statement_timeout
// for the transaction only, then SET LOCAL ROLE role. Everything the script
// does after is checked against that role's grants and row security.
// Static validation forbids SET ROLE, RESET and set_config in the script
// (docs/adr/0067); a script that got past it would find only the sandbox
// login behind RESET ROLE, which holds nothing (docs/adr/0114).
func BeginUnit(ctx context.Context, tx Querier, role string, u Unit) error {
	if u.IntentID == "" || u.Key == "" || role == "" {
		return fmt.Errorf("begin unit %q of intent %q as %q: %w: intent ID, unit key and role are required", u.Key, u.IntentID, role, ErrInvalidOptions)
	}
	if u.StatementTimeout < 0 {
		return fmt.Errorf("begin unit %s: %w: negative statement timeout", u.Key, ErrInvalidOptions)
	}
	timeout := ""
	if u.StatementTimeout > 0 {
		timeout = strconv.FormatInt(max(1, u.StatementTimeout.Milliseconds()), 10)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true),
  CASE WHEN $7 = '' THEN NULL ELSE set_config('statement_timeout', $7, true) END`,
		SettingIntentID, u.IntentID, SettingUnitKey, u.Key, SettingUnitPartition, u.Partition, timeout); err != nil {
		return fmt.Errorf("begin unit %s of intent %s: settings: %w", u.Key, u.IntentID, err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+q(role)); err != nil {
		return fmt.Errorf("begin unit %s of intent %s: set role %s: %w: create it with EnsureSandboxRole", u.Key, u.IntentID, role, err)
	}
	return nil
}

// RedirectToStaging rewrites a generated Postgres script (codegen.Postgres)
// so that its writes land in target's staging table: the relation of every
// MERGE, INSERT, UPDATE and DELETE, which must be the target, is renamed
// from "layer"."name" to "staging"."name" at the parser's byte offsets.
// Nothing else changes, reads of the target included, so the script run is
// the one static validation passed but for the schema of its writes
// (docs/adr/0091). A script without statements (publish only) is returned
// as is.
func RedirectToStaging(script string, target catalog.Dataset) (string, error) {
	if !Governed(target) {
		return "", fmt.Errorf("redirect script for %s: %w", target.Name, ErrNotGoverned)
	}
	from, to := Table(target), StagingTable(target)
	writes, err := writeRelations(script)
	if err != nil {
		return "", fmt.Errorf("redirect script for %s: %w", target.Name, err)
	}
	for _, w := range writes {
		if w.GetCatalogname() != "" || w.GetSchemaname() != target.Layer || w.GetRelname() != target.Name {
			return "", fmt.Errorf("redirect script for %s: %w: it writes %s.%s; a plan writes only its target", target.Name, ErrUnexpectedWrite, w.GetSchemaname(), w.GetRelname())
		}
	}
	slices.SortFunc(writes, func(a, b *pg.RangeVar) int { return int(b.GetLocation() - a.GetLocation()) })
	out := script
	for _, w := range writes {
		at := int(w.GetLocation())
		if at < 0 || !strings.HasPrefix(out[at:], from) {
			return "", fmt.Errorf("redirect script for %s: %w: the write at byte %d is not spelled %s: regenerate the script with codegen.Postgres", target.Name, ErrUnexpectedWrite, at, from)
		}
		out = out[:at] + to + out[at+len(from):]
	}
	// The rewrite must parse to the same statements writing staging only.
	again, err := writeRelations(out)
	if err != nil || len(again) != len(writes) {
		return "", fmt.Errorf("redirect script for %s: rewritten script does not parse back (%v)", target.Name, err)
	}
	for _, w := range again {
		if w.GetSchemaname() != SchemaStaging || w.GetRelname() != target.Name {
			return "", fmt.Errorf("redirect script for %s: %w: rewritten script still writes %s.%s", target.Name, ErrUnexpectedWrite, w.GetSchemaname(), w.GetRelname())
		}
	}
	return out, nil
}

// writeRelations parses a script and returns the relation each top-level
// statement writes. Only SELECT and the four writes are accepted; a
// data-modifying CTE is refused, since the generator never emits one.
func writeRelations(script string) ([]*pg.RangeVar, error) {
	tree, err := pg.Parse(script)
	if err != nil {
		return nil, fmt.Errorf("parse script: %w", err)
	}
	var out []*pg.RangeVar
	for i, raw := range tree.GetStmts() {
		n := raw.GetStmt()
		var rel *pg.RangeVar
		var with *pg.WithClause
		switch {
		case n.GetSelectStmt() != nil:
			with = n.GetSelectStmt().GetWithClause()
		case n.GetInsertStmt() != nil:
			rel, with = n.GetInsertStmt().GetRelation(), n.GetInsertStmt().GetWithClause()
		case n.GetUpdateStmt() != nil:
			rel, with = n.GetUpdateStmt().GetRelation(), n.GetUpdateStmt().GetWithClause()
		case n.GetDeleteStmt() != nil:
			rel, with = n.GetDeleteStmt().GetRelation(), n.GetDeleteStmt().GetWithClause()
		case n.GetMergeStmt() != nil:
			rel, with = n.GetMergeStmt().GetRelation(), n.GetMergeStmt().GetWithClause()
		default:
			return nil, fmt.Errorf("%w: statement %d is not SELECT, INSERT, UPDATE, DELETE or MERGE", ErrUnexpectedWrite, i+1)
		}
		for _, c := range with.GetCtes() {
			qn := c.GetCommonTableExpr().GetCtequery()
			if qn.GetSelectStmt() == nil {
				return nil, fmt.Errorf("%w: statement %d has a data-modifying CTE %q", ErrUnexpectedWrite, i+1, c.GetCommonTableExpr().GetCtename())
			}
		}
		if rel != nil {
			out = append(out, rel)
		}
	}
	return out, nil
}

// RevokeSandboxSelect takes SELECT on source away from every sandbox role
// that holds it, as an operator revoking access would: a unit reading it
// next fails with 42501 (external_permission_revoked, a Panic Rollback).
// The next intent's EnsureSandboxRole grants it again. It returns how many
// roles lost the grant.
func RevokeSandboxSelect(ctx context.Context, db Querier, source catalog.Dataset) (int, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT grantee::text FROM information_schema.role_table_grants
		WHERE table_schema = $1 AND table_name = $2 AND privilege_type = 'SELECT' AND starts_with(grantee::text, $3)`,
		source.Layer, source.Name, sandboxPrefix)
	if err != nil {
		return 0, fmt.Errorf("find the sandbox roles reading %s: %w", Table(source), err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("find the sandbox roles reading %s: %w", Table(source), err)
	}
	for _, r := range roles {
		if _, err := db.Exec(ctx, "REVOKE SELECT ON "+Table(source)+" FROM "+q(r)); err != nil {
			return 0, fmt.Errorf("revoke SELECT on %s from %s: %w", Table(source), r, err)
		}
	}
	return len(roles), nil
}
