-- The skill registry (whitepaper 5.12, docs/adr/0121): one row per skill,
-- keyed by internal/skill.Key (the shape hash without what the Context
-- Registry injects), with its current state, and the append-only history of
-- its transitions. internal/skill decides which transitions exist; the
-- database keeps the history whole: a transition follows the skill's last
-- one (gap-free seq, from the current state), the current state changes
-- only together with a transition, and no transition is ever changed or
-- removed.

-- +goose Up
CREATE TABLE skills (
    skill_id            text PRIMARY KEY CHECK (skill_id ~ '^[0-9a-f]{64}$'),
    state               text NOT NULL CHECK (state IN ('ephemeral', 'promotion_candidate', 'persisted_active', 'watchlist',
                                                       'demoted', 'deprecated', 'retired')),
    -- The seq of the last transition (0: none yet, the skill is ephemeral).
    last_seq            bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    domain              text NOT NULL,
    intent              text NOT NULL,
    -- The canonical encoding of the keyed signature (internal/skill.Keyed,
    -- ADR 0003): what the skill does, kept byte for byte so that its SHA-256
    -- is the skill id.
    signature           json NOT NULL CHECK (encode(sha256(convert_to(signature::text, 'UTF8')), 'hex') = skill_id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- What promotion persists (5.12 skill_generation_metadata); later.
    artifact            jsonb NULL,
    generation_metadata jsonb NULL
);

CREATE INDEX skills_by_state ON skills (state, updated_at DESC);

CREATE TABLE skill_transitions (
    skill_id   text NOT NULL REFERENCES skills (skill_id),
    seq        bigint NOT NULL CHECK (seq > 0),
    from_state text NOT NULL CHECK (from_state IN ('ephemeral', 'promotion_candidate', 'persisted_active', 'watchlist',
                                                   'demoted', 'deprecated', 'retired')),
    to_state   text NOT NULL CHECK (to_state IN ('ephemeral', 'promotion_candidate', 'persisted_active', 'watchlist',
                                                 'demoted', 'deprecated', 'retired')),
    trigger    text NOT NULL CHECK (trigger ~ '^[a-z][a-z_]*$'),
    reason     text NOT NULL DEFAULT '',
    evidence   jsonb NULL,
    actor_id   text NOT NULL CHECK (actor_id <> ''),
    actor_type text NOT NULL CHECK (actor_type IN ('HUMAN', 'AGENT', 'SERVICE', 'SYSTEM')),
    -- What caused it (e.g. intent:<id>), unique per skill: a retried call
    -- finds the transition it recorded. '' when the caller gave none.
    cause      text NOT NULL DEFAULT '',
    -- The id of the transition's own audit trail.
    audit_id   text NOT NULL CHECK (audit_id <> ''),
    at         timestamptz NOT NULL,
    PRIMARY KEY (skill_id, seq),
    CHECK (from_state <> to_state)
);

CREATE UNIQUE INDEX skill_transitions_cause ON skill_transitions (skill_id, cause) WHERE cause <> '';

-- A transition extends its skill's history by one, from the current state.
-- +goose StatementBegin
CREATE FUNCTION skill_transitions_extend() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    s skills%ROWTYPE;
BEGIN
    SELECT * INTO s FROM skills WHERE skill_id = NEW.skill_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'skill % is not registered', NEW.skill_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.seq <> s.last_seq + 1 OR NEW.from_state <> s.state THEN
        RAISE EXCEPTION 'transition % of skill % from % does not follow its last one (seq %, state %)',
            NEW.seq, NEW.skill_id, NEW.from_state, s.last_seq, s.state
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Lock the skill FOR UPDATE, read its state, and record transition last_seq + 1 from it.';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER skill_transitions_extend BEFORE INSERT ON skill_transitions
    FOR EACH ROW EXECUTE FUNCTION skill_transitions_extend();

-- The history is append-only. TRUNCATE stays the owner's (as for
-- skill_executions, ADR 0101): resetting the registry is an operator's act
-- on the whole table, never a worker's.
-- +goose StatementBegin
CREATE FUNCTION skill_transitions_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'skill_transitions is append-only: % of transition % of skill % refused', TG_OP, OLD.seq, OLD.skill_id
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a new transition instead of changing or removing one.';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER skill_transitions_no_update_delete BEFORE UPDATE OR DELETE ON skill_transitions
    FOR EACH ROW EXECUTE FUNCTION skill_transitions_append_only();

-- A skill is born ephemeral with no transition, keeps its id, key and
-- creation, is never deleted, and changes state only onto the transition
-- just recorded.
-- +goose StatementBegin
CREATE FUNCTION skills_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'ephemeral' OR NEW.last_seq <> 0 THEN
            RAISE EXCEPTION 'skill % must be registered ephemeral with no transition, not % at seq %', NEW.skill_id, NEW.state, NEW.last_seq
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'skill % cannot be deleted: retire it', OLD.skill_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.skill_id <> OLD.skill_id OR NEW.domain <> OLD.domain OR NEW.intent <> OLD.intent
       OR NEW.signature::text <> OLD.signature::text OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'skill %: its id, domain, intent, signature and created_at never change', OLD.skill_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.state <> OLD.state OR NEW.last_seq <> OLD.last_seq THEN
        IF NEW.last_seq <> OLD.last_seq + 1 OR NOT EXISTS (
            SELECT 1 FROM skill_transitions t
            WHERE t.skill_id = NEW.skill_id AND t.seq = NEW.last_seq AND t.from_state = OLD.state AND t.to_state = NEW.state
        ) THEN
            RAISE EXCEPTION 'skill % may move from % (seq %) only onto its transition seq %, recorded first', OLD.skill_id, OLD.state, OLD.last_seq, OLD.last_seq + 1
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Insert the transition into skill_transitions, then update the skill to its to_state and seq.';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER skills_guard BEFORE INSERT OR UPDATE OR DELETE ON skills
    FOR EACH ROW EXECUTE FUNCTION skills_guard();

REVOKE UPDATE, DELETE, TRUNCATE ON skill_transitions FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON skills FROM PUBLIC;

-- +goose Down
DROP TABLE skill_transitions;
DROP TABLE skills;
DROP FUNCTION skills_guard();
DROP FUNCTION skill_transitions_append_only();
DROP FUNCTION skill_transitions_extend();
