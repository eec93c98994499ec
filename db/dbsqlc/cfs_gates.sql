-- name: LockCFSGate :one
SELECT * FROM cfs_gates WHERE gate_id = @gate_id FOR UPDATE;

-- name: UpsertCFSGate :exec
INSERT INTO cfs_gates (gate_id, kind, subject, status, definition, expires_at, version, created_at, updated_at)
VALUES (@gate_id, @kind, @subject, @status, @definition, @expires_at, @version, @updated_at, @updated_at)
ON CONFLICT (gate_id) DO UPDATE
SET status = EXCLUDED.status, definition = EXCLUDED.definition, expires_at = EXCLUDED.expires_at,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at;

-- name: InsertCFSGateEvidence :exec
INSERT INTO cfs_gate_evidence (gate_id, requirement_id, receipt_id, verified_at)
VALUES (@gate_id, @requirement_id, @receipt_id, @verified_at)
ON CONFLICT DO NOTHING;

-- name: CFSGate :one
SELECT * FROM cfs_gates WHERE gate_id = @gate_id;

-- name: CFSGates :many
SELECT * FROM cfs_gates
WHERE (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind)::text)
ORDER BY updated_at DESC, gate_id
LIMIT @max_rows;

-- name: CFSGateEvidence :many
SELECT * FROM cfs_gate_evidence WHERE gate_id = @gate_id ORDER BY verified_at, requirement_id, receipt_id;
