package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/identity"
)

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, r := range identity.Roles {
		got, err := identity.ParseRole(string(r))
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
	got, err := identity.ParseRole("  Approver ")
	require.NoError(t, err)
	require.Equal(t, identity.RoleApprover, got)
	for _, bad := range []string{"", "root", "approvers", "read"} {
		_, err := identity.ParseRole(bad)
		require.ErrorContains(t, err, "unknown role", bad)
		require.ErrorContains(t, err, "use one of reader, submitter, approver, operator, auditor, admin", bad)
	}
}

func TestParseRolesDropsRepeatsAndNeedsOne(t *testing.T) {
	t.Parallel()
	rs, err := identity.ParseRoles([]string{"reader", "Submitter", "reader"})
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleReader, identity.RoleSubmitter}, rs)
	_, err = identity.ParseRoles(nil)
	require.ErrorContains(t, err, "grant at least one")
	_, err = identity.ParseRoles([]string{"reader", "god"})
	require.ErrorContains(t, err, `unknown role "god"`)
}

func TestParsePrincipalType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want audit.PrincipalType
		err  bool
	}{
		{"HUMAN", audit.PrincipalHuman, false},
		{"agent", audit.PrincipalAgent, false},
		{" Service ", audit.PrincipalService, false},
		{"SYSTEM", "", true}, // the worker's own, never a caller's
		{"", "", true},
		{"robot", "", true},
	}
	for _, tc := range cases {
		got, err := identity.ParsePrincipalType(tc.in)
		if tc.err {
			require.ErrorContains(t, err, "use HUMAN, AGENT or SERVICE", tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

// TestRolesGrant is the roles→permissions table of ADR 0117.
func TestRolesGrant(t *testing.T) {
	t.Parallel()
	perms := []identity.Permission{identity.PermRead, identity.PermSubmit, identity.PermApprove, identity.PermCancel, identity.PermAudit}
	want := map[identity.Role]string{ // the permissions granted, in perms order: R S A C U
		identity.RoleReader:    "R....",
		identity.RoleSubmitter: "RS...",
		identity.RoleApprover:  "R.A..",
		identity.RoleOperator:  "R..C.",
		identity.RoleAuditor:   "R...U",
		identity.RoleAdmin:     "RSACU",
	}
	require.Len(t, want, len(identity.Roles))
	for _, r := range identity.Roles {
		p := identity.Principal{ID: "x", Type: audit.PrincipalHuman, Roles: []identity.Role{r}}
		for i, perm := range perms {
			require.Equal(t, want[r][i] != '.', p.Can(perm), "%s %s", r, perm)
		}
	}
	none := identity.Principal{ID: "x", Type: audit.PrincipalHuman}
	for _, perm := range perms {
		require.False(t, none.Can(perm), "no role grants nothing")
	}
	both := identity.Principal{ID: "x", Roles: []identity.Role{identity.RoleSubmitter, identity.RoleOperator}}
	require.True(t, both.Can(identity.PermSubmit))
	require.True(t, both.Can(identity.PermCancel))
	require.False(t, both.Can(identity.PermApprove))
	unknown := identity.Principal{ID: "x", Roles: []identity.Role{"root"}}
	require.False(t, unknown.Can(identity.PermRead), "a role this build does not know grants nothing")
}

func TestPrincipalAudit(t *testing.T) {
	t.Parallel()
	p := identity.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "api:token:maria-laptop", Roles: []identity.Role{identity.RoleAdmin}}
	require.Equal(t, audit.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "api:token:maria-laptop"}, p.Audit())
}

func TestTokenFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		tok, err := identity.NewToken()
		require.NoError(t, err)
		require.Len(t, tok, 47)
		require.Equal(t, identity.TokenLen, len(tok))
		require.Equal(t, identity.TokenLen, 4+base64.RawURLEncoding.EncodedLen(32))
		require.True(t, strings.HasPrefix(tok, "cfa_"))
		require.Regexp(t, `^cfa_[A-Za-z0-9_-]{43}$`, tok)
		require.True(t, identity.IsToken(tok))
		require.False(t, seen[tok], "tokens are random")
		seen[tok] = true
		h := identity.HashToken(tok)
		require.Len(t, h, 32)
		require.Equal(t, h, identity.HashToken(tok), "the hash is deterministic")
	}
	// SHA-256 of the token's text.
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex.EncodeToString(identity.HashToken("")))
}

