-- Step 18 (whitepaper 5.11, 5.12): the evidence each execution leaves for
-- its skill (promotion_unit: the signature's shape hash, docs/adr/0101) and
-- the Promotion Engine's evaluation of it. The evaluation window reads the
-- evidence of earlier executions of the same unit.

-- +goose Up
CREATE TABLE skill_executions (
    intent_id      text PRIMARY KEY REFERENCES intents (intent_id),
    promotion_unit text NOT NULL CHECK (promotion_unit ~ '^[0-9a-f]{64}$'),
    domain         text NOT NULL,
    decided_at     timestamptz NOT NULL,
    -- The Decision Engine's state (step 17), before the promotion label.
    decision_state text NOT NULL CHECK (decision_state IN ('approved', 'approved_with_warnings', 'replanned', 'blocked',
                                                           'partially_committed', 'quarantined', 'rolled_back', 'promotion_candidate')),
    eligible       boolean NOT NULL,
    evidence       jsonb NOT NULL,
    evaluation     jsonb NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX skill_executions_by_unit ON skill_executions (promotion_unit, decided_at);

-- Evidence is written once: a later evaluation must see what an earlier one
-- saw.
-- +goose StatementBegin
CREATE FUNCTION skill_executions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'skill_executions is write-once: % of intent % refused', TG_OP, OLD.intent_id
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER skill_executions_no_update BEFORE UPDATE OR DELETE ON skill_executions
    FOR EACH ROW EXECUTE FUNCTION skill_executions_immutable();

-- +goose Down
DROP TABLE skill_executions;
DROP FUNCTION skill_executions_immutable();
