package db_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the SQL block of docs/roles.md from db.RolesSQL")

// requireDenied runs each statement after setup in a transaction of its
// own, rolled back, on conn, and wants SQLSTATE code.
func requireDenied(t *testing.T, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, setup []string, code string, statements map[string]string) {
	t.Helper()
	ctx := context.Background()
	for name, sql := range statements {
		t.Run(name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			for _, s := range setup {
				_, err := tx.Exec(ctx, s)
				require.NoError(t, err, s)
			}
			_, err = tx.Exec(ctx, sql)
			requireState(t, err, code, sql)
		})
	}
}

func requireState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "%s: want SQLSTATE %s, got %v", what, code, err)
	require.Equal(t, code, pgErr.Code, "%s: %s", what, pgErr.Message)
}

func queryString(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql string) string {
	t.Helper()
	var s string
	require.NoError(t, q.QueryRow(context.Background(), sql).Scan(&s), sql)
	return s
}

// TestSandboxCannotRegainTheOwner is finding 7 of issue 10: a unit's
// session logs in as the sandbox login and SETs ROLE to its plan's role;
// nothing it can run there gives it the worker, the owner or a superuser
// back. RESET ROLE returns to the sandbox login, which holds nothing.
func TestSandboxCannotRegainTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_sandbox")
	worker := db.New(d.Worker)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	require.NoError(t, worker.EnsureDataPlane(ctx, cat))
	require.NoError(t, worker.SeedDataPlane(ctx, cat, dataplane.Options{RowsPerPartition: 10, ClientCount: 5}))
	role, err := worker.EnsureSandboxRole(ctx, cat, dataplane.Scope{Target: "silver_documentos", Sources: []string{"clientes", "nfe"}})
	require.NoError(t, err)
	plan := "SET LOCAL ROLE " + pgx.Identifier{role}.Sanitize()
	superuser := queryString(t, d.Pool, "SELECT current_user")

	cfg, err := pgxpool.ParseConfig(d.SandboxURL)
	require.NoError(t, err)
	sandbox, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(sandbox.Close)
	require.Equal(t, db.DefaultRoles.Sandbox, queryString(t, sandbox, "SELECT session_user::text"))

	t.Run("the plan's role reads its sources and writes its staging", func(t *testing.T) {
		tx, err := sandbox.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, plan)
		require.NoError(t, err)
		require.Equal(t, role, queryString(t, tx, "SELECT current_user::text"))
		require.Equal(t, "30", queryString(t, tx, "SELECT count(*)::text FROM bronze.nfe"))
	})
	t.Run("RESET ROLE gives back the sandbox login only", func(t *testing.T) {
		for _, reset := range []string{"RESET ROLE", "SET LOCAL ROLE NONE", "SELECT set_config('role', 'none', true)", "RESET SESSION AUTHORIZATION"} {
			tx, err := sandbox.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, plan)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, reset)
			require.NoError(t, err, reset)
			require.Equal(t, db.DefaultRoles.Sandbox, queryString(t, tx, "SELECT current_user::text"), reset)
			require.NoError(t, tx.Rollback(ctx))
		}
		// What the sandbox login holds by itself: nothing of the plan's
		// roles (NOINHERIT), nothing of the worker's or the owner's.
		requireDenied(t, sandbox, []string{plan, "RESET ROLE"}, "42501", map[string]string{
			"read a source":            "SELECT count(*) FROM bronze.nfe",
			"write its staging":        "INSERT INTO staging.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')",
			"read the audit trail":     "SELECT count(*) FROM public.audit_events",
			"append to the audit":      "INSERT INTO public.audit_events (position) VALUES (1)",
			"write a layer table":      "INSERT INTO silver.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')",
			"read the registry":        "SELECT count(*) FROM public.registry_snapshots",
			"create a table in public": "CREATE TABLE public.escape (x int)",
			"create a temporary table": "CREATE TEMP TABLE escape (x int)",
			"create a schema":          "CREATE SCHEMA escape",
		})
	})
	t.Run("no way to the worker, the owner or a superuser", func(t *testing.T) {
		for _, from := range []struct {
			name  string
			setup []string
		}{{"from the plan's role", []string{plan}}, {"after RESET ROLE", []string{plan, "RESET ROLE"}}} {
			t.Run(from.name, func(t *testing.T) {
				requireDenied(t, sandbox, from.setup, "42501", map[string]string{
					"SET SESSION AUTHORIZATION a superuser":   "SET SESSION AUTHORIZATION " + pgx.Identifier{superuser}.Sanitize(),
					"SET SESSION AUTHORIZATION the worker":    "SET SESSION AUTHORIZATION " + db.DefaultRoles.Worker,
					"SET ROLE the worker":                     "SET ROLE " + db.DefaultRoles.Worker,
					"SET ROLE the owner":                      "SET ROLE " + db.DefaultRoles.Owner,
					"SET ROLE the sandbox admin":              "SET ROLE " + db.DefaultRoles.Admin,
					"SET ROLE a superuser":                    "SET ROLE " + pgx.Identifier{superuser}.Sanitize(),
					"SET ROLE pg_read_server_files":           "SET ROLE pg_read_server_files",
					"set_config role to the owner":            "SELECT set_config('role', '" + db.DefaultRoles.Owner + "', true)",
					"grant itself the worker":                 "GRANT " + db.DefaultRoles.Worker + " TO " + db.DefaultRoles.Sandbox,
					"grant itself pg_read_server_files":       "GRANT pg_read_server_files TO " + db.DefaultRoles.Sandbox,
					"make a role":                             "CREATE ROLE escape",
					"call the sandbox role function":          "SELECT " + dataplane.EnsureRoleFunction + "('" + role + "')",
					"read a server file":                      "SELECT pg_read_file('/etc/hostname')",
					"run a program":                           "COPY (SELECT 1) TO PROGRAM 'true'",
					"replica mode (triggers off)":             "SET session_replication_role = replica",
					"read the audit trail":                    "SELECT count(*) FROM public.audit_events",
					"write a layer table":                     "INSERT INTO silver.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')",
					"disable row security on its staging":     "ALTER TABLE staging.silver_documentos DISABLE ROW LEVEL SECURITY",
					"move the chain head":                     "UPDATE public.audit_chain_head SET position = 0",
					"publish a partition":                     "INSERT INTO public.cfa_publication VALUES ('silver_documentos', '2026-01-01', 'published', 'x')",
					"drop the target":                         "DROP TABLE silver.silver_documentos",
					"truncate a source":                       "TRUNCATE bronze.nfe",
					"change the worker's password":            "ALTER ROLE " + db.DefaultRoles.Worker + " PASSWORD 'x'",
					"change a source's row security":          "DROP POLICY cfa_unit_partition ON bronze.nfe",
					"read the worker's data plane quarantine": "SELECT count(*) FROM quarantine.silver_documentos",
				})
			})
		}
	})
	t.Run("a script run by the store's sandbox", func(t *testing.T) {
		target, _ := cat.Get("silver_documentos")
		run := func(script string) (db.UnitRunResult, error) {
			return worker.RunUnit(ctx, db.UnitRun{Target: target, Role: role, Script: script,
				Unit: dataplane.Unit{IntentID: "intent-escape", Key: "2026-01-01", Partition: "2026-01-01"}})
		}
		res, err := run("INSERT INTO staging.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')")
		require.NoError(t, err, "a unit writes its staging")
		require.Equal(t, int64(1), res.Metrics.Rows)
		for _, script := range []string{
			"RESET ROLE; DELETE FROM public.audit_events",
			"RESET ROLE; SELECT count(*) FROM public.audit_events",
			"RESET ROLE; INSERT INTO silver.silver_documentos (nfe_id, processing_date) VALUES ('x', '2026-01-01')",
			"SET SESSION AUTHORIZATION " + pgx.Identifier{superuser}.Sanitize() + "; DELETE FROM public.audit_events",
			"SET ROLE " + db.DefaultRoles.Worker + "; ALTER TABLE public.audit_events DISABLE TRIGGER ALL",
		} {
			_, err := run(script)
			requireState(t, err, "42501", script)
		}
		require.Equal(t, db.DefaultRoles.Sandbox, worker.SandboxUser())
	})
}

