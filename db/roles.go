package db

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Roles names the database roles of a deployment (docs/roles.md, ADR 0114).
// They are server-wide; the defaults are DefaultRoles.
type Roles struct {
	// Owner owns the control plane: everything the migrations create, the
	// audit tables and their triggers among it. NOLOGIN: `cfa migrate`
	// runs as a superuser or a member and SETs ROLE to it.
	Owner string
	// Worker is the worker's (and the CLI's) login. It owns the data plane
	// and has on the control plane only the privileges in workerGrants:
	// it inserts into the audit trail and can never alter or delete it.
	Worker string
	// Sandbox is the units' login, NOINHERIT: a member of the per-plan
	// sandbox roles only, so RESET ROLE inside a unit leaves it with
	// nothing.
	Sandbox string
	// Admin (NOLOGIN, CREATEROLE) owns cfa_ensure_sandbox_role, the
	// function through which the worker gets a per-plan role made.
	Admin string
}

// DefaultRoles are the role names unless configured (CFA_OWNER_ROLE,
// CFA_WORKER_ROLE, CFA_SANDBOX_ROLE, CFA_SANDBOX_ADMIN_ROLE).
var DefaultRoles = Roles{Owner: "cfa_owner", Worker: "cfa_worker", Sandbox: "cfa_sandbox", Admin: "cfa_sandbox_admin"}

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// reservedRoleNames cannot name a role.
var reservedRoleNames = map[string]bool{"public": true, "none": true, "current_user": true, "current_role": true, "session_user": true}

// Validate checks that the four names are distinct lowercase identifiers,
// none of them reserved (pg_*) or a per-plan sandbox role's (cfa_sbx_*).
func (r Roles) Validate() error {
	seen := map[string]string{}
	for _, f := range []struct{ field, name string }{{"owner", r.Owner}, {"worker", r.Worker}, {"sandbox", r.Sandbox}, {"sandbox admin", r.Admin}} {
		switch {
		case !roleName.MatchString(f.name):
			return fmt.Errorf("%s role %q: use a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 characters)", f.field, f.name)
		case strings.HasPrefix(f.name, "pg_") || strings.HasPrefix(f.name, "cfa_sbx_") || reservedRoleNames[f.name]:
			return fmt.Errorf("%s role %q: the name is Postgres's (pg_*, public, none, current_user, ...) or a per-plan sandbox role's (cfa_sbx_*): choose another", f.field, f.name)
		case seen[f.name] != "":
			return fmt.Errorf("%s role %q is also the %s role: the four roles must differ", f.field, f.name, seen[f.name])
		}
		seen[f.name] = f.field
	}
	return nil
}

//go:embed roles.sql.tmpl
var rolesSQL string

var rolesTemplate = template.Must(template.New("roles.sql").Funcs(template.FuncMap{
	"ident": func(s string) string { return pgx.Identifier{s}.Sanitize() },
	"lit":   func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" },
}).Parse(rolesSQL))

// RolesSQL is the SQL a superuser runs once per database, connected to it,
// to create the roles and what the database needs of them (`cfa roles sql`
// prints it; docs/roles.md shows it for DefaultRoles).
func RolesSQL(r Roles) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := rolesTemplate.Execute(&b, r); err != nil {
		return "", fmt.Errorf("render the roles SQL: %w", err)
	}
	return b.String(), nil
}

