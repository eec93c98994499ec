-- name: InsertCFSView :exec
INSERT INTO cfs_views (view_id, version, canonical, digest, retired, recorded_by, receipt_id)
VALUES (@view_id, @version, @canonical, @digest, @retired, @recorded_by, @receipt_id);

-- name: LatestCFSView :one
SELECT * FROM cfs_views WHERE view_id = @view_id ORDER BY version DESC LIMIT 1;

-- name: CurrentCFSViews :many
SELECT DISTINCT ON (view_id) * FROM cfs_views ORDER BY view_id, version DESC;
