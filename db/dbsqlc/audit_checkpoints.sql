-- name: InsertAuditCheckpoint :one
-- Records a signed tree head; signing the same size again with the same
-- key inserts nothing and returns the stored row for the caller to compare.
WITH ins AS (
    INSERT INTO audit_checkpoints (origin, key_name, tree_size, root_hash, note)
    VALUES (@origin, @key_name, @tree_size, @root_hash, @note)
    ON CONFLICT (origin, key_name, tree_size) DO NOTHING
    RETURNING origin, key_name, tree_size, root_hash, note, created_at
)
SELECT ins.origin, ins.key_name, ins.tree_size, ins.root_hash, ins.note, ins.created_at FROM ins
UNION ALL
SELECT c.origin, c.key_name, c.tree_size, c.root_hash, c.note, c.created_at FROM audit_checkpoints c
WHERE c.origin = @origin AND c.key_name = @key_name AND c.tree_size = @tree_size
  AND NOT EXISTS (SELECT 1 FROM ins);

-- name: LatestAuditCheckpoint :one
-- The checkpoint of the largest tree signed for origin (the newest of
-- those, whatever the key).
SELECT origin, key_name, tree_size, root_hash, note, created_at FROM audit_checkpoints
WHERE origin = @origin
ORDER BY tree_size DESC, created_at DESC
LIMIT 1;
