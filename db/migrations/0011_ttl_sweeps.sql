-- A TTL sweep's result, written in the transaction that commits it: a
-- sweep retried after its commit (a workflow task retried after a worker
-- died) returns the transitions it committed instead of sweeping a
-- snapshot it already changed and losing them (docs/adr/0110).

-- +goose Up
CREATE TABLE ttl_sweeps (
    sweep_id     text PRIMARY KEY CHECK (sweep_id <> ''),
    swept_at     timestamptz NOT NULL,
    version_id   uuid NULL,
    transitions  jsonb NOT NULL CHECK (jsonb_typeof(transitions) = 'array'),
    committed_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE ttl_sweeps;
