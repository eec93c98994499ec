-- name: RecordUnitFingerprint :exec
-- Write-once per attempt: a retried insert of the same attempt is a no-op.
INSERT INTO unit_fingerprints (
    intent_id, unit_key, attempt, intent_signature_hash, code_hash, unit_partition,
    output_rows, output_sha256, inputs
) VALUES (
    @intent_id, @unit_key, @attempt, @intent_signature_hash, @code_hash, @unit_partition,
    @output_rows, @output_sha256, @inputs
)
ON CONFLICT (intent_id, unit_key, attempt) DO NOTHING;

-- name: UnitFingerprintsOfIntent :many
-- The last attempt of each unit of an intent, by unit key.
SELECT DISTINCT ON (unit_key) *
FROM unit_fingerprints
WHERE intent_id = $1
ORDER BY unit_key, attempt DESC;
