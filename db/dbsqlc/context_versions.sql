-- name: InsertPolicyBundle :execrows
-- No row when the version is recorded already (by this or another worker).
INSERT INTO policy_bundles (version, name, declared_version, content, source)
VALUES (@version, @name, @declared_version, @content, @source)
ON CONFLICT (version) DO NOTHING;

-- name: GetPolicyBundle :one
SELECT version, name, declared_version, content, source, recorded_at, recorded_by
FROM policy_bundles WHERE version = @version;

-- name: ListPolicyBundles :many
SELECT version, name, declared_version, recorded_at, recorded_by
FROM policy_bundles ORDER BY recorded_at, version;

-- name: InsertCatalogSnapshot :execrows
-- No row when the version is recorded already.
INSERT INTO catalog_snapshots (version, content)
VALUES (@version, @content)
ON CONFLICT (version) DO NOTHING;

-- name: GetCatalogSnapshot :one
SELECT version, content, recorded_at, recorded_by
FROM catalog_snapshots WHERE version = @version;

-- name: ListCatalogSnapshots :many
SELECT version, recorded_at, recorded_by
FROM catalog_snapshots ORDER BY recorded_at, version;