// TestWorkerCannotDisableTheAuditTriggers is finding 7 of issue 10: the
// worker's role appends to the audit trail through the normal append and
// can neither alter, disable, drop nor delete what guards it.
func TestWorkerCannotDisableTheAuditTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_audit_roles")
	worker := db.New(d.Worker)

	var super, createRole bool
	require.NoError(t, d.Worker.QueryRow(ctx, "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&super, &createRole))
	require.False(t, super)
	require.False(t, createRole)
	require.Equal(t, db.DefaultRoles.Owner, queryString(t, d.Pool, "SELECT tableowner::text FROM pg_tables WHERE tablename = 'audit_events'"))
	warnings, err := worker.PrivilegeWarnings(ctx)
	require.NoError(t, err)
	require.Empty(t, warnings)

	// The normal append works, and extends the chain the head records.
	for seq := int64(1); seq <= 3; seq++ {
		_, err := worker.AppendAudit(ctx, event("intent-worker-role", seq))
		require.NoError(t, err)
	}
	chain, err := worker.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.Len(t, chain, 3)
	pos, integrity, err := worker.AuditHead(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.VerifyHead(chain, pos, integrity))

	requireDenied(t, d.Worker, nil, "42501", map[string]string{
		"disable the append-only trigger":   "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
		"disable every trigger":             "ALTER TABLE audit_events DISABLE TRIGGER ALL",
		"disable the chain trigger":         "ALTER TABLE audit_events DISABLE TRIGGER audit_events_extend_head",
		"disable the head's trigger":        "ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_advance",
		"drop the append-only trigger":      "DROP TRIGGER audit_events_no_update_delete ON audit_events",
		"drop the truncate trigger":         "DROP TRIGGER audit_events_no_truncate ON audit_events",
		"replace the trigger function":      "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$",
		"add a trigger":                     "CREATE TRIGGER escape BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
		"replica mode (triggers off)":       "SET session_replication_role = replica",
		"delete an event":                   "DELETE FROM audit_events",
		"update an event":                   "UPDATE audit_events SET outcome = 'x'",
		"truncate the trail":                "TRUNCATE audit_events",
		"truncate the head":                 "TRUNCATE audit_chain_head",
		"delete the head":                   "DELETE FROM audit_chain_head",
		"take the table":                    "ALTER TABLE audit_events OWNER TO " + db.DefaultRoles.Worker,
		"drop the table":                    "DROP TABLE audit_events",
		"become the owner":                  "SET ROLE " + db.DefaultRoles.Owner,
		"grant itself the owner":            "GRANT " + db.DefaultRoles.Owner + " TO " + db.DefaultRoles.Worker,
		"grant itself pg_read_server_files": "GRANT pg_read_server_files TO " + db.DefaultRoles.Worker,
		"create a role":                     "CREATE ROLE escape",
		"shadow the head with a temp table": "CREATE TEMP TABLE audit_chain_head (id boolean, position bigint, integrity bytea)",
		"disable the registry's guard":      "ALTER TABLE registry_snapshots DISABLE TRIGGER registry_snapshots_immutable",
		"rewrite the goose version table":   "DELETE FROM goose_db_version",
	})
	requireDenied(t, d.Worker, nil, "22023", map[string]string{
		"have the admin make it a sandbox role": "SELECT " + dataplane.EnsureRoleFunction + "('" + db.DefaultRoles.Worker + "')",
	})
	requireDenied(t, d.Worker, nil, "P0001", map[string]string{
		"move the head back": "UPDATE audit_chain_head SET position = position - 1",
	})

	t.Run("the triggers ignore a table that shadows the head", func(t *testing.T) {
		// Even a role that may create temporary tables (a superuser here)
		// cannot make the append trigger read a fake head: its search_path
		// is pinned (migration 0013).
		tx, err := d.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `CREATE TEMP TABLE audit_chain_head (id boolean, position bigint, integrity bytea);
INSERT INTO audit_chain_head VALUES (true, 99, decode(repeat('ab', 32), 'hex'))`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO public.audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
VALUES (100, 'fake', 'fake', 1, 'X', 'x', 'SYSTEM', 'READ', now(), '{}', decode(repeat('ab', 32), 'hex'), decode(repeat('cd', 32), 'hex'))`)
		require.ErrorContains(t, err, "must take chain position 4, not 100")
	})
}

// TestTheSandboxRoleFunctionMakesOnlySandboxRoles: what the worker may ask
// of the CREATEROLE function is a NOLOGIN NOINHERIT role of its own
// database, granted to the sandbox login, and nothing else.
func TestTheSandboxRoleFunctionMakesOnlySandboxRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_role_fn")
	prefix := dataplane.SandboxRolePrefix(d.Name)
	good := prefix + "silver_documentos_0123abcd"
	_, err := d.Worker.Exec(ctx, "SELECT "+dataplane.EnsureRoleFunction+"($1)", good)
	require.NoError(t, err)
	_, err = d.Worker.Exec(ctx, "SELECT "+dataplane.EnsureRoleFunction+"($1)", good)
	require.NoError(t, err, "a second call is a no-op")
	var login, inherit, member bool
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT rolcanlogin, rolinherit, pg_has_role($2, oid, 'MEMBER') FROM pg_roles WHERE rolname = $1`,
		good, db.DefaultRoles.Sandbox).Scan(&login, &inherit, &member))
	require.False(t, login)
	require.False(t, inherit)
	require.True(t, member, "the sandbox login may SET ROLE to it")
	require.False(t, queryBool(t, d.Pool, "SELECT pg_has_role('"+db.DefaultRoles.Worker+"', '"+good+"', 'MEMBER')"), "the worker is not a member")

	otherDB := dataplane.SandboxRolePrefix(d.Name+"_other") + "silver_documentos_0123abcd"
	for name, arg := range map[string]string{
		"the worker":              db.DefaultRoles.Worker,
		"the owner":               db.DefaultRoles.Owner,
		"a Postgres role":         "pg_read_server_files",
		"another database's role": otherDB,
		"a name with a quote":     prefix + "x\"_0123abcd",
		"no name":                 "",
	} {
		_, err := d.Worker.Exec(ctx, "SELECT "+dataplane.EnsureRoleFunction+"($1)", arg)
		requireState(t, err, "22023", name)
	}
	// A role of the right name made otherwise (by a superuser) is not taken.
	planted := prefix + "planted_0123abcd"
	_, err = d.Pool.Exec(ctx, "CREATE ROLE "+planted+" LOGIN")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = d.Pool.Exec(context.Background(), "DROP ROLE IF EXISTS "+planted) })
	_, err = d.Worker.Exec(ctx, "SELECT "+dataplane.EnsureRoleFunction+"($1)", planted)
	requireState(t, err, "42501", "a LOGIN role")
}

