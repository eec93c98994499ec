-- One round trip per append (issue 15, docs/adr/0143). The writer sends
-- each event's canonical receipt bytes split where only the chain head
-- decides (audit.SealParts: head, then the context entry "position", then
-- tail, then field 7 prev_hash); this function takes the head lock once,
-- finishes each receipt's integrity with sha256() at the next position and
-- inserts the batch with one statement. The row trigger of 0002 that
-- checked each insert against the head becomes a statement trigger that
-- checks the whole batch at once (consecutive positions from the head, each
-- prev_hash the integrity before it, each seq after its seq - 1) and then
-- advances the head itself: a writer that skips this function is held to
-- the same chain, and can no longer insert without moving the head.
--
-- events is a JSON array in causal order; each element carries the
-- audit_events columns but position, prev_hash and integrity, plus "g" (the
-- caller's group: one intent's consecutive events) and "head" and "tail"
-- (base64). A group whose first event is already recorded (a retried
-- append) is not inserted: its recorded events are returned with existed
-- true, and the caller compares them and appends the rest again.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION audit_events_extend_chain() RETURNS trigger
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
    -- One pass: the positions taken and the links that do not hold (the
    -- first position links to the head, every other to the row before it).
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
    UPDATE audit_chain_head SET position = hi, integrity = (SELECT i.integrity FROM inserted i WHERE i.position = hi) WHERE id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

DROP TRIGGER audit_events_extend_head ON audit_events;
DROP FUNCTION audit_events_extend_head();
CREATE TRIGGER audit_events_extend_head
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_extend_chain();

-- The head moves forward only, onto the last event.
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
CREATE FUNCTION audit_append(events jsonb)
RETURNS TABLE (ord bigint, "position" bigint, prev_hash bytea, integrity bytea, existed boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    h_pos   bigint;
    h_int   bytea;
    e       record;
    cur_g   bigint := NULL;
    skip_g  bigint := NULL;
    digits  text;
    sum     bytea;
    ords    bigint[] := '{}';
    poss    bigint[] := '{}';
    prevs   bytea[] := '{}';
    sums    bytea[] := '{}';
    pending text[] := '{}';
    found_this boolean;
    found_prev boolean;
    stored  audit_events%ROWTYPE;
BEGIN
    SELECT c.position, c.integrity INTO h_pos, h_int FROM audit_chain_head c WHERE c.id FOR UPDATE;
    FOR e IN
        SELECT x.*, n.ord AS n, n.value AS value FROM jsonb_array_elements(events) WITH ORDINALITY AS n(value, ord),
        LATERAL jsonb_to_record(n.value) AS x(g bigint, intent_id text, seq bigint, receipt_id text)
        ORDER BY n.ord
    LOOP
        IF cur_g IS DISTINCT FROM e.g THEN
            cur_g := e.g;
            SELECT coalesce(bool_or(a.seq = e.seq), false), coalesce(bool_or(a.seq = e.seq - 1), false) INTO found_this, found_prev
              FROM audit_events a WHERE a.intent_id = e.intent_id AND a.seq IN (e.seq, e.seq - 1);
            IF found_this THEN
                skip_g := e.g;
            ELSIF e.seq > 1 AND NOT found_prev AND NOT (e.intent_id || '/' || (e.seq - 1)) = ANY (pending) THEN
                RAISE EXCEPTION 'audit event %/% is out of causal order: seq % is not recorded yet', e.intent_id, e.seq, e.seq - 1
                    USING ERRCODE = 'CF001', HINT = 'Append the events of an intent in seq order.';
            END IF;
        END IF;
        IF e.g = skip_g THEN
            -- A retry: report what is recorded; the caller compares.
            SELECT * INTO stored FROM audit_events a WHERE a.intent_id = e.intent_id AND a.seq = e.seq;
            IF FOUND THEN
                ord := e.n; "position" := stored.position; prev_hash := stored.prev_hash;
                integrity := stored.integrity; existed := true;
                RETURN NEXT;
            END IF;
            CONTINUE;
        END IF;
        -- The context entry {"position": digits}: field 6, a map entry of
        -- key (field 1) and value (field 2), every length below 128.
        digits := (h_pos + 1)::text;
        sum := sha256(decode(e.value ->> 'head', 'base64')
            || '\x32'::bytea || set_byte('\x00'::bytea, 0, 12 + length(digits))
            || '\x0a08'::bytea || convert_to('position', 'UTF8')
            || '\x12'::bytea || set_byte('\x00'::bytea, 0, length(digits)) || convert_to(digits, 'UTF8')
            || decode(e.value ->> 'tail', 'base64')
            || '\x3a20'::bytea || h_int);
        ords := ords || e.n;
        poss := poss || (h_pos + 1);
        prevs := prevs || h_int;
        sums := sums || sum;
        pending := pending || e.receipt_id;
        h_pos := h_pos + 1;
        h_int := sum;
    END LOOP;
    IF cardinality(ords) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO audit_events (
        position, receipt_id, intent_id, seq, correlation_id, policy_bundle_version,
        stage, event_type, outcome, actor_id, actor_type, actor_auth_context, action,
        targets, ts, context, details, prev_hash, integrity
    )
    SELECT c.pos, x.receipt_id, x.intent_id, x.seq, x.correlation_id, x.policy_bundle_version,
        x.stage, x.event_type, x.outcome, x.actor_id, x.actor_type, x.actor_auth_context, x.action,
        x.targets, x.ts, x.context || jsonb_build_object('position', c.pos::text), x.details, c.prev, c.sum
    FROM unnest(ords, poss, prevs, sums) AS c(n, pos, prev, sum)
    JOIN jsonb_array_elements(events) WITH ORDINALITY AS v(value, ord) ON v.ord = c.n,
    LATERAL jsonb_to_record(v.value) AS x(
        intent_id text, seq bigint, receipt_id text, correlation_id text,
        policy_bundle_version text, stage text, event_type text, outcome text,
        actor_id text, actor_type text, actor_auth_context text, action text,
        targets text[], ts timestamptz, context jsonb, details jsonb)
    ORDER BY c.pos;
    RETURN QUERY SELECT c.n, c.pos, c.prev, c.sum, false FROM unnest(ords, poss, prevs, sums) AS c(n, pos, prev, sum);
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_append(jsonb);
DROP TRIGGER audit_events_extend_head ON audit_events;
DROP FUNCTION audit_events_extend_chain();
-- +goose StatementBegin
CREATE FUNCTION audit_events_extend_head() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO h FROM audit_chain_head WHERE id FOR UPDATE;
    IF NEW.position <> h.position + 1 THEN
        RAISE EXCEPTION 'audit event % must take chain position %, not %', NEW.receipt_id, h.position + 1, NEW.position
            USING HINT = 'Lock audit_chain_head FOR UPDATE before sealing the event.';
    END IF;
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_chain_head_advance() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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
