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

-- name: AuditEventsOfIntentBetween :many
-- An append's idempotency and causal-order check in one read: the events
-- already recorded at the seqs being appended, and the one before them.
SELECT * FROM audit_events
WHERE intent_id = @intent_id AND seq BETWEEN @from_seq AND @to_seq
ORDER BY seq;

-- name: ListAuditByCorrelation :many
SELECT * FROM audit_events
WHERE correlation_id = $1
ORDER BY position
LIMIT @max_rows;
