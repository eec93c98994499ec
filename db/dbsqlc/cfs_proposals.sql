-- name: InsertCFSProposal :exec
INSERT INTO cfs_proposals (proposal_id, request, diff, affected, base, intent, proposer_id, proposer_type,
    status, propose_receipt, created_at, updated_at)
VALUES (@proposal_id, @request, @diff, @affected, @base, @intent, @proposer_id, @proposer_type,
    'proposed', @propose_receipt, @created_at, @created_at);

-- name: CFSProposal :one
SELECT * FROM cfs_proposals WHERE proposal_id = @proposal_id;

-- name: LockCFSProposal :one
SELECT * FROM cfs_proposals WHERE proposal_id = @proposal_id FOR UPDATE;

-- name: ReviewCFSProposal :exec
UPDATE cfs_proposals SET status = @status, reviewer = @reviewer, review_receipt = @review_receipt, updated_at = @updated_at
WHERE proposal_id = @proposal_id AND status = 'proposed';

-- name: ApplyCFSProposal :exec
UPDATE cfs_proposals SET status = 'applied', apply_receipt = @apply_receipt, commit_id = @commit_id, updated_at = @updated_at
WHERE proposal_id = @proposal_id AND status = 'approved';

-- name: CFSProposals :many
SELECT * FROM cfs_proposals
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
ORDER BY created_at DESC, proposal_id
LIMIT @max_rows;

-- name: CFSReceipt :one
SELECT * FROM audit_events WHERE receipt_id = @receipt_id;
