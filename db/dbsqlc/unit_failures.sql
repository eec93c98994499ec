-- name: RecordUnitFailure :one
-- One more failure of the unit's own; returns how many it has had.
INSERT INTO unit_failures (intent_id, unit_key, failures, last_code, last_report)
VALUES (@intent_id, @unit_key, 1, @last_code, @last_report)
ON CONFLICT (intent_id, unit_key) DO UPDATE
SET failures = unit_failures.failures + 1, last_code = EXCLUDED.last_code,
    last_report = EXCLUDED.last_report, updated_at = now()
RETURNING failures;

-- name: UnitFailures :one
SELECT COALESCE((SELECT failures FROM unit_failures WHERE intent_id = @intent_id AND unit_key = @unit_key), 0)::integer AS failures;
