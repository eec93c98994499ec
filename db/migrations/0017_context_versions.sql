-- Every policy bundle and data catalog a worker loaded, content-addressed
-- (issue 13 item 4, ADR 0122): the version a signature records in its
-- execution_context names the content kept here, so any historical
-- execution_context can be loaded again after the files changed. A row is
-- never changed or removed; the database checks that the version is the
-- SHA-256 of the content (ADR 0021), so no row can hold content its
-- version does not name.

-- +goose Up
CREATE TABLE policy_bundles (
    -- policy_bundle_version: declared_version + '+' + 12 hex of SHA-256(content).
    version          text PRIMARY KEY,
    name             text NOT NULL CHECK (name <> ''),
    declared_version text NOT NULL CHECK (declared_version <> '' AND declared_version !~ '[+[:space:]]'),
    -- The canonical content the version is computed over (the JSON
    -- internal/policy hashes): the rules, approvers and lifecycle policy.
    content          bytea NOT NULL,
    -- What the bundle was loaded from (policy.Source without version and
    -- content): {"prefix", "files": {path: text}, "providers": [{"name",
    -- "version", "files"}]}. policy.FromSource loads it again and refuses
    -- it unless it gives this version and content.
    source           jsonb NOT NULL CHECK (jsonb_typeof(source) = 'object'),
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    recorded_by      text NOT NULL DEFAULT current_user,
    CONSTRAINT policy_bundles_version_names_content
        CHECK (version = declared_version || '+' || left(encode(sha256(content), 'hex'), 12))
);

CREATE TABLE catalog_snapshots (
    -- catalog_snapshot_version: 'catalog_' + 16 hex of SHA-256(content).
    version     text PRIMARY KEY,
    -- The canonical content: the JSON of the datasets in name order, which
    -- catalog.FromSource loads again.
    content     bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text NOT NULL DEFAULT current_user,
    CONSTRAINT catalog_snapshots_version_names_content
        CHECK (version = 'catalog_' || left(encode(sha256(content), 'hex'), 16))
);

-- +goose StatementBegin
CREATE FUNCTION context_versions_insert_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is insert-only: % is not allowed (a recorded version names its content for good)', TG_TABLE_NAME, TG_OP
        USING HINT = 'A changed bundle or catalog has a new version: record it beside the old one.';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER policy_bundles_insert_only
    BEFORE UPDATE OR DELETE ON policy_bundles
    FOR EACH ROW EXECUTE FUNCTION context_versions_insert_only();
CREATE TRIGGER policy_bundles_no_truncate
    BEFORE TRUNCATE ON policy_bundles
    FOR EACH STATEMENT EXECUTE FUNCTION context_versions_insert_only();
CREATE TRIGGER catalog_snapshots_insert_only
    BEFORE UPDATE OR DELETE ON catalog_snapshots
    FOR EACH ROW EXECUTE FUNCTION context_versions_insert_only();
CREATE TRIGGER catalog_snapshots_no_truncate
    BEFORE TRUNCATE ON catalog_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION context_versions_insert_only();

-- Privileges are a second fence for roles that do not own the tables.
REVOKE UPDATE, DELETE, TRUNCATE ON policy_bundles, catalog_snapshots FROM PUBLIC;

-- +goose Down
DROP TABLE catalog_snapshots;
DROP TABLE policy_bundles;
DROP FUNCTION context_versions_insert_only();
