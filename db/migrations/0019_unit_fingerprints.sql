-- What each attempt of a consistency unit read and wrote, in short (issue
-- 13 item 4, docs/adr/0128): the row count and SHA-256 of its staged
-- output, and of every source as its sandbox role saw it (the unit's
-- partition of a partitioned source). `cfa replay --execute` runs the
-- unit's recorded code again and compares; a source whose fingerprint
-- changed since cannot be read as of then, and the unit is not compared.
-- A row is evidence: written once, never changed or removed.

-- +goose Up
CREATE TABLE unit_fingerprints (
    intent_id             text NOT NULL CHECK (intent_id <> ''),
    unit_key              text NOT NULL CHECK (unit_key <> ''),
    -- Temporal's attempt of the unit's activity: unique per attempt, so a
    -- retry after a lost worker records its own row.
    attempt               integer NOT NULL CHECK (attempt >= 1),
    -- The signature whose planning record holds the code that ran.
    intent_signature_hash text NOT NULL CHECK (intent_signature_hash ~ '^[0-9a-f]{64}$'),
    code_hash             text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    -- The partition the unit was narrowed to; '' for a unit of a whole dataset.
    unit_partition        text NOT NULL DEFAULT '',
    output_rows           bigint NOT NULL CHECK (output_rows >= 0),
    output_sha256         text NOT NULL CHECK (output_sha256 ~ '^[0-9a-f]{64}$'),
    -- [{"dataset", "partition", "rows", "sha256"}], sorted by dataset.
    inputs                jsonb NOT NULL CHECK (jsonb_typeof(inputs) = 'array'),
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (intent_id, unit_key, attempt)
);

-- +goose StatementBegin
CREATE FUNCTION unit_fingerprints_insert_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'unit_fingerprints is insert-only: % is not allowed (a fingerprint is evidence for I8)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER unit_fingerprints_insert_only
    BEFORE UPDATE OR DELETE ON unit_fingerprints
    FOR EACH ROW EXECUTE FUNCTION unit_fingerprints_insert_only();
CREATE TRIGGER unit_fingerprints_no_truncate
    BEFORE TRUNCATE ON unit_fingerprints
    FOR EACH STATEMENT EXECUTE FUNCTION unit_fingerprints_insert_only();

REVOKE UPDATE, DELETE, TRUNCATE ON unit_fingerprints FROM PUBLIC;

-- +goose Down
DROP TABLE unit_fingerprints;
DROP FUNCTION unit_fingerprints_insert_only();
