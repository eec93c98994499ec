-- name: RecordExecutionPlan :exec
-- Write-once per intent: a retried activity records nothing new.
INSERT INTO execution_plans (
    intent_id, intent_signature_hash, plan_hash, plan, precost, artifacts,
    code_hash, static_passed, static_report, dry_run, read_only
) VALUES (
    @intent_id, @intent_signature_hash, @plan_hash, @plan, @precost, @artifacts,
    @code_hash, @static_passed, @static_report, @dry_run, @read_only
)
ON CONFLICT (intent_id) DO NOTHING;

-- name: GetExecutionPlan :one
SELECT * FROM execution_plans
WHERE intent_id = $1;
