package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/identity"
)

// Token is a stored API token: who it authenticates as, with which roles,
// and its life. The store never returns a token or its hash (ADR 0117).
type Token = identity.Token

var (
	// ErrTokenNotFound: no live token has that hash or name, whether
	// there never was one or it was revoked.
	ErrTokenNotFound = identity.ErrTokenNotFound
	// ErrTokenNameTaken: a token, live or revoked, already has the name.
	ErrTokenNameTaken = errors.New("API token name is taken")
)

// NewToken is what `cfa token create` asks for.
type NewToken struct {
	// Name names the token in `cfa token list` and in the receipts it
	// causes (api:token:<name>); never reused, even once revoked.
	Name          string
	PrincipalID   string
	PrincipalType audit.PrincipalType
	Roles         []identity.Role
	// CreatedBy is who made the token (optional).
	CreatedBy string
}

func (n NewToken) check() (NewToken, error) {
	if err := identity.CheckTokenName(n.Name); err != nil {
		return n, err
	}
	if err := identity.CheckPrincipalID(n.PrincipalID); err != nil {
		return n, err
	}
	t, err := identity.ParsePrincipalType(string(n.PrincipalType))
	if err != nil {
		return n, err
	}
	names := make([]string, len(n.Roles))
	for i, r := range n.Roles {
		names[i] = string(r)
	}
	roles, err := identity.ParseRoles(names)
	if err != nil {
		return n, err
	}
	n.PrincipalType, n.Roles, n.CreatedBy = t, roles, strings.TrimSpace(n.CreatedBy)
	return n, nil
}

// CreateToken makes a token for a principal and stores its hash. The
// token is returned here and nowhere else: print it once.
func (s *Store) CreateToken(ctx context.Context, n NewToken) (string, Token, error) {
	n, err := n.check()
	if err != nil {
		return "", Token{}, fmt.Errorf("create API token: %w", err)
	}
	secret, err := identity.NewToken()
	if err != nil {
		return "", Token{}, err
	}
	roles := make([]string, len(n.Roles))
	for i, r := range n.Roles {
		roles[i] = string(r)
	}
	row, err := s.q.CreateAPIToken(ctx, dbsqlc.CreateAPITokenParams{
		ID: uuid.New(), Name: n.Name, PrincipalID: n.PrincipalID, PrincipalType: string(n.PrincipalType),
		Roles: roles, TokenHash: identity.HashToken(secret), CreatedBy: optional(n.CreatedBy),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", Token{}, fmt.Errorf("create API token %q: %w: pick another name (a revoked token keeps its name, so that "+
			"api:token:%s names one token in the audit trail); to replace the token, create one under a new name, then `cfa token revoke %s`",
			n.Name, ErrTokenNameTaken, n.Name, n.Name)
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("create API token %q: %w", n.Name, err)
	}
	return secret, token(dbsqlc.ListAPITokensRow(row)), nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.q.ListAPITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	out := make([]Token, 0, len(rows))
	for _, r := range rows {
		out = append(out, token(r))
	}
	return out, nil
}

// RevokeToken revokes the live token named name at once: the next call
// with it is refused. It reports false when no live token has the name.
func (s *Store) RevokeToken(ctx context.Context, name string) (bool, error) {
	n, err := s.q.RevokeAPIToken(ctx, name)
	if err != nil {
		return false, fmt.Errorf("revoke API token %q: %w", name, err)
	}
	return n > 0, nil
}

// LookupToken returns the live token whose identity.HashToken is hash (as
// it was before this use), and records the use (at most once a minute). An unknown and a revoked token
// both give ErrTokenNotFound, with no other detail. It implements
// identity.TokenLookup.
func (s *Store) LookupToken(ctx context.Context, hash []byte) (Token, error) {
	row, err := s.q.LookupAPIToken(ctx, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrTokenNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("look up an API token on %s: %w", describe(s.pool), err)
	}
	// Used within the minute: nothing to record, and no write.
	if row.LastUsedAt != nil && time.Since(*row.LastUsedAt) < time.Minute {
		return token(dbsqlc.ListAPITokensRow(row)), nil
	}
	if err := s.q.TouchAPIToken(ctx, row.ID); err != nil {
		return Token{}, fmt.Errorf("record the use of API token %q: %w", row.Name, err)
	}
	return token(dbsqlc.ListAPITokensRow(row)), nil
}

var _ identity.TokenLookup = (*Store)(nil)

func token(r dbsqlc.ListAPITokensRow) Token {
	roles := make([]identity.Role, len(r.Roles))
	for i, role := range r.Roles {
		roles[i] = identity.Role(role)
	}
	t := Token{
		ID: r.ID.String(), Name: r.Name, PrincipalID: r.PrincipalID, PrincipalType: audit.PrincipalType(r.PrincipalType),
		Roles: roles, CreatedAt: r.CreatedAt.UTC(), CreatedBy: deref(r.CreatedBy),
	}
	if r.RevokedAt != nil {
		at := r.RevokedAt.UTC()
		t.RevokedAt = &at
	}
	if r.LastUsedAt != nil {
		at := r.LastUsedAt.UTC()
		t.LastUsedAt = &at
	}
	return t
}
