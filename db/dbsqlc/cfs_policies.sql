-- name: InsertCFSPolicy :exec
INSERT INTO cfs_policies (policy_id, version, canonical, digest, retired, recorded_by, receipt_id)
VALUES (@policy_id, @version, @canonical, @digest, @retired, @recorded_by, @receipt_id);

-- name: LatestCFSPolicy :one
SELECT * FROM cfs_policies WHERE policy_id = @policy_id ORDER BY version DESC LIMIT 1;

-- name: CurrentCFSPolicies :many
SELECT DISTINCT ON (policy_id) * FROM cfs_policies ORDER BY policy_id, version DESC;

-- name: LockCFSPolicies :exec
SELECT pg_advisory_xact_lock(hashtext('cfs_policies'));
