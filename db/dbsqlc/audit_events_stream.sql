-- name: AuditChainPage :many
-- One keyset page of the chain for streaming verification (docs/adr/0139),
-- with only the columns a receipt is rebuilt from: context carries the
-- details, so the details column is not read.
SELECT position, receipt_id, actor_id, actor_type, actor_auth_context, action,
    targets, ts, context, prev_hash, integrity
FROM audit_events
WHERE position > @after_position
ORDER BY position
LIMIT @max_rows;

-- name: AuditLeafPage :many
-- One keyset page of the Merkle leaves (each receipt's integrity) up to a
-- tree size, for proofs and checkpoint checks (0022).
SELECT position, integrity
FROM audit_events
WHERE position > @after_position AND position <= @up_to_position
ORDER BY position
LIMIT @max_rows;

-- name: GetAuditLeaf :one
-- A receipt's place in the tree: leaf index position - 1.
SELECT position, integrity FROM audit_events WHERE receipt_id = @receipt_id;
