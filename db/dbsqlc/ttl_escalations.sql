-- name: RecordEscalation :exec
INSERT INTO ttl_escalations (dataset, since) VALUES (@dataset, @since)
ON CONFLICT (dataset, since) DO NOTHING;

-- name: ListEscalations :many
SELECT * FROM ttl_escalations ORDER BY dataset, since;

-- name: ReviewEscalation :execrows
UPDATE ttl_escalations SET reviewed_at = now(), reviewed_by = @reviewed_by
WHERE dataset = @dataset AND reviewed_at IS NULL;

-- name: ReviewedEscalationsOf :many
-- The reviewed escalations of the datasets an intent touches (its TTL check).
SELECT * FROM ttl_escalations
WHERE dataset = ANY(@datasets::text[]) AND reviewed_at IS NOT NULL
ORDER BY dataset, since;

-- name: RecordSweep :execrows
INSERT INTO ttl_sweeps (sweep_id, swept_at, version_id, transitions)
VALUES (@sweep_id, @swept_at, @version_id, @transitions)
ON CONFLICT (sweep_id) DO NOTHING;

-- name: GetSweep :one
SELECT * FROM ttl_sweeps WHERE sweep_id = @sweep_id;