// SetupRoles runs RolesSQL on the database of databaseURL, which must log
// in as a superuser (creating the roles and the CREATEROLE function's owner
// takes one). Safe to run again and from several sessions at once.
func SetupRoles(ctx context.Context, databaseURL string, r Roles) error {
	sql, err := RolesSQL(r)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return parseError(databaseURL)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cannot reach Postgres at %s:%d/%s to set up the roles: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("set up the roles on %s:%d/%s: %w: connect as a superuser (docs/roles.md)", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return nil
}

// workerGrants is what the worker may do to each table of the control
// plane, which the owner owns; it may do nothing else to them. A table a
// migration adds gets its line here (TestEveryControlPlaneTableHasWorkerGrants).
// Committed snapshots, plans and skill executions are immutable and the
// audit chain head only advances onto the event just appended: the
// owner's triggers say so, and the worker cannot disable them.
var workerGrants = []struct{ table, privileges string }{
	{"audit_events", "SELECT, INSERT"},
	{"audit_chain_head", "SELECT, UPDATE"},
	// Signed tree heads of the receipts' Merkle tree, append-only (ADR 0145).
	{"audit_checkpoints", "SELECT, INSERT"},
	{"registry_snapshots", "SELECT, INSERT, UPDATE, DELETE"}, // an abandoned 'writing' snapshot is deleted
	{"registry_dataset_states", "SELECT, INSERT, UPDATE"},
	{"registry_execution_history", "SELECT, INSERT"},
	{"intents", "SELECT, INSERT, UPDATE"},
	{"execution_plans", "SELECT, INSERT"},
	{"precost_history", "SELECT, INSERT"},
	{"scope_locks", "SELECT, INSERT, UPDATE"},
	{"ttl_escalations", "SELECT, INSERT, UPDATE"},
	{"ttl_sweeps", "SELECT, INSERT"},
	{"projection_failures", "SELECT, INSERT, UPDATE"},
	{"skill_executions", "SELECT, INSERT"},
	{"unit_failures", "SELECT, INSERT, UPDATE"},
	// A token's hash and roles never change; it is revoked, not deleted.
	{"api_tokens", "SELECT, INSERT, UPDATE (revoked_at, last_used_at)"},
	// A skill's state moves only onto a transition; the history is append-only.
	{"skills", "SELECT, INSERT, UPDATE (state, last_seq, updated_at, artifact, generation_metadata)"},
	{"skill_transitions", "SELECT, INSERT"},
	// Every bundle and catalog in force, recorded at start (ADR 0122).
	{"policy_bundles", "SELECT, INSERT"},
	{"catalog_snapshots", "SELECT, INSERT"},
	// What each unit attempt read and wrote, for replay (ADR 0128).
	{"unit_fingerprints", "SELECT, INSERT"},
	// A schedule's spec never changes; it is bound to a skill once,
	// paused and unpaused, and deleted by a mark (ADR 0124).
	{"schedules", "SELECT, INSERT, UPDATE (skill_id, paused, paused_reason, updated_at, deleted_at)"},
	// A standing approval is insert-only but for its revocation (ADR 0125).
	{"standing_approvals", "SELECT, INSERT, UPDATE (revoked_at, revoked_by, revoke_reason)"},
	// CFS policies, views and gate evidence are append-only; a gate's
	// state and a proposal's status move (docs/adr/0149, 0150).
	{"cfs_policies", "SELECT, INSERT"},
	{"cfs_views", "SELECT, INSERT"},
	{"cfs_gates", "SELECT, INSERT, UPDATE (status, definition, expires_at, version, updated_at)"},
	{"cfs_gate_evidence", "SELECT, INSERT"},
	{"cfs_proposals", "SELECT, INSERT, UPDATE (status, reviewer, review_receipt, apply_receipt, commit_id, updated_at)"},
	// The context plane (ADR 0147): versions are appended and only their
	// system interval closes (the owner's trigger says so); commits and
	// the plane id never change; a sync cursor moves per source plane.
	{"cfs_plane", "SELECT"},
	{"cfs_commits", "SELECT, INSERT"},
	{"cfs_record_versions", "SELECT, INSERT, UPDATE (system)"},
	{"cfs_link_versions", "SELECT, INSERT, UPDATE (system)"},
	{"cfs_sync_cursors", "SELECT, INSERT, UPDATE"},
	{"goose_db_version", "SELECT"}, // the worker checks the schema is current
}

// workerSequences are the serial columns' sequences the worker draws from.
var workerSequences = []string{"registry_execution_history_id_seq", "precost_history_id_seq", "scope_locks_id_seq", "cfs_plane_seq"}

// workerFunctions are the owner's SECURITY DEFINER functions the worker
// may call: the sync import, the one way to keep a source's system time
// (ADR 0148).
var workerFunctions = []string{
	"cfs_plane_import_record(text, text, text[], jsonb, timestamptz, bytea, bytea, tstzrange, tstzrange, text, boolean)",
	"cfs_plane_import_link(text, text, text, text, jsonb, text, bytea, bytea, tstzrange, tstzrange, text)",
}

// grantWorker gives the worker exactly workerGrants, in one transaction of
// the owner's: what an earlier version granted and this one does not is
// revoked.
func grantWorker(ctx context.Context, pool *pgxpool.Pool, worker string) error {
	w := pgx.Identifier{worker}.Sanitize()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, g := range workerGrants {
			t := pgx.Identifier{"public", g.table}.Sanitize()
			for _, s := range []string{"REVOKE ALL ON TABLE " + t + " FROM " + w, "GRANT " + g.privileges + " ON TABLE " + t + " TO " + w} {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("grant the worker its privileges: %s: %w", s, err)
				}
			}
		}
		for _, seq := range workerSequences {
			s := "GRANT USAGE ON SEQUENCE " + pgx.Identifier{"public", seq}.Sanitize() + " TO " + w
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("grant the worker its privileges: %s: %w", s, err)
			}
		}
		for _, fn := range workerFunctions {
			s := "GRANT EXECUTE ON FUNCTION public." + fn + " TO " + w
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("grant the worker its privileges: %s: %w", s, err)
			}
		}
		return nil
	})
}

