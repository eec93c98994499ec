-- name: GetAuditEventByKey :one
SELECT * FROM audit_events
WHERE intent_id = $1 AND seq = $2;

-- name: InsertAuditEvent :exec
INSERT INTO audit_events (
    position, receipt_id, intent_id, seq, correlation_id, policy_bundle_version,
    stage, event_type, outcome, actor_id, actor_type, actor_auth_context, action,
    targets, ts, context, details, prev_hash, integrity
) VALUES (
    @position, @receipt_id, @intent_id, @seq, @correlation_id, @policy_bundle_version,
    @stage, @event_type, @outcome, @actor_id, @actor_type, @actor_auth_context, @action,
    @targets, @ts, @context, @details, @prev_hash, @integrity
);

-- name: ListAuditByIntent :many
SELECT * FROM audit_events
WHERE intent_id = $1
ORDER BY seq;

-- name: ListAuditChain :many
SELECT * FROM audit_events
WHERE position > @after_position
ORDER BY position
LIMIT @max_rows;
