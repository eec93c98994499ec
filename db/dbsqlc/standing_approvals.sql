-- name: InsertStandingApproval :execrows
-- Idempotent on id (derived from the intent and the answer's seq).
INSERT INTO standing_approvals (id, schedule_id, schedule_name, skill_id, policy_bundle_version, catalog_snapshot_version,
    confirmation_mode, categories, approved_by, principal_type, auth_context, reason, granted_at, expires_at, granted_by_intent)
VALUES (@id, @schedule_id, @schedule_name, @skill_id, @policy_bundle_version, @catalog_snapshot_version,
    @confirmation_mode, @categories, @approved_by, @principal_type, @auth_context, @reason, @granted_at, @expires_at, @granted_by_intent)
ON CONFLICT (id) DO NOTHING;

-- name: GetStandingApproval :one
SELECT * FROM standing_approvals WHERE id = @id;

-- name: StandingApprovalsOfSchedule :many
-- Every standing approval of a schedule and skill key, newest first; the
-- caller applies the matching rules (internal/confirmation).
SELECT * FROM standing_approvals
WHERE schedule_id = @schedule_id AND skill_id = @skill_id
ORDER BY granted_at DESC, id;

-- name: ListStandingApprovals :many
SELECT * FROM standing_approvals WHERE schedule_id = @schedule_id ORDER BY granted_at DESC, id;

-- name: RevokeStandingApprovals :many
-- Revokes the schedule's standing approvals still in force.
UPDATE standing_approvals SET revoked_at = now(), revoked_by = @revoked_by, revoke_reason = @revoke_reason
WHERE schedule_id = @schedule_id AND revoked_at IS NULL
RETURNING id;
