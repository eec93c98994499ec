-- TTL and Obsolete State Policy (whitepaper 5.9): quarantined states past
-- their TTL are escalated to manual review once per episode (dataset and the
-- updated_at of the expired entry); dependent intents stay blocked until a
-- review is recorded.

-- +goose Up
CREATE TABLE ttl_escalations (
    dataset       text NOT NULL CHECK (dataset <> ''),
    since         timestamptz NOT NULL,
    escalated_at  timestamptz NOT NULL DEFAULT now(),
    reviewed_at   timestamptz NULL,
    reviewed_by   text NULL,
    PRIMARY KEY (dataset, since),
    CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL))
);

-- +goose Down
DROP TABLE ttl_escalations;
