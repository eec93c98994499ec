-- name: RecordProjectionFailure :exec
INSERT INTO projection_failures (intent_id, scopes, parent_version_id, cause, failed_at)
VALUES (@intent_id, @scopes, @parent_version_id, @cause, @failed_at)
ON CONFLICT (intent_id) DO NOTHING;

-- name: OpenProjectionFailures :many
SELECT * FROM projection_failures WHERE resolved_at IS NULL ORDER BY failed_at, intent_id;

-- name: ResolveProjectionFailure :execrows
UPDATE projection_failures
SET resolved_at = now(), resolved_by = @resolved_by, resolution = @resolution
WHERE intent_id = @intent_id AND resolved_at IS NULL;
