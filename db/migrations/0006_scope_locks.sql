-- Concurrency control (whitepaper section 10): single_active_intent_per_target_scope.
-- One row per (intent, scope). A scope is a dataset (partition NULL) or one
-- dataset partition; a dataset scope covers all its partitions. Rows are
-- granted in id order (FIFO): a request waits while an earlier request on a
-- conflicting scope is held or still waiting.

-- +goose Up
CREATE TABLE scope_locks (
    id            bigserial PRIMARY KEY,
    intent_id     text NOT NULL CHECK (intent_id <> ''),
    workflow_id   text NOT NULL CHECK (workflow_id <> ''),
    run_id        text NOT NULL DEFAULT '',
    dataset       text NOT NULL CHECK (dataset <> ''),
    partition_key text NULL CHECK (partition_key <> ''),
    on_conflict   text NOT NULL CHECK (on_conflict IN ('queue', 'reject')),
    status        text NOT NULL CHECK (status IN ('waiting', 'held', 'released')),
    requested_at  timestamptz NOT NULL DEFAULT now(),
    acquired_at   timestamptz NULL,
    released_at   timestamptz NULL,
    -- Why it was released (db.Release* constants).
    release_reason text NULL CHECK (release_reason IN (
                       'projection_confirmed', 'rejected', 'recovered', 'cancelled',
                       'panic_rollback', 'projection_failed')),
    CHECK ((status = 'held') = (acquired_at IS NOT NULL AND released_at IS NULL)),
    CHECK ((status = 'released') = (released_at IS NOT NULL))
);
-- One active request per intent and scope (released rows are history: a
-- rejected intent may ask again); NULLS NOT DISTINCT makes the dataset
-- scope (partition NULL) unique too.
CREATE UNIQUE INDEX scope_locks_intent_scope ON scope_locks (intent_id, dataset, partition_key) NULLS NOT DISTINCT
    WHERE status <> 'released';
CREATE INDEX scope_locks_active ON scope_locks (dataset, id) WHERE status <> 'released';

-- +goose Down
DROP TABLE scope_locks;