func queryBool(t *testing.T, q *pgxpool.Pool, sql string) bool {
	t.Helper()
	var b bool
	require.NoError(t, q.QueryRow(context.Background(), sql).Scan(&b), sql)
	return b
}

// TestEveryControlPlaneTableHasWorkerGrants: a table a migration adds is
// owned by the owner, and the worker may do nothing to it until
// workerGrants says what: this test names it first.
func TestEveryControlPlaneTableHasWorkerGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rows, err := testDB.Pool.Query(ctx, `SELECT c.relname::text, has_table_privilege($1, c.oid, 'SELECT')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND pg_get_userbyid(c.relowner) = $2 ORDER BY 1`, db.DefaultRoles.Worker, db.DefaultRoles.Owner)
	require.NoError(t, err)
	var ungranted []string
	n := 0
	for rows.Next() {
		var table string
		var granted bool
		require.NoError(t, rows.Scan(&table, &granted))
		n++
		if !granted {
			ungranted = append(ungranted, table)
		}
	}
	require.NoError(t, rows.Err())
	require.Positive(t, n)
	require.Empty(t, ungranted, "tables the worker cannot read: add them to workerGrants in db/roles.go")
}

func TestRolesValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, db.DefaultRoles.Validate())
	for name, r := range map[string]db.Roles{
		"uppercase":        {Owner: "Owner", Worker: "w", Sandbox: "s", Admin: "a"},
		"a quote":          {Owner: `o"; DROP ROLE x; --`, Worker: "w", Sandbox: "s", Admin: "a"},
		"empty":            {Owner: "", Worker: "w", Sandbox: "s", Admin: "a"},
		"twice":            {Owner: "o", Worker: "o", Sandbox: "s", Admin: "a"},
		"reserved":         {Owner: "pg_owner", Worker: "w", Sandbox: "s", Admin: "a"},
		"public":           {Owner: "o", Worker: "public", Sandbox: "s", Admin: "a"},
		"a sandbox role's": {Owner: "o", Worker: "w", Sandbox: "cfa_sbx_s", Admin: "a"},
	} {
		require.Error(t, r.Validate(), name)
		_, err := db.RolesSQL(r)
		require.Error(t, err, name)
	}
}

