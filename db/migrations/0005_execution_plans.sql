-- Steps 8–10 of one intent (whitepaper 5.5, 5.6): the pre-cost estimate,
-- the execution plan, the generated code and the static validation report,
-- for `cfa plan ID` and `cfa code ID`. The workflow history holds the same
-- values; this table is their queryable, durable copy.

-- +goose Up
CREATE TABLE execution_plans (
    intent_id             text PRIMARY KEY REFERENCES intents (intent_id),
    intent_signature_hash text NOT NULL CHECK (intent_signature_hash ~ '^[0-9a-f]{64}$'),
    -- Null when the planner refused the signature (the refusal is in the audit).
    plan_hash             text NULL CHECK (plan_hash ~ '^[0-9a-f]{64}$'),
    -- json, not jsonb: the bytes are kept as hashed (I8).
    plan                  json NULL,
    precost               json NOT NULL,
    artifacts             json NULL,
    -- The hash of the Postgres artifact, the code that would run.
    code_hash             text NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    static_passed         boolean NULL,
    static_report         json NULL,
    dry_run               boolean NOT NULL DEFAULT false,
    -- A read-only intent writes nothing: costed, with nothing to plan.
    read_only             boolean NOT NULL DEFAULT false,
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((plan IS NULL) = (plan_hash IS NULL)),
    CHECK ((artifacts IS NULL) = (code_hash IS NULL)),
    CHECK ((static_report IS NULL) = (static_passed IS NULL)),
    CHECK (NOT read_only OR plan IS NULL)
);

-- The record of what was planned is evidence: it is written once.
-- +goose StatementBegin
CREATE FUNCTION execution_plans_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'execution_plans is write-once: % of intent % refused', TG_OP, OLD.intent_id
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER execution_plans_no_update BEFORE UPDATE OR DELETE ON execution_plans
    FOR EACH ROW EXECUTE FUNCTION execution_plans_immutable();

-- A composite intent (whitepaper 5.4) is indexed beside its sub-intents.
ALTER TABLE intents DROP CONSTRAINT intents_source_check;
ALTER TABLE intents ADD CONSTRAINT intents_source_check CHECK (source IN ('text', 'signature', 'composite'));

-- +goose Down
-- The plans go first: they reference intents, and refuse row deletes.
DROP TABLE execution_plans;
DELETE FROM intents WHERE source = 'composite';
ALTER TABLE intents DROP CONSTRAINT intents_source_check;
ALTER TABLE intents ADD CONSTRAINT intents_source_check CHECK (source IN ('text', 'signature'));
DROP FUNCTION execution_plans_immutable();
