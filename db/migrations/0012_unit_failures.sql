-- A consistency unit's own failures (runtime faults, statement errors),
-- counted apart from the attempts Temporal makes after a worker died: a
-- crash must not use up retry_failed_units' max_attempts (issue 10,
-- finding 8). The last failure's report is kept for the unit's record.

-- +goose Up
CREATE TABLE unit_failures (
    intent_id   text NOT NULL CHECK (intent_id <> ''),
    unit_key    text NOT NULL,
    failures    integer NOT NULL CHECK (failures > 0),
    last_code   text NOT NULL,
    last_report jsonb NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (intent_id, unit_key)
);

-- +goose Down
DROP TABLE unit_failures;