// TestRolesDocShowsTheSQL: docs/roles.md shows the SQL `cfa roles sql`
// prints for the default roles (go test ./db -run RolesDoc -update-docs
// rewrites it).
func TestRolesDocShowsTheSQL(t *testing.T) {
	t.Parallel()
	const path = "../docs/roles.md"
	sql, err := db.RolesSQL(db.DefaultRoles)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(b)
	const begin, end = "<!-- roles.sql begin -->\n```sql\n", "```\n<!-- roles.sql end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "docs/roles.md has no %q ... %q block", begin, end)
	if *updateDocs {
		doc = doc[:i+len(begin)] + sql + doc[j:]
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		j = i + len(begin) + len(sql)
	}
	require.Equal(t, sql, doc[i+len(begin):j], "docs/roles.md is stale: go test ./db -run TestRolesDocShowsTheSQL -update-docs")
}

// TestTheUpgradeRecipeHandsAnOldDatabaseOver runs the SQL docs/roles.md
// gives for a database created before ADR 0114 (one login owning
// everything) and checks that the worker then starts on it with nothing
// more than its role.
func TestTheUpgradeRecipeHandsAnOldDatabaseOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.NewEmpty(t, "db_upgrade")
	p, err := db.NewMigrationProvider(d.Pool)
	require.NoError(t, err)
	defer p.Close()
	_, err = p.UpTo(ctx, 12) // the last migration before the roles, as the superuser
	require.NoError(t, err)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))

	b, err := os.ReadFile("../docs/roles.md")
	require.NoError(t, err)
	doc := string(b)
	i := strings.Index(doc, "  ```sql\n  DO $$")
	j := strings.Index(doc, "  END $$;\n  ```")
	require.True(t, i >= 0 && j > i, "docs/roles.md has the upgrade recipe")
	recipe := strings.ReplaceAll(doc[i+len("  ```sql\n"):j+len("  END $$;")], "\n  ", "\n")
	_, err = d.Pool.Exec(ctx, strings.TrimPrefix(recipe, "  "))
	require.NoError(t, err, recipe)
	require.NoError(t, db.MigrateURL(ctx, d.URL, db.DefaultRoles))

	worker := db.New(d.Worker)
	require.NoError(t, worker.CheckSchema(ctx))
	require.NoError(t, worker.CheckSandbox(ctx))
	warnings, err := worker.PrivilegeWarnings(ctx)
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.NoError(t, worker.EnsureDataPlane(ctx, cat))
	_, err = worker.EnsureSandboxRole(ctx, cat, dataplane.Scope{Target: "silver_documentos", Sources: []string{"clientes", "nfe"}})
	require.NoError(t, err)
	_, err = worker.AppendAudit(ctx, event("intent-upgraded", 1))
	require.NoError(t, err)
	require.Equal(t, db.DefaultRoles.Owner, queryString(t, d.Pool, "SELECT tableowner::text FROM pg_tables WHERE tablename = 'audit_events'"))
	_, err = d.Worker.Exec(ctx, "ALTER TABLE audit_events DISABLE TRIGGER ALL")
	requireState(t, err, "42501", "the worker disables the audit triggers")
}

