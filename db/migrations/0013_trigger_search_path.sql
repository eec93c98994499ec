-- The control plane's trigger functions run as whoever writes the table (the
-- worker), with that session's search_path. Pinned, an unqualified table
-- name in them always means public's: a table of the same name in a schema
-- the writer creates, or a temporary one (searched first unless named),
-- cannot stand in for audit_chain_head or registry_snapshots (ADR 0114).

-- +goose Up
ALTER FUNCTION registry_snapshots_guard() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION registry_snapshot_rows_guard() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION audit_events_append_only() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION audit_events_extend_head() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION audit_chain_head_advance() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION execution_plans_immutable() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION skill_executions_immutable() SET search_path = pg_catalog, public, pg_temp;

-- +goose Down
ALTER FUNCTION skill_executions_immutable() RESET search_path;
ALTER FUNCTION execution_plans_immutable() RESET search_path;
ALTER FUNCTION audit_chain_head_advance() RESET search_path;
ALTER FUNCTION audit_events_extend_head() RESET search_path;
ALTER FUNCTION audit_events_append_only() RESET search_path;
ALTER FUNCTION registry_snapshot_rows_guard() RESET search_path;
ALTER FUNCTION registry_snapshots_guard() RESET search_path;
