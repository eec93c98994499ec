-- The context plane's bitemporal versions (migration 0023, ADR 0147).
-- An open end is unbounded (upper_inf) and never reaches Go: a query
-- reports it as *_open, with the lower bound in its place.

-- name: PlaneID :one
SELECT plane_id FROM cfs_plane;

-- name: PlaneNow :one
-- The transaction's plane time: the system time the insert trigger assigns.
SELECT cfs_plane_now()::timestamptz AS now;

-- name: InsertPlaneCommit :exec
INSERT INTO cfs_commits (commit_id, commit_time, source_plane, reason, actor)
VALUES (@commit_id, @commit_time, @source_plane, @reason, @actor)
ON CONFLICT (commit_id) DO NOTHING;

-- name: CurrentRecordVersions :many
-- The versions of these records the plane knows now and that are valid
-- open-ended: the ones a put replaces. Locked so writers serialise per id.
SELECT seq, record_id, canonical, integrity, created_at,
       lower(valid)::timestamptz AS valid_from, lower(system)::timestamptz AS system_from
FROM cfs_record_versions
WHERE record_id = ANY(@ids::text[]) AND upper_inf(system) AND upper_inf(valid)
ORDER BY record_id
FOR UPDATE;

-- name: CurrentLinkVersions :many
SELECT seq, link_id, canonical, integrity,
       lower(valid)::timestamptz AS valid_from, upper_inf(valid) AS valid_open,
       (CASE WHEN upper_inf(valid) THEN lower(valid) ELSE upper(valid) END)::timestamptz AS valid_to,
       lower(system)::timestamptz AS system_from
FROM cfs_link_versions
WHERE link_id = ANY(@ids::text[]) AND upper_inf(system)
ORDER BY link_id
FOR UPDATE;

-- name: CloseRecordVersion :exec
UPDATE cfs_record_versions SET system = tstzrange(lower(system), @closed_at::timestamptz, '[)')
WHERE seq = @seq;

-- name: CloseLinkVersion :exec
UPDATE cfs_link_versions SET system = tstzrange(lower(system), @closed_at::timestamptz, '[)')
WHERE seq = @seq;

-- name: InsertRecordVersion :exec
-- system is the trigger's: [now(), unbounded).
INSERT INTO cfs_record_versions (record_id, tenant_id, labels, props, created_at, integrity, canonical, valid, commit_id, derived)
VALUES (@record_id, @tenant_id, @labels::text[], @props, sqlc.narg('created_at'), @integrity, @canonical,
        tstzrange(@valid_from::timestamptz, sqlc.narg('valid_to')::timestamptz, '[)'), @commit_id, @derived);

-- name: InsertLinkVersion :exec
INSERT INTO cfs_link_versions (link_id, type, source, target, props, assertion_id, integrity, canonical, valid, commit_id)
VALUES (@link_id, @type, @source, @target, @props, @assertion_id, @integrity, @canonical,
        tstzrange(@valid_from::timestamptz, sqlc.narg('valid_to')::timestamptz, '[)'), @commit_id);

-- name: ImportRecordVersion :exec
-- Sync import: system = [system_from, unbounded) as the source had it (ADR 0148).
SELECT cfs_plane_import_record(@record_id::text, @tenant_id::text, @labels::text[], @props::jsonb, sqlc.narg('created_at')::timestamptz,
       @integrity::bytea, @canonical::bytea,
       tstzrange(@valid_from::timestamptz, sqlc.narg('valid_to')::timestamptz, '[)'),
       tstzrange(@system_from::timestamptz, NULL, '[)'), @commit_id::text, @derived::boolean);

-- name: ImportLinkVersion :exec
SELECT cfs_plane_import_link(@link_id::text, @type::text, @source::text, @target::text, @props::jsonb, @assertion_id::text,
       @integrity::bytea, @canonical::bytea,
       tstzrange(@valid_from::timestamptz, sqlc.narg('valid_to')::timestamptz, '[)'),
       tstzrange(@system_from::timestamptz, NULL, '[)'), @commit_id::text);

-- name: RecordsAsOf :many
-- One version per record at (valid, system): the exclusion constraint
-- allows no more. A NULL time is CFS "forever": the open-ended versions.
SELECT seq, record_id, canonical
FROM cfs_record_versions
WHERE record_id > @after_id::text
  AND (CASE WHEN sqlc.narg('as_of_system')::timestamptz IS NULL THEN upper_inf(system) ELSE system @> sqlc.narg('as_of_system')::timestamptz END)
  AND (CASE WHEN sqlc.narg('as_of_valid')::timestamptz IS NULL THEN upper_inf(valid) ELSE valid @> sqlc.narg('as_of_valid')::timestamptz END)
  AND (cardinality(@ids::text[]) = 0 OR record_id = ANY(@ids::text[]))
ORDER BY record_id
LIMIT @max_rows;

-- name: LinksAsOf :many
SELECT seq, link_id, canonical
FROM cfs_link_versions
WHERE link_id > @after_id::text
  AND (CASE WHEN sqlc.narg('as_of_system')::timestamptz IS NULL THEN upper_inf(system) ELSE system @> sqlc.narg('as_of_system')::timestamptz END)
  AND (CASE WHEN sqlc.narg('as_of_valid')::timestamptz IS NULL THEN upper_inf(valid) ELSE valid @> sqlc.narg('as_of_valid')::timestamptz END)
ORDER BY link_id
LIMIT @max_rows;

-- name: ExportVersions :many
-- The asserted versions (not the derived record copies) after a cursor,
-- in commit order.
SELECT * FROM (
    SELECT r.seq, 'record'::text AS kind, r.canonical, r.commit_id, lower(r.system)::timestamptz AS commit_time,
           r.tenant_id, r.labels, ''::text AS type
    FROM cfs_record_versions r
    WHERE r.seq > @after_seq::bigint AND NOT r.derived
    UNION ALL
    SELECT l.seq, 'link'::text AS kind, l.canonical, l.commit_id, lower(l.system)::timestamptz AS commit_time,
           ''::text AS tenant_id, '{}'::text[] AS labels, l.type
    FROM cfs_link_versions l
    WHERE l.seq > @after_seq::bigint
) v
ORDER BY v.seq
LIMIT @max_rows;

-- name: GetSyncCursor :one
SELECT cursor FROM cfs_sync_cursors WHERE source_plane = @source_plane;

-- name: SetSyncCursor :exec
INSERT INTO cfs_sync_cursors (source_plane, cursor) VALUES (@source_plane, @cursor)
ON CONFLICT (source_plane) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now();
