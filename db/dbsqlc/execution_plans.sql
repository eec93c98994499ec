-- name: RecordExecutionPlan :exec
-- Write-once per intent and signature: a retried activity records nothing
-- new.
INSERT INTO execution_plans (
    intent_id, intent_signature_hash, plan_hash, plan, precost, artifacts,
    code_hash, static_passed, static_report, dry_run, read_only
) VALUES (
    @intent_id, @intent_signature_hash, @plan_hash, @plan, @precost, @artifacts,
    @code_hash, @static_passed, @static_report, @dry_run, @read_only
)
ON CONFLICT (intent_id, intent_signature_hash) DO NOTHING;

-- name: GetExecutionPlan :one
-- The intent's latest planning (after a stale replan, the last cycle's).
SELECT * FROM execution_plans
WHERE intent_id = $1
ORDER BY recorded_at DESC, intent_signature_hash
LIMIT 1;

-- name: GetExecutionPlanOfSignature :one
SELECT * FROM execution_plans
WHERE intent_id = $1 AND intent_signature_hash = $2;

-- name: ListExecutionPlansOfIntent :many
-- Every planning of an intent, one per signature cycle, oldest first.
SELECT * FROM execution_plans
WHERE intent_id = $1
ORDER BY recorded_at, intent_signature_hash;
