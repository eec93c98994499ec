-- Scheduled recurring pipelines and their standing approvals (issue 13
-- item 3, docs/adr/0124 and 0125). Temporal Schedules run the intents
-- (cfa-schedule-<name>); this is their registry in Postgres: who made each
-- schedule, what it runs, the skill it is bound to (so that demoting or
-- retiring a skill can pause its schedules) and why it is paused.
--
-- A standing approval is a human's first confirmation of a schedule given
-- for the runs after it: bound to the schedule, the skill key of the
-- signature the human saw, the policy bundle and the catalog snapshot, the
-- trigger categories it answered, and an expiry. It is insert-only: the
-- only change ever made to one is its revocation, once.

-- +goose Up
CREATE TABLE schedules (
    -- A schedule row keeps its id for good: a deleted name may be used
    -- again, and the new schedule never inherits the old one's standing
    -- approvals (they name the id, not the name).
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    -- The Temporal Schedule's id: cfa-schedule-<name>.
    schedule_id   text NOT NULL CHECK (schedule_id = 'cfa-schedule-' || name),
    -- What each run is: text, skill (its keyed signature) or signature.
    source        text NOT NULL CHECK (source IN ('text', 'skill', 'signature')),
    input         text NOT NULL CHECK (input <> ''),
    -- The spec as given: a cron expression or an interval (Go duration).
    cron          text NOT NULL DEFAULT '',
    every         text NOT NULL DEFAULT '',
    -- The run options (intent.Request without text or signature), JSON.
    options       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    -- skill.Key of the signature the schedule runs: known at creation for
    -- --skill and -f, bound when a run of a text schedule decides.
    skill_id      text NULL CHECK (skill_id ~ '^[0-9a-f]{64}$'),
    created_by    text NOT NULL CHECK (created_by <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    paused        boolean NOT NULL DEFAULT false,
    paused_reason text NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz NULL,
    CHECK ((cron = '') <> (every = ''))
);

CREATE UNIQUE INDEX schedules_live_name ON schedules (name) WHERE deleted_at IS NULL;
CREATE INDEX schedules_by_skill ON schedules (skill_id) WHERE deleted_at IS NULL;

-- A schedule keeps its id, name, what it runs and its creation; its skill
-- is bound once (it may not move to another); a deleted schedule stays
-- deleted and is never removed.
-- +goose StatementBegin
CREATE FUNCTION schedules_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'schedule % cannot be removed: delete it (deleted_at), its row stays for the audit trail', OLD.name
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.name <> OLD.name OR NEW.schedule_id <> OLD.schedule_id OR NEW.source <> OLD.source
       OR NEW.input <> OLD.input OR NEW.cron <> OLD.cron OR NEW.every <> OLD.every OR NEW.options::text <> OLD.options::text
       OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'schedule %: what it runs, when and who made it never change: delete it and create another', OLD.name
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.skill_id IS NOT NULL AND NEW.skill_id IS DISTINCT FROM OLD.skill_id THEN
        RAISE EXCEPTION 'schedule % is bound to skill % already', OLD.name, OLD.skill_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN
        RAISE EXCEPTION 'schedule % is deleted', OLD.name USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER schedules_guard BEFORE UPDATE OR DELETE ON schedules
    FOR EACH ROW EXECUTE FUNCTION schedules_guard();

CREATE TABLE standing_approvals (
    -- sa-<uuid>, the reference a run's audit event records.
    id                       text PRIMARY KEY CHECK (id ~ '^sa-[0-9a-f-]{36}$'),
    schedule_id              uuid NOT NULL REFERENCES schedules (id),
    schedule_name            text NOT NULL,
    -- skill.Key of the signature the human was asked to confirm.
    skill_id                 text NOT NULL CHECK (skill_id ~ '^[0-9a-f]{64}$'),
    policy_bundle_version    text NOT NULL CHECK (policy_bundle_version <> ''),
    catalog_snapshot_version text NOT NULL CHECK (catalog_snapshot_version <> ''),
    -- The confirmation answered: its mode and the categories of its
    -- triggers (internal/confirmation); a later question needing another
    -- category is not covered.
    confirmation_mode        text NOT NULL CHECK (confirmation_mode IN ('hard_required', 'human_escalation')),
    categories               text[] NOT NULL CHECK (array_position(categories, NULL) IS NULL),
    approved_by              text NOT NULL CHECK (approved_by <> ''),
    principal_type           text NOT NULL CHECK (principal_type IN ('HUMAN', 'AGENT', 'SERVICE')),
    auth_context             text NOT NULL DEFAULT '',
    reason                   text NOT NULL CHECK (reason <> ''),
    granted_at               timestamptz NOT NULL,
    expires_at               timestamptz NOT NULL,
    -- The intent whose escalation was answered standing (the id is derived
    -- from it and the answer's audit seq, so a retry finds its grant).
    granted_by_intent        text NOT NULL CHECK (granted_by_intent <> ''),
    revoked_at               timestamptz NULL,
    revoked_by               text NULL,
    revoke_reason            text NULL,
    CHECK (expires_at > granted_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);

CREATE INDEX standing_approvals_lookup ON standing_approvals (schedule_id, skill_id) WHERE revoked_at IS NULL;

-- Insert-only, except the revocation: revoked_at, revoked_by and
-- revoke_reason are set once, together, and nothing else ever changes.
-- +goose StatementBegin
CREATE FUNCTION standing_approvals_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'standing approval % cannot be removed: revoke it', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'standing approval % is revoked: it never changes again', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.schedule_id, NEW.schedule_name, NEW.skill_id, NEW.policy_bundle_version, NEW.catalog_snapshot_version,
        NEW.confirmation_mode, NEW.categories, NEW.approved_by, NEW.principal_type, NEW.auth_context, NEW.reason,
        NEW.granted_at, NEW.expires_at, NEW.granted_by_intent)
       IS DISTINCT FROM
       (OLD.id, OLD.schedule_id, OLD.schedule_name, OLD.skill_id, OLD.policy_bundle_version, OLD.catalog_snapshot_version,
        OLD.confirmation_mode, OLD.categories, OLD.approved_by, OLD.principal_type, OLD.auth_context, OLD.reason,
        OLD.granted_at, OLD.expires_at, OLD.granted_by_intent) THEN
        RAISE EXCEPTION 'standing approval % is insert-only: only its revocation may be recorded', OLD.id
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Revoke it (revoked_at, revoked_by, revoke_reason) and grant another.';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER standing_approvals_guard BEFORE UPDATE OR DELETE ON standing_approvals
    FOR EACH ROW EXECUTE FUNCTION standing_approvals_guard();
-- +goose StatementBegin
CREATE FUNCTION schedules_no_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% cannot be truncated: its rows stay for the audit trail', TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER standing_approvals_no_truncate BEFORE TRUNCATE ON standing_approvals
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_no_truncate();
CREATE TRIGGER schedules_no_truncate BEFORE TRUNCATE ON schedules
    FOR EACH STATEMENT EXECUTE FUNCTION schedules_no_truncate();

REVOKE DELETE, TRUNCATE ON schedules, standing_approvals FROM PUBLIC;

-- The runs of a schedule share the correlation id schedule:<name>: `cfa
-- schedule describe` reads their decisions from the intents index.
CREATE INDEX intents_by_correlation ON intents (correlation_id, submitted_at DESC);

-- +goose Down
DROP INDEX intents_by_correlation;
DROP TABLE standing_approvals;
DROP TABLE schedules;
DROP FUNCTION standing_approvals_guard();
DROP FUNCTION schedules_guard();
DROP FUNCTION schedules_no_truncate();
