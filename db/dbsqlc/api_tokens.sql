-- name: CreateAPIToken :one
-- No row when the name is taken (by a live or a revoked token).
INSERT INTO api_tokens (id, name, principal_id, principal_type, roles, token_hash, created_by)
VALUES (@id, @name, @principal_id, @principal_type, @roles, @token_hash, sqlc.narg(created_by))
ON CONFLICT (name) DO NOTHING
RETURNING id, name, principal_id, principal_type, roles, created_at, created_by, revoked_at, last_used_at;

-- name: ListAPITokens :many
-- Every token, revoked ones included, never its hash.
SELECT id, name, principal_id, principal_type, roles, created_at, created_by, revoked_at, last_used_at
FROM api_tokens ORDER BY created_at, name;

-- name: RevokeAPIToken :execrows
UPDATE api_tokens SET revoked_at = now() WHERE name = @name AND revoked_at IS NULL;

-- name: LookupAPIToken :one
-- The live token with this hash; no row for an unknown or a revoked one.
SELECT id, name, principal_id, principal_type, roles, created_at, created_by, revoked_at, last_used_at
FROM api_tokens WHERE token_hash = @token_hash AND revoked_at IS NULL;

-- name: TouchAPIToken :exec
-- Records a use, at most once a minute per token: an authenticated call
-- does not write a row each time.
UPDATE api_tokens SET last_used_at = now()
WHERE id = @id AND revoked_at IS NULL
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
