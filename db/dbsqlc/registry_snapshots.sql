-- name: LockSnapshotWriters :exec
-- One registry writer at a time; readers are not blocked (they take ACCESS SHARE).
LOCK TABLE registry_snapshots IN SHARE ROW EXCLUSIVE MODE;

-- name: LatestCommittedSnapshot :one
SELECT * FROM registry_snapshots
WHERE status = 'committed'
ORDER BY seq DESC
LIMIT 1;

-- name: GetSnapshot :one
SELECT * FROM registry_snapshots
WHERE version_id = $1;

-- name: InsertWritingSnapshot :exec
INSERT INTO registry_snapshots (version_id, parent_version_id, status, reason, intent_id)
VALUES (@version_id, @parent_version_id, 'writing', @reason, @intent_id);

-- name: MarkSnapshotCommitted :one
-- The single writing -> committed transition. clock_timestamp, not now():
-- a writer that waited for the lock must not commit "before" its predecessor.
UPDATE registry_snapshots
SET status = 'committed', committed_at = clock_timestamp()
WHERE version_id = $1 AND status = 'writing'
RETURNING *;

-- name: DeleteWritingSnapshot :execrows
-- Removes a 'writing' snapshot left behind by a crashed writer.
DELETE FROM registry_snapshots
WHERE version_id = $1 AND status = 'writing';

-- name: ListCommittedSnapshots :many
SELECT * FROM registry_snapshots
WHERE status = 'committed'
ORDER BY seq DESC
LIMIT @max_rows;

-- name: ProjectionOfIntent :one
-- The snapshot an intent's State Projection committed, if any: a retried
-- projection finds it and writes nothing again.
SELECT * FROM registry_snapshots
WHERE status = 'committed' AND intent_id = @intent_id AND reason = @reason
ORDER BY seq DESC
LIMIT 1;

-- name: LockSnapshotsShared :exec
-- Holds projections off while a reader acts on what it read (publish).
LOCK TABLE registry_snapshots IN SHARE MODE;
