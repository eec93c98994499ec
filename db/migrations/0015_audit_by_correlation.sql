-- The API reads the audit trail of a correlation id (every intent of one
-- session or composite), in chain order.

-- +goose Up
CREATE INDEX audit_events_correlation ON audit_events (correlation_id, position);

-- +goose Down
DROP INDEX audit_events_correlation;
