-- CFS governance (issue 16 items 4 and 5, docs/adr/0149 and 0150): CFS
-- Policies and Views, Gates with their evidence, and the proposals of the
-- write protocol (Propose -> Review -> Apply).
--
-- Policies and views are versioned append-only: a put appends a version
-- (canonical holds the CFS canonical bytes, digest their SHA-256); the
-- current definition is the latest version, and a retired version ends
-- one. Gate evidence cites a receipt of the audit chain by its id (a
-- foreign key: evidence cannot cite a receipt that does not exist).
-- Proposals move proposed -> approved | rejected, approved -> applied;
-- each step is audited in a trail of its own (db/cfsgovernance.go).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION cfs_governance_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed (CFS MUST-004)', TG_TABLE_NAME, TG_OP
        USING HINT = 'Append a new version instead.';
END;
$$;
-- +goose StatementEnd

CREATE TABLE cfs_policies (
    policy_id   text NOT NULL CHECK (policy_id <> ''),
    version     integer NOT NULL CHECK (version > 0),
    canonical   bytea NOT NULL,
    digest      bytea NOT NULL CHECK (octet_length(digest) = 32),
    retired     boolean NOT NULL DEFAULT false,
    recorded_by text NOT NULL CHECK (recorded_by <> ''),
    receipt_id  text NOT NULL REFERENCES audit_events (receipt_id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, version)
);
CREATE TRIGGER cfs_policies_append_only BEFORE UPDATE OR DELETE ON cfs_policies
    FOR EACH ROW EXECUTE FUNCTION cfs_governance_append_only();

CREATE TABLE cfs_views (
    view_id     text NOT NULL CHECK (view_id <> ''),
    version     integer NOT NULL CHECK (version > 0),
    canonical   bytea NOT NULL,
    digest      bytea NOT NULL CHECK (octet_length(digest) = 32),
    retired     boolean NOT NULL DEFAULT false,
    recorded_by text NOT NULL CHECK (recorded_by <> ''),
    receipt_id  text NOT NULL REFERENCES audit_events (receipt_id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (view_id, version)
);
CREATE TRIGGER cfs_views_append_only BEFORE UPDATE OR DELETE ON cfs_views
    FOR EACH ROW EXECUTE FUNCTION cfs_governance_append_only();

-- A gate's current state: definition is the canonical Gate without its
-- evidence (requirements with satisfied, unlocks, status, expires_at);
-- the evidence is the rows of cfs_gate_evidence.
CREATE TABLE cfs_gates (
    gate_id    text PRIMARY KEY CHECK (gate_id <> ''),
    kind       text NOT NULL CHECK (kind IN ('promotion', 'projection_failure')),
    subject    text NOT NULL CHECK (subject <> ''),
    status     text NOT NULL CHECK (status IN ('LOCKED', 'PENDING', 'UNLOCKED')),
    definition bytea NOT NULL,
    expires_at timestamptz NULL,
    version    integer NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE cfs_gate_evidence (
    gate_id        text NOT NULL REFERENCES cfs_gates (gate_id),
    requirement_id text NOT NULL CHECK (requirement_id <> ''),
    receipt_id     text NOT NULL REFERENCES audit_events (receipt_id),
    verified_at    timestamptz NOT NULL,
    PRIMARY KEY (gate_id, requirement_id, receipt_id)
);
CREATE TRIGGER cfs_gate_evidence_append_only BEFORE UPDATE OR DELETE ON cfs_gate_evidence
    FOR EACH ROW EXECUTE FUNCTION cfs_governance_append_only();

CREATE TABLE cfs_proposals (
    proposal_id     text PRIMARY KEY CHECK (proposal_id <> ''),
    -- canonical ProposeRequest (mutations, intent, citations) and Diff
    request         bytea NOT NULL,
    diff            bytea NOT NULL,
    affected        text[] NOT NULL,
    -- target -> hex integrity of its current version at propose time
    -- ("" for a target that did not exist): Apply refuses when it moved.
    base            jsonb NOT NULL CHECK (jsonb_typeof(base) = 'object'),
    intent          text NOT NULL,
    proposer_id     text NOT NULL CHECK (proposer_id <> ''),
    proposer_type   text NOT NULL CHECK (proposer_type IN ('HUMAN', 'AGENT', 'SERVICE', 'SYSTEM')),
    status          text NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected', 'applied')),
    propose_receipt text NOT NULL REFERENCES audit_events (receipt_id),
    reviewer        text NULL,
    review_receipt  text NULL REFERENCES audit_events (receipt_id),
    apply_receipt   text NULL REFERENCES audit_events (receipt_id),
    commit_id       text NULL REFERENCES cfs_commits (commit_id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((status = 'applied') = (commit_id IS NOT NULL AND apply_receipt IS NOT NULL)),
    CHECK ((status = 'proposed') = (review_receipt IS NULL)),
    -- separation of duties: a proposer may withdraw (reject) their own
    -- proposal, never approve it
    CHECK (reviewer IS NULL OR reviewer <> proposer_id OR status = 'rejected')
);
CREATE INDEX cfs_proposals_by_status ON cfs_proposals (status, created_at);

-- +goose Down
DROP TABLE cfs_proposals;
DROP TABLE cfs_gate_evidence;
DROP TABLE cfs_gates;
DROP TABLE cfs_views;
DROP TABLE cfs_policies;
DROP FUNCTION cfs_governance_append_only();
