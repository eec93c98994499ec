-- The context plane (issue 16 items 2 and 6, docs/adr/0147 and 0148): CFS
-- Records and Links as bitemporal versions. A version is never changed but
-- for closing its system interval once; a correction appends a version.
--
--   valid  [from, to): when the version was true in reality.
--   system [from, to): when the plane knew it. The server assigns from
--          (cfs_plane_now(): the clock at the transaction's first plane
--          write) and to is unbounded (NULL) until a
--          later version of the same id closes it.
--
-- canonical holds the CFS canonical bytes of the message as stored, so an
-- export is byte-exact; integrity is its SHA-256 with the integrity field
-- cleared (cfs.SetIntegrity). A Link's message carries its valid interval
-- and system = [from, forever): the interval as known when it was
-- asserted. A Record carries no interval: its valid interval is [commit
-- time, unbounded) until a later version truncates it (a "derived" copy of
-- the old bytes with valid [from, the new commit time), written by the
-- server and re-derived on import, so never exported).
--
-- Sync import (ADR 0148) keeps the source's system intervals: the insert
-- trigger honours a given system interval only inside
-- cfs_plane_import_record / cfs_plane_import_link, which run as the
-- tables' owner and set cfa.plane_import for the statement.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- This plane's identity: one row, a random id made by the migration.
CREATE TABLE cfs_plane (
    plane_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    singleton  boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO cfs_plane DEFAULT VALUES;

-- One row per commit: a registry snapshot (commit_id = its version_id), an
-- applied proposal, a skill transition, or a commit imported from another
-- plane (source_plane is the plane it was first written on).
CREATE TABLE cfs_commits (
    commit_id    text PRIMARY KEY CHECK (commit_id <> ''),
    commit_time  timestamptz NOT NULL,
    source_plane text NOT NULL CHECK (source_plane <> ''),
    reason       text NOT NULL DEFAULT '',
    actor        text NOT NULL DEFAULT ''
);

-- The last cursor imported from each source plane, written in the
-- transaction of the batch it ends: an interrupted sync resumes from it.
CREATE TABLE cfs_sync_cursors (
    source_plane text PRIMARY KEY CHECK (source_plane <> ''),
    cursor       text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Commit order across records and links: export streams versions by seq.
CREATE SEQUENCE cfs_plane_seq;

CREATE TABLE cfs_record_versions (
    seq        bigint PRIMARY KEY DEFAULT nextval('cfs_plane_seq'),
    record_id  text NOT NULL CHECK (record_id <> ''),
    tenant_id  text NOT NULL,
    labels     text[] NOT NULL,
    props      jsonb NOT NULL CHECK (jsonb_typeof(props) = 'object'),
    created_at timestamptz,
    integrity  bytea NOT NULL CHECK (length(integrity) = 32),
    canonical  bytea NOT NULL,
    valid      tstzrange NOT NULL CHECK (NOT isempty(valid) AND NOT lower_inf(valid)),
    system     tstzrange NOT NULL CHECK (NOT isempty(system) AND NOT lower_inf(system)),
    commit_id  text NOT NULL REFERENCES cfs_commits (commit_id),
    derived    boolean NOT NULL DEFAULT false,
    CONSTRAINT cfs_record_versions_no_overlap
        EXCLUDE USING gist (record_id WITH =, system WITH &&, valid WITH &&)
);
CREATE INDEX cfs_record_versions_current ON cfs_record_versions (record_id) WHERE upper_inf(system);

CREATE TABLE cfs_link_versions (
    seq          bigint PRIMARY KEY DEFAULT nextval('cfs_plane_seq'),
    link_id      text NOT NULL CHECK (link_id <> ''),
    type         text NOT NULL,
    source       text NOT NULL,
    target       text NOT NULL,
    props        jsonb NOT NULL CHECK (jsonb_typeof(props) = 'object'),
    assertion_id text NOT NULL,
    integrity    bytea NOT NULL CHECK (length(integrity) = 32),
    canonical    bytea NOT NULL,
    valid        tstzrange NOT NULL CHECK (NOT isempty(valid) AND NOT lower_inf(valid)),
    system       tstzrange NOT NULL CHECK (NOT isempty(system) AND NOT lower_inf(system)),
    commit_id    text NOT NULL REFERENCES cfs_commits (commit_id),
    CONSTRAINT cfs_link_versions_no_overlap
        EXCLUDE USING gist (link_id WITH =, system WITH &&, valid WITH &&)
);
CREATE INDEX cfs_link_versions_current ON cfs_link_versions (link_id) WHERE upper_inf(system);

-- +goose StatementBegin
-- The plane's time for this transaction: the server clock at its first
-- call, kept for the rest of the transaction, so every version it writes
-- shares one system time and Go seals with the time the trigger assigns.
-- Not now(): a writer that waited on a row lock must not write "before"
-- the version it replaces. A value set by hand is kept only if it lies
-- between the transaction's start and the clock: still the server's time.
CREATE FUNCTION cfs_plane_now() RETURNS timestamptz
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text := current_setting('cfa.plane_now', true);
    t timestamptz;
BEGIN
    IF v IS NOT NULL AND v <> '' THEN
        t := v::timestamptz;
        IF t >= now() AND t <= clock_timestamp() THEN
            RETURN t;
        END IF;
    END IF;
    t := date_trunc('microseconds', clock_timestamp());
    PERFORM set_config('cfa.plane_now', t::text, true);
    RETURN t;
END;
$$;

-- System time is the server's: [cfs_plane_now(), unbounded), except
-- inside the owner's import functions (ADR 0148).
CREATE FUNCTION cfs_plane_assign_system() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF current_setting('cfa.plane_import', true) = 'on'
       AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID) THEN
        IF NEW.system IS NULL OR lower_inf(NEW.system) OR NOT upper_inf(NEW.system) THEN
            RAISE EXCEPTION '%: an imported version enters with system [commit_time, unbounded)', TG_TABLE_NAME;
        END IF;
    ELSE
        NEW.system := tstzrange(cfs_plane_now(), NULL, '[)');
    END IF;
    RETURN NEW;
END;
$$;

-- An update may only close an open system interval, at a time after it
-- opened and not after the clock; nothing else of a version ever changes.
CREATE FUNCTION cfs_plane_close_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF to_jsonb(NEW) - 'system' IS DISTINCT FROM to_jsonb(OLD) - 'system' THEN
        RAISE EXCEPTION '%: a version is append-only: only its system interval may close (MUST-004)', TG_TABLE_NAME
            USING HINT = 'Append a new version instead.';
    END IF;
    IF NEW.system = OLD.system THEN
        RETURN NEW;
    END IF;
    IF NOT upper_inf(OLD.system) THEN
        RAISE EXCEPTION '%: system interval % is closed: it never reopens or moves (MUST-004)', TG_TABLE_NAME, OLD.system;
    END IF;
    IF isempty(NEW.system) OR lower(NEW.system) <> lower(OLD.system) OR upper_inf(NEW.system)
       OR upper(NEW.system) <= lower(OLD.system) OR upper(NEW.system) > clock_timestamp() THEN
        RAISE EXCEPTION '%: system interval % may only close after % and not after now (MUST-004), not become %',
            TG_TABLE_NAME, OLD.system, lower(OLD.system), NEW.system;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION cfs_plane_no_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed (MUST-004)', TG_TABLE_NAME, TG_OP
        USING HINT = 'Correct with a new version; retract a link with a version whose valid interval ends.';
END;
$$;

-- Sync import (ADR 0148): the one way to insert with a given system
-- interval. It runs as the owner, so the insert trigger honours it.
CREATE FUNCTION cfs_plane_import_record(p_record_id text, p_tenant_id text, p_labels text[], p_props jsonb,
    p_created_at timestamptz, p_integrity bytea, p_canonical bytea, p_valid tstzrange, p_system tstzrange,
    p_commit_id text, p_derived boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM set_config('cfa.plane_import', 'on', true);
    INSERT INTO cfs_record_versions (record_id, tenant_id, labels, props, created_at, integrity, canonical, valid, system, commit_id, derived)
    VALUES (p_record_id, p_tenant_id, p_labels, p_props, p_created_at, p_integrity, p_canonical, p_valid, p_system, p_commit_id, p_derived);
    PERFORM set_config('cfa.plane_import', 'off', true);
END;
$$;

CREATE FUNCTION cfs_plane_import_link(p_link_id text, p_type text, p_source text, p_target text, p_props jsonb,
    p_assertion_id text, p_integrity bytea, p_canonical bytea, p_valid tstzrange, p_system tstzrange,
    p_commit_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM set_config('cfa.plane_import', 'on', true);
    INSERT INTO cfs_link_versions (link_id, type, source, target, props, assertion_id, integrity, canonical, valid, system, commit_id)
    VALUES (p_link_id, p_type, p_source, p_target, p_props, p_assertion_id, p_integrity, p_canonical, p_valid, p_system, p_commit_id);
    PERFORM set_config('cfa.plane_import', 'off', true);
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER cfs_record_versions_system BEFORE INSERT ON cfs_record_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_assign_system();
CREATE TRIGGER cfs_record_versions_close_only BEFORE UPDATE ON cfs_record_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_close_only();
CREATE TRIGGER cfs_record_versions_no_delete BEFORE DELETE ON cfs_record_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_no_delete();
CREATE TRIGGER cfs_record_versions_no_truncate BEFORE TRUNCATE ON cfs_record_versions
    FOR EACH STATEMENT EXECUTE FUNCTION cfs_plane_no_delete();
CREATE TRIGGER cfs_link_versions_system BEFORE INSERT ON cfs_link_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_assign_system();
CREATE TRIGGER cfs_link_versions_close_only BEFORE UPDATE ON cfs_link_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_close_only();
CREATE TRIGGER cfs_link_versions_no_delete BEFORE DELETE ON cfs_link_versions
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_no_delete();
CREATE TRIGGER cfs_link_versions_no_truncate BEFORE TRUNCATE ON cfs_link_versions
    FOR EACH STATEMENT EXECUTE FUNCTION cfs_plane_no_delete();
CREATE TRIGGER cfs_commits_no_delete BEFORE UPDATE OR DELETE ON cfs_commits
    FOR EACH ROW EXECUTE FUNCTION cfs_plane_no_delete();
CREATE TRIGGER cfs_commits_no_truncate BEFORE TRUNCATE ON cfs_commits
    FOR EACH STATEMENT EXECUTE FUNCTION cfs_plane_no_delete();

REVOKE UPDATE, DELETE, TRUNCATE ON cfs_record_versions, cfs_link_versions, cfs_commits FROM PUBLIC;
REVOKE ALL ON FUNCTION cfs_plane_import_record(text, text, text[], jsonb, timestamptz, bytea, bytea, tstzrange, tstzrange, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION cfs_plane_import_link(text, text, text, text, jsonb, text, bytea, bytea, tstzrange, tstzrange, text) FROM PUBLIC;

-- +goose Down
DROP TABLE cfs_link_versions;
DROP TABLE cfs_record_versions;
DROP SEQUENCE cfs_plane_seq;
DROP TABLE cfs_sync_cursors;
DROP TABLE cfs_commits;
DROP TABLE cfs_plane;
DROP FUNCTION cfs_plane_import_link(text, text, text, text, jsonb, text, bytea, bytea, tstzrange, tstzrange, text);
DROP FUNCTION cfs_plane_import_record(text, text, text[], jsonb, timestamptz, bytea, bytea, tstzrange, tstzrange, text, boolean);
DROP FUNCTION cfs_plane_no_delete();
DROP FUNCTION cfs_plane_close_only();
DROP FUNCTION cfs_plane_assign_system();
DROP FUNCTION cfs_plane_now();
