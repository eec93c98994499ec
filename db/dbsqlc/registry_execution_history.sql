-- name: InsertExecutionRecord :exec
INSERT INTO registry_execution_history (
    version_id, intent_id, outcome, consistency_unit, ts, policy_bundle_version
) VALUES (
    @version_id, @intent_id, @outcome, @consistency_unit, @ts, @policy_bundle_version
);

-- name: ListExecutionHistory :many
-- The history visible from a committed snapshot: the records of that
-- snapshot and of every committed snapshot before it, newest first.
SELECT h.* FROM registry_execution_history h
JOIN registry_snapshots s ON s.version_id = h.version_id
WHERE s.status = 'committed'
  AND s.seq <= (SELECT v.seq FROM registry_snapshots v WHERE v.version_id = @version_id)
ORDER BY s.seq DESC, h.id DESC
LIMIT @max_rows;
