-- name: RecordPrecostRun :exec
-- Idempotent on (intent_id, intent_signature_hash): a retry is a no-op.
INSERT INTO precost_history (intent_signature_hash, intent_id, executed_at, actual_dbu, actual_shuffle_gb)
VALUES (@intent_signature_hash, @intent_id, @executed_at, @actual_dbu, @actual_shuffle_gb)
ON CONFLICT (intent_id, intent_signature_hash) DO NOTHING;

-- name: PrecostRunsSince :many
-- execution_history_by_signature_hash: the runs of one hash in a window.
SELECT intent_id, executed_at, actual_dbu, actual_shuffle_gb
FROM precost_history
WHERE intent_signature_hash = @intent_signature_hash
  AND executed_at >= @since
  AND executed_at <= @until
ORDER BY executed_at DESC, intent_id;