// MigrateURL applies the pending migrations as roles.Owner and grants
// roles.Worker its privileges on the control plane (`cfa migrate`).
// databaseURL's login must be the owner, a member of it or a superuser: the
// migration's sessions SET ROLE to the owner, so the owner owns what they
// create, and pin search_path to public.
func MigrateURL(ctx context.Context, databaseURL string, roles Roles) error {
	if err := roles.Validate(); err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return parseError(databaseURL)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET search_path = public; SET ROLE "+pgx.Identifier{roles.Owner}.Sanitize())
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cannot reach Postgres at %s: %w: start it or set DATABASE_URL", describeConfig(cfg), err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return migrateLoginError(cfg, roles, err)
	}
	if err := Migrate(ctx, pool); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("%w: %s does not own the schema: a database created before ADR 0114 is handed over to it first (docs/roles.md)", err, roles.Owner)
		}
		return err
	}
	if err := grantWorker(ctx, pool, roles.Worker); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("%w: %s does not own the schema: a database created before ADR 0114 is handed over to it first (docs/roles.md)", err, roles.Owner)
		}
		return err
	}
	return nil
}

// migrateLoginError says why the migration could not become the owner.
func migrateLoginError(cfg *pgxpool.Config, roles Roles, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "22023", "42704": // invalid_parameter_value, undefined_object: no such role
			return fmt.Errorf("migrate %s as %s: %w: the roles are not set up: run `cfa roles setup` as a superuser first (docs/roles.md)", describeConfig(cfg), roles.Owner, err)
		case "42501": // insufficient_privilege
			return fmt.Errorf("migrate %s as %s: %w: log in as a superuser or a member of %s (CFA_MIGRATE_DATABASE_URL; GRANT %s TO <your login>; docs/roles.md)", describeConfig(cfg), roles.Owner, err, roles.Owner, roles.Owner)
		}
	}
	return fmt.Errorf("cannot reach Postgres at %s: %w: start it or set CFA_MIGRATE_DATABASE_URL", describeConfig(cfg), err)
}

// ErrSchemaNotCurrent: the database lacks migrations this build needs. The
// worker does not migrate: the owner runs `cfa migrate`.
var ErrSchemaNotCurrent = errors.New("database schema is not current")

// CheckSchema returns ErrSchemaNotCurrent, wrapped with what is missing,
// unless every embedded migration is applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	want, err := migrationVersions()
	if err != nil {
		return err
	}
	var have []int64
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('public.goose_db_version') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("check the schema of %s: %w", describe(s.pool), err)
	}
	if exists {
		rows, err := s.pool.Query(ctx, "SELECT DISTINCT version_id FROM public.goose_db_version WHERE version_id > 0 ORDER BY 1")
		if err == nil {
			have, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("%w: %s: the connected role may not read the migrations' version table (%s): "+
				"run `cfa migrate` as the schema owner, which grants the worker role its privileges (docs/roles.md)", ErrSchemaNotCurrent, describe(s.pool), pgErr.Message)
		}
		if err != nil {
			return fmt.Errorf("check the schema of %s: %w", describe(s.pool), err)
		}
	}
	var missing []string
	for _, v := range want {
		if !containsVersion(have, v) {
			missing = append(missing, fmt.Sprint(v))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks migration %s of this build: run `cfa migrate` as the schema owner "+
			"(CFA_MIGRATE_DATABASE_URL, a superuser or a member of the owner role; docs/roles.md): the worker does not migrate",
			ErrSchemaNotCurrent, describe(s.pool), strings.Join(missing, ", "))
	}
	return nil
}

func containsVersion(vs []int64, v int64) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// PrivilegeWarnings lists what the connected role holds beyond what the
// worker needs (ADR 0114): a superuser, CREATEROLE, the ownership of the
// audit trail (or membership in its owner), the ownership of the database.
// A worker still runs with them, and logs them.
func (s *Store) PrivilegeWarnings(ctx context.Context) ([]string, error) {
	var super, createRole, auditOwner, dbOwner bool
	err := s.pool.QueryRow(ctx, `SELECT r.rolsuper, r.rolcreaterole,
  coalesce(pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass('public.audit_events')), 'MEMBER'), false),
  pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')
FROM pg_roles r WHERE r.rolname = current_user`).Scan(&super, &createRole, &auditOwner, &dbOwner)
	if err != nil {
		return nil, fmt.Errorf("read the privileges of the worker's role on %s: %w", describe(s.pool), err)
	}
	var out []string
	if super {
		out = append(out, "superuser: it can leave any sandbox and alter the audit trail")
	}
	if createRole {
		out = append(out, "CREATEROLE: it can grant itself pg_read_server_files and any role")
	}
	if auditOwner && !super {
		out = append(out, "owner (or a member of the owner) of audit_events: it can disable the append-only triggers")
	}
	if dbOwner && !super {
		out = append(out, "owner of the database")
	}
	return out, nil
}
