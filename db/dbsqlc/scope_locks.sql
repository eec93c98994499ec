-- name: LockScopeLocks :exec
-- Acquisitions and releases are serialised: the FIFO check and the grant
-- must see one consistent queue.
LOCK TABLE scope_locks IN SHARE ROW EXCLUSIVE MODE;

-- name: RequestScope :exec
INSERT INTO scope_locks (intent_id, workflow_id, run_id, dataset, partition_key, on_conflict, status)
VALUES (@intent_id, @workflow_id, @run_id, @dataset, @partition_key, @on_conflict, 'waiting')
ON CONFLICT (intent_id, dataset, partition_key) WHERE status <> 'released' DO NOTHING;

-- name: ActiveScopesOfIntent :many
SELECT * FROM scope_locks
WHERE intent_id = @intent_id AND status <> 'released'
ORDER BY id;

-- name: ScopeBlockers :many
-- The active requests of other intents that conflict with one of the
-- intent's scopes and come first: held ones, or waiting ones enqueued
-- earlier (FIFO). Same dataset, and either side is the whole dataset or the
-- partitions are equal.
SELECT DISTINCT o.*
FROM scope_locks m
JOIN scope_locks o
  ON o.dataset = m.dataset
 AND o.intent_id <> m.intent_id
 AND o.status <> 'released'
 AND (m.partition_key IS NULL OR o.partition_key IS NULL OR m.partition_key = o.partition_key)
 AND (o.status = 'held' OR o.id < m.id)
WHERE m.intent_id = @intent_id AND m.status = 'waiting'
ORDER BY o.id;

-- name: GrantScopes :exec
UPDATE scope_locks
SET status = 'held', acquired_at = now()
WHERE intent_id = @intent_id AND status = 'waiting';

-- name: ReleaseScopes :many
UPDATE scope_locks
SET status = 'released', released_at = now(), release_reason = @reason::text
WHERE intent_id = @intent_id AND status <> 'released'
RETURNING *;

-- name: DatasetsOfIntent :many
-- Every dataset the intent ever asked for, released or not: a retried
-- release still finds whom to wake.
SELECT DISTINCT dataset FROM scope_locks WHERE intent_id = @intent_id ORDER BY dataset;

-- name: WaitersOnDatasets :many
-- Intents still waiting on any of the datasets: after a release, the ones
-- that may now go first.
SELECT DISTINCT ON (intent_id) intent_id, workflow_id, id
FROM scope_locks
WHERE status = 'waiting' AND dataset = ANY(@datasets::text[])
ORDER BY intent_id, id;

-- name: ActiveScopes :many
SELECT * FROM scope_locks
WHERE status <> 'released'
ORDER BY id;
