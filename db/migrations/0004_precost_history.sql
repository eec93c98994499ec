-- Pre-cost feedback loop (whitepaper 5.5): the real cost of each execution,
-- keyed by intent_signature_hash; the estimator reads the last 30 days.

-- +goose Up
CREATE TABLE precost_history (
    id                    bigserial PRIMARY KEY,
    intent_signature_hash text NOT NULL CHECK (intent_signature_hash ~ '^[0-9a-f]{64}$'),
    intent_id             text NOT NULL CHECK (intent_id <> ''),
    executed_at           timestamptz NOT NULL,
    actual_dbu            double precision NOT NULL CHECK (actual_dbu >= 0),
    actual_shuffle_gb     double precision NOT NULL CHECK (actual_shuffle_gb >= 0),
    recorded_at           timestamptz NOT NULL DEFAULT now(),
    -- One real cost per execution: a retried activity records nothing new.
    UNIQUE (intent_id, intent_signature_hash)
);

CREATE INDEX precost_history_by_hash ON precost_history (intent_signature_hash, executed_at DESC);

-- +goose Down
DROP TABLE precost_history;
