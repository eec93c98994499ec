-- Intents submitted to the governed flow, for `cfa list` and status lookups.
-- The workflow is the source of truth; this table is its queryable index.

-- +goose Up
CREATE TABLE intents (
    intent_id         text PRIMARY KEY CHECK (intent_id <> ''),
    workflow_id       text NOT NULL,
    run_id            text NOT NULL DEFAULT '',
    correlation_id    text NOT NULL DEFAULT '',
    source            text NOT NULL CHECK (source IN ('text', 'signature')),
    input             text NOT NULL,
    submitted_at      timestamptz NOT NULL,
    status            text NOT NULL CHECK (status <> ''),
    -- The closed decision_state enum of whitepaper 5.14/5.15.
    decision_state    text NULL CHECK (decision_state IN (
                          'approved', 'approved_with_warnings', 'replanned', 'blocked',
                          'partially_committed', 'quarantined', 'rolled_back', 'promotion_candidate')),
    signature_hash    text NULL,
    confirmation_mode text NULL CHECK (confirmation_mode IN ('auto', 'soft', 'hard_required', 'human_escalation')),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intents_submitted_at_idx ON intents (submitted_at DESC, intent_id);

-- +goose Down
DROP TABLE intents;
