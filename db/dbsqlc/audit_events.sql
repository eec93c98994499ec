-- name: GetAuditEventByKey :one
SELECT * FROM audit_events
WHERE intent_id = $1 AND seq = $2;

-- name: ListAuditByIntent :many
SELECT * FROM audit_events
WHERE intent_id = $1
ORDER BY seq;

-- name: ListAuditChain :many
SELECT * FROM audit_events
WHERE position > @after_position
ORDER BY position
LIMIT @max_rows;

-- name: ListAuditByCorrelation :many
SELECT * FROM audit_events
WHERE correlation_id = $1
ORDER BY position
LIMIT @max_rows;
