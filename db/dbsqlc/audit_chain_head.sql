-- name: AppendAuditEvents :many
-- Seals and inserts a batch of events at the head in one call (0021).
SELECT r.ord::bigint AS ord, r.position::bigint AS position, r.prev_hash::bytea AS prev_hash,
    r.integrity::bytea AS integrity, r.existed::boolean AS existed
FROM audit_append(@events::jsonb) AS r (ord, position, prev_hash, integrity, existed);

-- name: GetAuditTreeHead :one
-- The head with its Merkle frontier (0022): one row, read at once, so the
-- size, the last integrity and the tree always agree.
SELECT position, integrity, merkle_frontier FROM audit_chain_head WHERE id;
