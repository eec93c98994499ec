-- An intent plans once per cycle of steps 6–10: a stale environment at
-- step 12 re-signs the intent (a new execution_context, so a new
-- intent_signature_hash) and plans it again. Each cycle's planning is kept,
-- write-once, and the execution reads the plan of the signature it runs.

-- +goose Up
ALTER TABLE execution_plans DROP CONSTRAINT execution_plans_pkey;
ALTER TABLE execution_plans ADD PRIMARY KEY (intent_id, intent_signature_hash);

-- +goose Down
-- Keep the first cycle of each intent; the table refuses deletes, so the
-- trigger is lifted for the duration.
ALTER TABLE execution_plans DISABLE TRIGGER execution_plans_no_update;
DELETE FROM execution_plans p USING execution_plans q
    WHERE p.intent_id = q.intent_id AND p.recorded_at > q.recorded_at;
ALTER TABLE execution_plans ENABLE TRIGGER execution_plans_no_update;
ALTER TABLE execution_plans DROP CONSTRAINT execution_plans_pkey;
ALTER TABLE execution_plans ADD PRIMARY KEY (intent_id);
