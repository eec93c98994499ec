-- name: UpsertIntent :one
-- Idempotent: a retried submission updates the row; submitted_at keeps the
-- first value.
INSERT INTO intents (
    intent_id, workflow_id, run_id, correlation_id, source, input, submitted_at,
    status, decision_state, signature_hash, confirmation_mode
) VALUES (
    @intent_id, @workflow_id, @run_id, @correlation_id, @source, @input, @submitted_at,
    @status, @decision_state, @signature_hash, @confirmation_mode
)
ON CONFLICT (intent_id) DO UPDATE SET
    workflow_id = EXCLUDED.workflow_id,
    run_id = EXCLUDED.run_id,
    correlation_id = EXCLUDED.correlation_id,
    source = EXCLUDED.source,
    input = EXCLUDED.input,
    status = EXCLUDED.status,
    decision_state = COALESCE(EXCLUDED.decision_state, intents.decision_state),
    signature_hash = COALESCE(EXCLUDED.signature_hash, intents.signature_hash),
    confirmation_mode = COALESCE(EXCLUDED.confirmation_mode, intents.confirmation_mode),
    updated_at = now()
RETURNING *;

-- name: UpdateIntentStatus :one
UPDATE intents
SET status = @status, updated_at = now()
WHERE intent_id = @intent_id
RETURNING *;

-- name: UpdateIntentDecision :one
UPDATE intents
SET decision_state = @decision_state,
    signature_hash = COALESCE(@signature_hash, signature_hash),
    confirmation_mode = COALESCE(@confirmation_mode, confirmation_mode),
    updated_at = now()
WHERE intent_id = @intent_id
RETURNING *;

-- name: GetIntent :one
SELECT * FROM intents
WHERE intent_id = $1;

-- name: ListIntents :many
SELECT * FROM intents
ORDER BY submitted_at DESC, intent_id
LIMIT @max_rows;

-- name: CompleteIntent :one
-- The end of an intent (step 19): its decision, and the signature and
-- confirmation mode it was decided with when known.
UPDATE intents
SET status = 'completed',
    decision_state = @decision_state,
    signature_hash = COALESCE(@signature_hash, signature_hash),
    confirmation_mode = COALESCE(@confirmation_mode, confirmation_mode),
    updated_at = now()
WHERE intent_id = @intent_id
RETURNING *;
