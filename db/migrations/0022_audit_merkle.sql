-- The transparency log over the receipts (CFS SHOULD-001, issue 16,
-- docs/adr/0145). The chain head also keeps the RFC 6962 Merkle tree of
-- the receipts as its compact range: the roots of the perfect subtrees
-- that cover leaves [0, position), largest first, at most 64 hashes (one
-- per bit set in position). A leaf is a receipt's integrity, hashed as
-- SHA-256(0x00 || integrity); a node is SHA-256(0x01 || left || right).
-- The statement trigger of 0021 extends it with the batch it checks, about
-- two hashes per receipt, so the tree head (position, root) is always at
-- hand without reading the chain; `cfa audit checkpoint` signs it and
-- records the signed note in audit_checkpoints, append-only like the
-- receipts.

-- +goose Up
ALTER TABLE audit_chain_head ADD COLUMN merkle_frontier bytea[] NOT NULL DEFAULT '{}';

-- frontier, the compact range of a tree of size leaves, extended by the
-- leaf hashes in order: a new leaf merges with the subtree on its left
-- once per trailing 1 bit of the size before it. It names no table and
-- only built-in functions and operators, which pg_catalog (searched first
-- whatever the path) resolves: no SET search_path, whose save and restore
-- on every call cost as much as the hashing.
-- +goose StatementBegin
CREATE FUNCTION audit_merkle_extend(frontier bytea[], size bigint, leaf_hashes bytea[]) RETURNS bytea[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    h bytea;
    s bigint;
BEGIN
    IF cardinality(frontier) <> bit_count(size::bit(64)) THEN
        RAISE EXCEPTION 'the Merkle frontier holds % hashes, a tree of % receipts has %', cardinality(frontier), size, bit_count(size::bit(64))
            USING HINT = 'The chain head was moved without its tree (triggers off?): recompute merkle_frontier from the chain (docs/adr/0145).';
    END IF;
    FOREACH h IN ARRAY coalesce(leaf_hashes, '{}') LOOP
        s := size;
        WHILE s & 1 = 1 LOOP
            h := sha256('\x01'::bytea || frontier[cardinality(frontier)] || h);
            frontier := trim_array(frontier, 1);
            s := s >> 1;
        END LOOP;
        frontier := frontier || h;
        size := size + 1;
    END LOOP;
    RETURN frontier;
END;
$$;
-- +goose StatementEnd

-- The root of the tree a frontier covers: the hashes folded from the
-- right; SHA-256 of nothing for the empty tree (RFC 6962 2.1). Built-ins
-- only, as audit_merkle_extend.
-- +goose StatementBegin
CREATE FUNCTION audit_merkle_root(frontier bytea[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n    int := cardinality(frontier);
    root bytea;
BEGIN
    IF n = 0 THEN
        RETURN sha256(''::bytea);
    END IF;
    root := frontier[n];
    FOR i IN REVERSE n - 1 .. 1 LOOP
        root := sha256('\x01'::bytea || frontier[i] || root);
    END LOOP;
    RETURN root;
END;
$$;
-- +goose StatementEnd

-- 0021's statement trigger, every check kept, now also extending the tree.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_extend_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h   audit_chain_head%ROWTYPE;
    lo  bigint;
    hi  bigint;
    n   bigint;
    unlinked bigint;
    leaves bytea[];
    bad record;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE id FOR UPDATE;
    -- One pass: the positions taken, the links that do not hold (the first
    -- position links to the head, every other to the row before it) and
    -- the leaf hashes in position order.
    SELECT min(i.position), max(i.position), count(*),
           count(*) FILTER (WHERE i.prev_hash IS DISTINCT FROM
               CASE WHEN i.position = h.position + 1 THEN h.integrity ELSE p.integrity END),
           array_agg(sha256('\x00'::bytea || i.integrity) ORDER BY i.position)
      INTO lo, hi, n, unlinked, leaves
      FROM inserted i LEFT JOIN inserted p ON p.position = i.position - 1;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF lo <> h.position + 1 OR hi - lo + 1 <> n THEN
        SELECT i.receipt_id, i.position INTO bad FROM inserted i ORDER BY i.position LIMIT 1;
        RAISE EXCEPTION 'audit event % must take chain position %, not % (% events inserted up to position %)', bad.receipt_id, h.position + 1, lo, n, hi
            USING HINT = 'Append with audit_append(), which takes the positions after the head.';
    END IF;
    -- no_event_reordering (5.15): an intent's seq n follows its seq n-1.
    SELECT i.receipt_id, i.seq, i.intent_id INTO bad FROM inserted i
    WHERE i.seq > 1 AND NOT EXISTS (
        SELECT 1 FROM audit_events e WHERE e.intent_id = i.intent_id AND e.seq = i.seq - 1 AND e.position < i.position)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit event % is out of causal order: seq % of intent % is not recorded before it', bad.receipt_id, bad.seq - 1, bad.intent_id
            USING HINT = 'Append the events of an intent in seq order.';
    END IF;
    IF unlinked > 0 THEN
        SELECT i.receipt_id, i.position INTO bad FROM inserted i
        LEFT JOIN inserted p ON p.position = i.position - 1
        WHERE i.prev_hash IS DISTINCT FROM CASE WHEN i.position = lo THEN h.integrity ELSE p.integrity END
        ORDER BY i.position LIMIT 1;
        RAISE EXCEPTION 'audit event % does not link to the chain head at position %', bad.receipt_id, bad.position - 1
            USING HINT = 'Seal each event with the integrity of the event before it as prev_hash.';
    END IF;
    UPDATE audit_chain_head SET position = hi, integrity = (SELECT i.integrity FROM inserted i WHERE i.position = hi),
        merkle_frontier = audit_merkle_extend(h.merkle_frontier, h.position, leaves)
    WHERE id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- The head still moves forward only, onto the last event, and its tree
-- has the shape of a tree of that many receipts.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_chain_head_advance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    last_pos bigint;
    last_int bytea;
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_chain_head has exactly one row: % is not allowed', TG_OP;
    END IF;
    SELECT e.position, e.integrity INTO last_pos, last_int FROM audit_events e ORDER BY e.position DESC LIMIT 1;
    IF NEW.position <= OLD.position OR NEW.position IS DISTINCT FROM last_pos
       OR NEW.integrity IS DISTINCT FROM last_int THEN
        RAISE EXCEPTION 'audit_chain_head may only advance from % to the last event (asked for %)', OLD.position, NEW.position;
    END IF;
    IF cardinality(NEW.merkle_frontier) <> bit_count(NEW.position::bit(64)) THEN
        RAISE EXCEPTION 'audit_chain_head at % must carry the Merkle frontier of % receipts (% hashes, not %)',
            NEW.position, NEW.position, bit_count(NEW.position::bit(64)), cardinality(NEW.merkle_frontier)
            USING HINT = 'Append with audit_append() or a plain INSERT: the statement trigger extends the tree.';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- The tree of the receipts already recorded. The head does not move, so
-- its trigger, which refuses anything but an advance, is off meanwhile.
ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_advance;
UPDATE audit_chain_head SET merkle_frontier = audit_merkle_extend('{}', 0,
    (SELECT array_agg(sha256('\x00'::bytea || e.integrity) ORDER BY e.position)
       FROM audit_events e WHERE e.position <= audit_chain_head.position))
WHERE id;
ALTER TABLE audit_chain_head ENABLE TRIGGER audit_chain_head_advance;

-- Signed tree heads: a C2SP signed note (the checkpoint text "origin\nsize
-- \nbase64 root\n" and an Ed25519 signature line) per origin, key and
-- size. Appended, never changed: a published checkpoint is what a later
-- `cfa audit verify --checkpoint` holds the chain to.
CREATE TABLE audit_checkpoints (
    origin     text NOT NULL CHECK (origin <> '' AND position(E'\n' IN origin) = 0),
    key_name   text NOT NULL CHECK (key_name <> ''),
    tree_size  bigint NOT NULL CHECK (tree_size >= 0),
    root_hash  bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    note       text NOT NULL CHECK (note <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, key_name, tree_size)
);
CREATE INDEX audit_checkpoints_latest ON audit_checkpoints (origin, tree_size DESC, created_at DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed (SHOULD-001, a signed tree head is published)', TG_OP
        USING HINT = 'Sign a new checkpoint with `cfa audit checkpoint` instead of changing or removing one.';
END;
$$;
-- +goose StatementEnd

-- A checkpoint covers receipts that exist, and one of the current head
-- carries the root of the head's tree.
-- +goose StatementBegin
CREATE FUNCTION audit_checkpoints_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE id;
    IF NEW.tree_size > h.position THEN
        RAISE EXCEPTION 'checkpoint of % receipts: the chain holds %', NEW.tree_size, h.position
            USING HINT = 'Sign the tree head the chain holds (`cfa audit checkpoint`).';
    END IF;
    IF NEW.tree_size = h.position AND NEW.root_hash IS DISTINCT FROM audit_merkle_root(h.merkle_frontier) THEN
        RAISE EXCEPTION 'checkpoint of % receipts has root %, the chain head''s tree %', NEW.tree_size, NEW.root_hash, audit_merkle_root(h.merkle_frontier)
            USING HINT = 'Sign the tree head the chain holds (`cfa audit checkpoint`).';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_checkpoints_check
    BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_check();
CREATE TRIGGER audit_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM PUBLIC;

-- +goose Down
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_check();
DROP FUNCTION audit_checkpoints_append_only();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_chain_head_advance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    last_pos bigint;
    last_int bytea;
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_chain_head has exactly one row: % is not allowed', TG_OP;
    END IF;
    SELECT e.position, e.integrity INTO last_pos, last_int FROM audit_events e ORDER BY e.position DESC LIMIT 1;
    IF NEW.position <= OLD.position OR NEW.position IS DISTINCT FROM last_pos
       OR NEW.integrity IS DISTINCT FROM last_int THEN
        RAISE EXCEPTION 'audit_chain_head may only advance from % to the last event (asked for %)', OLD.position, NEW.position;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_extend_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h   audit_chain_head%ROWTYPE;
    lo  bigint;
    hi  bigint;
    n   bigint;
    unlinked bigint;
    bad record;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE id FOR UPDATE;
    SELECT min(i.position), max(i.position), count(*),
           count(*) FILTER (WHERE i.prev_hash IS DISTINCT FROM
               CASE WHEN i.position = h.position + 1 THEN h.integrity ELSE p.integrity END)
      INTO lo, hi, n, unlinked
      FROM inserted i LEFT JOIN inserted p ON p.position = i.position - 1;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF lo <> h.position + 1 OR hi - lo + 1 <> n THEN
        SELECT i.receipt_id, i.position INTO bad FROM inserted i ORDER BY i.position LIMIT 1;
        RAISE EXCEPTION 'audit event % must take chain position %, not % (% events inserted up to position %)', bad.receipt_id, h.position + 1, lo, n, hi
            USING HINT = 'Append with audit_append(), which takes the positions after the head.';
    END IF;
    SELECT i.receipt_id, i.seq, i.intent_id INTO bad FROM inserted i
    WHERE i.seq > 1 AND NOT EXISTS (
        SELECT 1 FROM audit_events e WHERE e.intent_id = i.intent_id AND e.seq = i.seq - 1 AND e.position < i.position)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit event % is out of causal order: seq % of intent % is not recorded before it', bad.receipt_id, bad.seq - 1, bad.intent_id
            USING HINT = 'Append the events of an intent in seq order.';
    END IF;
    IF unlinked > 0 THEN
        SELECT i.receipt_id, i.position INTO bad FROM inserted i
        LEFT JOIN inserted p ON p.position = i.position - 1
        WHERE i.prev_hash IS DISTINCT FROM CASE WHEN i.position = lo THEN h.integrity ELSE p.integrity END
        ORDER BY i.position LIMIT 1;
        RAISE EXCEPTION 'audit event % does not link to the chain head at position %', bad.receipt_id, bad.position - 1
            USING HINT = 'Seal each event with the integrity of the event before it as prev_hash.';
    END IF;
    UPDATE audit_chain_head SET position = hi, integrity = (SELECT i.integrity FROM inserted i WHERE i.position = hi) WHERE id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION audit_merkle_root(bytea[]);
DROP FUNCTION audit_merkle_extend(bytea[], bigint, bytea[]);
ALTER TABLE audit_chain_head DROP COLUMN merkle_frontier;
