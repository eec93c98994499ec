-- Audit Trail (whitepaper 5.15): append-only, causally ordered events, each a
-- sealed CFS Receipt chained by SHA-256. The database itself refuses to
-- modify or remove an event, and refuses an insert that does not extend the
-- chain head by exactly one position.

-- +goose Up
CREATE TABLE audit_events (
    position              bigint PRIMARY KEY CHECK (position > 0),
    receipt_id            text NOT NULL UNIQUE,
    intent_id             text NOT NULL CHECK (intent_id <> ''),
    seq                   bigint NOT NULL CHECK (seq > 0),
    correlation_id        text NOT NULL DEFAULT '',
    policy_bundle_version text NOT NULL DEFAULT '',
    stage                 text NOT NULL DEFAULT '',
    event_type            text NOT NULL CHECK (event_type <> ''),
    outcome               text NOT NULL DEFAULT '',
    actor_id              text NOT NULL,
    actor_type            text NOT NULL CHECK (actor_type IN ('HUMAN', 'AGENT', 'SERVICE', 'SYSTEM')),
    actor_auth_context    text NOT NULL DEFAULT '',
    action                text NOT NULL CHECK (action IN ('READ', 'WRITE', 'INVOKE', 'APPROVE', 'SYNC')),
    targets               text[] NOT NULL DEFAULT '{}',
    ts                    timestamptz NOT NULL,
    context               jsonb NOT NULL,
    details               jsonb NULL,
    prev_hash             bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    integrity             bytea NOT NULL CHECK (octet_length(integrity) = 32),
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    -- The idempotency key: a retried activity finds its event here.
    CONSTRAINT audit_events_intent_seq_key UNIQUE (intent_id, seq)
);

-- The single row that serialises appends: writers lock it FOR UPDATE, seal
-- the next event against it, insert, and advance it. Genesis integrity is
-- 32 zero bytes (the prev_hash of position 1).
CREATE TABLE audit_chain_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    position  bigint NOT NULL CHECK (position >= 0),
    integrity bytea NOT NULL CHECK (octet_length(integrity) = 32)
);
INSERT INTO audit_chain_head (id, position, integrity) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed (whitepaper 5.15, immutable_after_write)', TG_OP
        USING HINT = 'Record a new event instead of changing or removing one.';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Privileges are a second fence for roles that do not own the table (the
-- owner bypasses them; the triggers above still apply).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC;

-- An insert must extend the head (next position, linked to the head's hash)
-- and follow its intent's previous event.
-- +goose StatementBegin
CREATE FUNCTION audit_events_extend_head() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    h audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE id FOR UPDATE;
    IF NEW.position <> h.position + 1 THEN
        RAISE EXCEPTION 'audit event % must take chain position %, not %', NEW.receipt_id, h.position + 1, NEW.position
            USING HINT = 'Lock audit_chain_head FOR UPDATE before sealing the event.';
    END IF;
    -- no_event_reordering (5.15): an intent's seq n follows its seq n-1.
    IF NEW.seq > 1 AND NOT EXISTS (
        SELECT 1 FROM audit_events e WHERE e.intent_id = NEW.intent_id AND e.seq = NEW.seq - 1
    ) THEN
        RAISE EXCEPTION 'audit event % is out of causal order: seq % of intent % is not recorded yet', NEW.receipt_id, NEW.seq - 1, NEW.intent_id
            USING HINT = 'Append the events of an intent in seq order.';
    END IF;
    IF NEW.prev_hash <> h.integrity THEN
        RAISE EXCEPTION 'audit event % does not link to the chain head at position %', NEW.receipt_id, h.position
            USING HINT = 'Seal the event with the head''s integrity as prev_hash.';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_extend_head
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_extend_head();

-- The head only moves forward by one, onto an event that exists.
-- +goose StatementBegin
CREATE FUNCTION audit_chain_head_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_chain_head has exactly one row: % is not allowed', TG_OP;
    END IF;
    IF NEW.position <> OLD.position + 1 OR NOT EXISTS (
        SELECT 1 FROM audit_events e WHERE e.position = NEW.position AND e.integrity = NEW.integrity
    ) THEN
        RAISE EXCEPTION 'audit_chain_head may only advance from % to the event at position %', OLD.position, OLD.position + 1;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_chain_head_advance
    BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_advance();
CREATE TRIGGER audit_chain_head_no_truncate
    BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_chain_head;
DROP TABLE audit_events;
DROP FUNCTION audit_chain_head_advance();
DROP FUNCTION audit_events_extend_head();
DROP FUNCTION audit_events_append_only();