// TestMigrationsRunAsTheOwnerOnly: the worker does not migrate and refuses
// a schema that lacks a migration, naming it; only a superuser or a member
// of the owner role migrates, and the error says what to do otherwise.
func TestMigrationsRunAsTheOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.NewEmpty(t, "db_migrate_roles")

	worker := db.New(d.Worker)
	err := worker.CheckSchema(ctx)
	require.ErrorIs(t, err, db.ErrSchemaNotCurrent)
	require.ErrorContains(t, err, "lacks migration 1, 2,")
	require.ErrorContains(t, err, "run `cfa migrate` as the schema owner")

	err = db.MigrateURL(ctx, d.WorkerURL, db.DefaultRoles)
	require.ErrorContains(t, err, "log in as a superuser or a member of cfa_owner")
	err = db.MigrateURL(ctx, d.URL, db.Roles{Owner: "cfa_nobody", Worker: "cfa_worker", Sandbox: "cfa_sandbox", Admin: "cfa_sandbox_admin"})
	require.ErrorContains(t, err, "run `cfa roles setup` as a superuser first")

	p, err := db.NewMigrationProvider(d.Pool)
	require.NoError(t, err)
	defer p.Close()
	_, err = p.UpTo(ctx, 12) // as the superuser, who grants the worker nothing
	require.NoError(t, err)
	err = worker.CheckSchema(ctx)
	require.ErrorIs(t, err, db.ErrSchemaNotCurrent)
	require.ErrorContains(t, err, "may not read the migrations' version table")
	_, err = d.Pool.Exec(ctx, "GRANT SELECT ON goose_db_version TO "+db.DefaultRoles.Worker)
	require.NoError(t, err)
	err = worker.CheckSchema(ctx)
	require.ErrorIs(t, err, db.ErrSchemaNotCurrent)
	require.ErrorContains(t, err, "lacks migration 13, 14")
}

