-- name: LockChainHead :one
-- Serialises appends: the holder owns the next chain position.
SELECT * FROM audit_chain_head
WHERE id
FOR UPDATE;

-- name: AdvanceChainHead :exec
UPDATE audit_chain_head
SET position = @position, integrity = @integrity
WHERE id;
