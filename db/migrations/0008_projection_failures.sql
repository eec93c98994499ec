-- I4 (whitepaper 6): a projection that did not commit leaves the
-- environment_state of its scopes uncertain; intents on a conflicting scope
-- are blocked with ENVIRONMENT_STATE_UNCERTAIN until the marker is resolved.

-- +goose Up
CREATE TABLE projection_failures (
    intent_id         text PRIMARY KEY CHECK (intent_id <> ''),
    -- concurrency.Scope keys ("dataset:D" or "dataset:D/partition:P");
    -- empty means unknown: the whole registry is uncertain.
    scopes            text[] NOT NULL,
    parent_version_id text NOT NULL,
    cause             text NOT NULL,
    failed_at         timestamptz NOT NULL,
    resolved_at       timestamptz NULL,
    resolved_by       text NULL,
    resolution        text NULL,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);

-- One State Projection per intent, enforced: a retried or concurrent
-- projection of the same intent fails here and replays the committed one.
CREATE UNIQUE INDEX registry_snapshots_one_projection_per_intent
    ON registry_snapshots (intent_id) WHERE reason = 'state_projection';

-- +goose Down
DROP INDEX registry_snapshots_one_projection_per_intent;
DROP TABLE projection_failures;