// TestAnUnconfinedSandboxLoginIsRefused: the worker checks the sandbox
// login before any unit runs on it (as cmd/cfa-worker does at start).
func TestAnUnconfinedSandboxLoginIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func(sandboxURL string) error {
		s, err := db.Open(ctx, testDB.WorkerURL, db.SandboxLogin{URL: sandboxURL})
		if err != nil {
			return err
		}
		defer s.Close()
		return s.CheckSandbox(ctx)
	}
	require.NoError(t, open(testDB.SandboxURL))
	require.NoError(t, open(""), "the default: the worker's server and database as cfa_sandbox")

	err := open(testDB.URL)
	require.ErrorIs(t, err, db.ErrSandboxLogin)
	require.ErrorContains(t, err, "is a superuser")

	// A login that could SET ROLE to the worker, and inherits.
	login := "cfa_test_login_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))[:20]
	_, err = testDB.Pool.Exec(ctx, "DROP ROLE IF EXISTS "+login+"; CREATE ROLE "+login+" LOGIN INHERIT IN ROLE "+db.DefaultRoles.Worker)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = testDB.Pool.Exec(context.Background(), "DROP ROLE IF EXISTS "+login) })
	u := strings.Replace(testDB.SandboxURL, db.DefaultRoles.Sandbox+"@", login+"@", 1)
	err = open(u)
	require.ErrorIs(t, err, db.ErrSandboxLogin)
	require.ErrorContains(t, err, "is a member of "+db.DefaultRoles.Worker)
	require.ErrorContains(t, err, "inherits")
}

// TestRolesSetUpConcurrently: test packages (and workers of a fresh
// deployment) set the server's roles up at the same time, each in a
// database of its own; every one succeeds, and so does a second run.
func TestRolesSetUpConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	suffix := strings.TrimPrefix(testDB.Name, "cfa_test_db_")
	roles := db.Roles{Owner: "cfa_t_owner_" + suffix, Worker: "cfa_t_worker_" + suffix, Sandbox: "cfa_t_sandbox_" + suffix, Admin: "cfa_t_admin_" + suffix}
	var urls []string
	for i := range 4 {
		name := fmt.Sprintf("%s_roles%d", testDB.Name, i)
		_, err := testDB.Pool.Exec(ctx, "CREATE DATABASE "+name)
		require.NoError(t, err)
		urls = append(urls, strings.Replace(testDB.URL, "/"+testDB.Name+"?", "/"+name+"?", 1))
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for i := range urls {
			_, _ = testDB.Pool.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s_roles%d WITH (FORCE)", testDB.Name, i))
		}
		for _, r := range []string{roles.Owner, roles.Worker, roles.Sandbox, roles.Admin} {
			_, _ = testDB.Pool.Exec(ctx, "DROP ROLE IF EXISTS "+r)
		}
	})
	for range 2 {
		errs := make(chan error, len(urls))
		for _, u := range urls {
			go func() { errs <- db.SetupRoles(ctx, u, roles) }()
		}
		for range urls {
			require.NoError(t, <-errs)
		}
	}
}