func TestIsToken(t *testing.T) {
	t.Parallel()
	good := "cfa_" + strings.Repeat("A", 43)
	cases := map[string]bool{
		good: true,
		"cfa_" + strings.Repeat("a-_9", 10) + "abc": true,
		"":                                     false,
		"cfa_":                                 false,
		"CFA_" + strings.Repeat("A", 43):       false,
		"cfa_" + strings.Repeat("A", 42):       false,
		"cfa_" + strings.Repeat("A", 44):       false,
		"cfa_" + strings.Repeat("A", 42) + "=": false,
		"cfa_" + strings.Repeat("A", 42) + "+": false,
		"cfa_" + strings.Repeat("A", 42) + "/": false,
		"xyz_" + strings.Repeat("A", 43):       false,
		"eyJhbGciOiJFUzI1NiJ9.e30.sig":         false,
	}
	for s, want := range cases {
		require.Equal(t, want, identity.IsToken(s), s)
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ci", "maria-laptop", "svc.ingest_2", "A1"} {
		require.NoError(t, identity.CheckTokenName(ok), ok)
	}
	for _, bad := range []string{"", "-x", ".x", "has space", "a/b", "ção", strings.Repeat("a", 65)} {
		require.Error(t, identity.CheckTokenName(bad), bad)
	}
	require.ErrorContains(t, identity.CheckTokenName(""), "--name")
	for _, ok := range []string{"maria", "maria@example.com", "svc:ci", "José Silva", strings.Repeat("a", 256)} {
		require.NoError(t, identity.CheckPrincipalID(ok), ok)
	}
	for _, bad := range []string{"", " maria", "maria ", "a\nb", "a\x00b", strings.Repeat("a", 257)} {
		require.Error(t, identity.CheckPrincipalID(bad), bad)
	}
}

// lookup is an in-memory identity.TokenLookup (the store's is tested in db).
type lookup struct {
	tokens map[string]identity.Token // by hex hash
	err    error
}

func (l lookup) LookupToken(_ context.Context, hash []byte) (identity.Token, error) {
	if l.err != nil {
		return identity.Token{}, l.err
	}
	t, ok := l.tokens[hex.EncodeToString(hash)]
	if !ok {
		return identity.Token{}, identity.ErrTokenNotFound
	}
	return t, nil
}

func TestTokenAuthenticator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tok, err := identity.NewToken()
	require.NoError(t, err)
	other, err := identity.NewToken()
	require.NoError(t, err)
	stored := identity.Token{Name: "ci", PrincipalID: "ci-bot", PrincipalType: audit.PrincipalService,
		Roles: []identity.Role{identity.RoleSubmitter}, CreatedAt: time.Now()}
	a := identity.TokenAuthenticator{Tokens: lookup{tokens: map[string]identity.Token{hex.EncodeToString(identity.HashToken(tok)): stored}}}

	want := identity.Principal{ID: "ci-bot", Type: audit.PrincipalService, AuthContext: "api:token:ci", Roles: []identity.Role{identity.RoleSubmitter}}
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, "  BEARER   " + tok + " "} {
		p, err := a.Authenticate(ctx, h)
		require.NoError(t, err, h)
		require.Equal(t, want, p)
	}

	refused := map[string]string{
		"no header":              "",
		"basic":                  "Basic dXNlcjpwYXNz",
		"no credentials":         "Bearer",
		"blank credentials":      "Bearer    ",
		"no scheme":              tok,
		"unknown token":          "Bearer " + other,
		"malformed token":        "Bearer cfa_short",
		"two credentials":        "Bearer " + tok + " " + other,
		"a JWT, none configured": "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		"too long":               "Bearer " + strings.Repeat("a", identity.MaxCredentialLen+1),
	}
	for name, h := range refused {
		_, err := a.Authenticate(ctx, h)
		require.ErrorIs(t, err, identity.ErrUnauthenticated, name)
		require.Equal(t, "unauthenticated", err.Error(), "%s: the message says nothing more", name)
		var ae *identity.AuthError
		require.ErrorAs(t, err, &ae, name)
		require.NotContains(t, ae.Reason, tok, "the reason never holds the credentials")
		require.NotContains(t, ae.Reason, other)
	}

	_, err = identity.TokenAuthenticator{}.Authenticate(ctx, "Bearer "+tok)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "no token store: no token is accepted")

	down := identity.TokenAuthenticator{Tokens: lookup{err: errors.New("connection refused")}}
	_, err = down.Authenticate(ctx, "Bearer "+tok)
	require.ErrorContains(t, err, "connection refused")
	require.NotErrorIs(t, err, identity.ErrUnauthenticated, "a store that cannot answer is not bad credentials")

	// A revoked token is the store's not-found: the same refusal as unknown.
	revoked := identity.TokenAuthenticator{Tokens: lookup{}}
	_, errRevoked := revoked.Authenticate(ctx, "Bearer "+tok)
	_, errUnknown := a.Authenticate(ctx, "Bearer "+other)
	require.Equal(t, errUnknown, errRevoked)
}
