-- The API's bearer tokens (ADR 0117): who a token authenticates as and with
-- which roles. Only the SHA-256 of a token is kept: the token itself is
-- printed once by `cfa token create` and never stored. A revoked token keeps
-- its row, and its name, so every receipt's api:token:<name> names one token.

-- +goose Up
CREATE TABLE api_tokens (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name <> ''),
    principal_id   text NOT NULL CHECK (principal_id <> ''),
    principal_type text NOT NULL CHECK (principal_type IN ('HUMAN', 'AGENT', 'SERVICE')),
    roles          text[] NOT NULL CHECK (cardinality(roles) > 0 AND array_position(roles, '') IS NULL AND array_position(roles, NULL) IS NULL),
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NULL,
    revoked_at     timestamptz NULL,
    last_used_at   timestamptz NULL
);

-- +goose Down
DROP TABLE api_tokens;
