package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/contextualflux/cfa/internal/audit"
)

// TokenPrefix starts every API token: a token is recognised (by the API,
// and by a secret scanner) before anything is looked up.
const TokenPrefix = "cfa_"

// tokenBytes is the entropy of a token: 256 bits.
const tokenBytes = 32

// TokenLen is the length of a token: the prefix and 43 characters of
// unpadded base64url (of tokenBytes).
const TokenLen = len(TokenPrefix) + (tokenBytes*8+5)/6

// NewToken returns a fresh token: TokenPrefix and 32 random bytes in
// unpadded base64url. Only its HashToken is stored.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make an API token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// IsToken reports whether s has the shape of a token NewToken makes (its
// prefix, its length, base64url characters). It says nothing of whether the
// token exists.
func IsToken(s string) bool {
	if len(s) != TokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	for _, c := range s[len(TokenPrefix):] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashToken is what the database keeps of a token, and looks it up by:
// its SHA-256. A token is 256 random bits, so a plain hash suffices (no
// salt or stretching: there is nothing to guess).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Token is a stored token as the store returns it: who it authenticates as
// and with which roles. Never the token or its hash.
type Token struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	PrincipalID   string              `json:"principal_id"`
	PrincipalType audit.PrincipalType `json:"principal_type"`
	Roles         []Role              `json:"roles"`
	CreatedAt     time.Time           `json:"created_at"`
	CreatedBy     string              `json:"created_by,omitempty"`
	RevokedAt     *time.Time          `json:"revoked_at,omitempty"`
	LastUsedAt    *time.Time          `json:"last_used_at,omitempty"`
}

// TokenAuthContext is the auth context of a token's principal.
func TokenAuthContext(name string) string { return "api:token:" + name }

// Principal is who the token authenticates as.
func (t Token) Principal() Principal {
	return Principal{ID: t.PrincipalID, Type: t.PrincipalType, AuthContext: TokenAuthContext(t.Name), Roles: slices.Clone(t.Roles)}
}

// ErrTokenNotFound: no live token has that hash, whether none ever had it
// or its token was revoked (the two are never told apart).
var ErrTokenNotFound = errors.New("no live API token has that hash")

// TokenLookup finds a live token by its HashToken. It returns an error
// matching ErrTokenNotFound for a hash it does not know and for a revoked
// token alike; any other error is the store's (unreachable, ...). db.Store
// implements it.
type TokenLookup interface {
	LookupToken(ctx context.Context, hash []byte) (Token, error)
}

// MaxNameLen bounds a token name; MaxPrincipalIDLen a principal id.
const (
	MaxNameLen        = 64
	MaxPrincipalIDLen = 256
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CheckTokenName checks a token's name: it is in every receipt the token
// causes (api:token:<name>), so it is short and plain.
func CheckTokenName(name string) error {
	if name == "" {
		return fmt.Errorf("the token name is empty: name the token (--name), e.g. ci-pipeline or maria-laptop")
	}
	if len(name) > MaxNameLen || !tokenName.MatchString(name) {
		return fmt.Errorf("token name %q: use at most %d letters, digits, '.', '_' or '-', starting with a letter or digit", name, MaxNameLen)
	}
	return nil
}

// CheckPrincipalID checks a principal id: the actor id of receipts and the
// name the policy bundle's approvers list.
func CheckPrincipalID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("the principal id is empty: say who the caller is (a login, or an agent's or a service's name)")
	case len(id) > MaxPrincipalIDLen:
		return fmt.Errorf("principal id %.32q...: at most %d bytes", id, MaxPrincipalIDLen)
	case strings.TrimSpace(id) != id || strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("principal id %q: no leading or trailing space and no control character", id)
	}
	return nil
}

// ParseRoles checks role names, dropping repeats; it needs at least one.
func ParseRoles(names []string) ([]Role, error) {
	var out []Role
	for _, n := range names {
		r, err := ParseRole(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no role: grant at least one (--role), one of %s", roleNames())
	}
	return out, nil
}

func roleNames() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
