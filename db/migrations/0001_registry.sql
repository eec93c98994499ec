-- Context Registry (whitepaper 5.9, 10): versioned, copy-on-write snapshots.
-- Each committed snapshot holds the full environment_state, so reading one
-- version never needs its ancestors. Committed snapshots are immutable.

-- +goose Up
CREATE TABLE registry_snapshots (
    version_id        uuid PRIMARY KEY,
    -- Commit order: assigned under the writer lock, so a larger seq always
    -- means a later commit. "Latest committed" is the committed row with the
    -- largest seq.
    seq               bigint NOT NULL UNIQUE GENERATED ALWAYS AS IDENTITY,
    parent_version_id uuid NULL REFERENCES registry_snapshots (version_id),
    status            text NOT NULL DEFAULT 'writing'
                          CONSTRAINT registry_snapshots_status_check CHECK (status IN ('writing', 'committed')),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    committed_at      timestamptz NULL,
    reason            text NOT NULL DEFAULT '',
    intent_id         text NULL,
    CONSTRAINT registry_snapshots_committed_at_check
        CHECK ((status = 'committed') = (committed_at IS NOT NULL))
);

-- The genesis snapshot: an empty, committed environment_state, so every
-- intent can record the version it consulted (I3, I8) even on a new install.
INSERT INTO registry_snapshots (version_id, parent_version_id, status, committed_at, reason)
VALUES ('00000000-0000-0000-0000-000000000000', NULL, 'committed', clock_timestamp(), 'genesis');

CREATE TABLE registry_dataset_states (
    version_id                uuid NOT NULL REFERENCES registry_snapshots (version_id) ON DELETE CASCADE,
    dataset                   text NOT NULL CHECK (dataset <> ''),
    state                     text NOT NULL
                                  CHECK (state IN ('committed', 'partially_committed', 'stale', 'quarantined', 'unknown')),
    publish_allowed           boolean NOT NULL DEFAULT false,
    last_successful_partition text NOT NULL DEFAULT '',
    pending_partitions        text[] NOT NULL DEFAULT '{}',
    quarantined_units         text[] NOT NULL DEFAULT '{}',
    updated_at                timestamptz NOT NULL,
    PRIMARY KEY (version_id, dataset),
    -- I7: a partially committed dataset is never published as trusted.
    CONSTRAINT registry_dataset_states_publish_check
        CHECK (NOT (state = 'partially_committed' AND publish_allowed))
);

-- execution_history is append-only: each snapshot stores the records its
-- projection added (a delta), not a copy of the whole history.
CREATE TABLE registry_execution_history (
    id                    bigserial PRIMARY KEY,
    version_id            uuid NOT NULL REFERENCES registry_snapshots (version_id) ON DELETE CASCADE,
    intent_id             text NOT NULL,
    outcome               text NOT NULL,
    consistency_unit      text NOT NULL DEFAULT '',
    ts                    timestamptz NOT NULL,
    policy_bundle_version text NOT NULL
);
CREATE INDEX registry_execution_history_version_idx ON registry_execution_history (version_id);

-- Snapshot rows: 'writing' rows may change or be removed (an abandoned
-- write); a committed row never changes. The only allowed update of a
-- snapshot row is the single writing -> committed transition.
-- +goose StatementBegin
CREATE FUNCTION registry_snapshots_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'registry snapshots are immutable once committed: TRUNCATE of % is not allowed', TG_TABLE_NAME
            USING HINT = 'Commit a new snapshot instead of removing old ones.';
    END IF;
    IF OLD.status = 'committed' THEN
        RAISE EXCEPTION 'registry snapshot % is committed and immutable: % is not allowed', OLD.version_id, TG_OP
            USING HINT = 'Commit a new snapshot whose parent is this one.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.version_id <> OLD.version_id OR NEW.seq <> OLD.seq
       OR NEW.parent_version_id IS DISTINCT FROM OLD.parent_version_id THEN
        RAISE EXCEPTION 'registry snapshot %: version_id, seq and parent_version_id never change', OLD.version_id;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER registry_snapshots_immutable
    BEFORE UPDATE OR DELETE ON registry_snapshots
    FOR EACH ROW EXECUTE FUNCTION registry_snapshots_guard();
CREATE TRIGGER registry_snapshots_no_truncate
    BEFORE TRUNCATE ON registry_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION registry_snapshots_guard();

-- Rows of a snapshot (datasets, history) can be written only while the
-- snapshot is 'writing'; once committed they are frozen with it.
-- +goose StatementBegin
CREATE FUNCTION registry_snapshot_rows_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v uuid;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'registry snapshots are immutable once committed: TRUNCATE of % is not allowed', TG_TABLE_NAME
            USING HINT = 'Commit a new snapshot instead of removing old ones.';
    END IF;
    FOREACH v IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.version_id]
        WHEN 'DELETE' THEN ARRAY[OLD.version_id]
        ELSE ARRAY[OLD.version_id, NEW.version_id] END
    LOOP
        IF EXISTS (SELECT 1 FROM registry_snapshots s WHERE s.version_id = v AND s.status = 'committed') THEN
            RAISE EXCEPTION 'registry snapshot % is committed and immutable: % on % is not allowed', v, TG_OP, TG_TABLE_NAME
                USING HINT = 'Commit a new snapshot whose parent is this one.';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER registry_dataset_states_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON registry_dataset_states
    FOR EACH ROW EXECUTE FUNCTION registry_snapshot_rows_guard();
CREATE TRIGGER registry_dataset_states_no_truncate
    BEFORE TRUNCATE ON registry_dataset_states
    FOR EACH STATEMENT EXECUTE FUNCTION registry_snapshot_rows_guard();
CREATE TRIGGER registry_execution_history_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON registry_execution_history
    FOR EACH ROW EXECUTE FUNCTION registry_snapshot_rows_guard();
CREATE TRIGGER registry_execution_history_no_truncate
    BEFORE TRUNCATE ON registry_execution_history
    FOR EACH STATEMENT EXECUTE FUNCTION registry_snapshot_rows_guard();

-- +goose Down
DROP TABLE registry_execution_history;
DROP TABLE registry_dataset_states;
DROP TABLE registry_snapshots;
DROP FUNCTION registry_snapshot_rows_guard();
DROP FUNCTION registry_snapshots_guard();
