package db_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/identity"
)

// TestTokensLifecycle runs as the worker role, as the CLI and the API do:
// create, list, look up, revoke.
func TestTokensLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_tokens")
	s := db.New(d.Worker)

	secret, tok, err := s.CreateToken(ctx, db.NewToken{Name: "ci", PrincipalID: "ci-bot", PrincipalType: audit.PrincipalService,
		Roles: []identity.Role{identity.RoleSubmitter, identity.RoleReader, identity.RoleSubmitter}, CreatedBy: "maria"})
	require.NoError(t, err)
	require.True(t, identity.IsToken(secret), secret)
	require.Equal(t, "ci", tok.Name)
	require.Equal(t, "ci-bot", tok.PrincipalID)
	require.Equal(t, audit.PrincipalService, tok.PrincipalType)
	require.Equal(t, []identity.Role{identity.RoleSubmitter, identity.RoleReader}, tok.Roles, "repeats dropped")
	require.Equal(t, "maria", tok.CreatedBy)
	require.WithinDuration(t, time.Now(), tok.CreatedAt, time.Minute)
	require.Nil(t, tok.RevokedAt)
	require.Nil(t, tok.LastUsedAt)

	secret2, _, err := s.CreateToken(ctx, db.NewToken{Name: "maria-laptop", PrincipalID: "maria", PrincipalType: audit.PrincipalHuman,
		Roles: []identity.Role{identity.RoleApprover}})
	require.NoError(t, err)
	require.NotEqual(t, secret, secret2)

	got, err := s.LookupToken(ctx, identity.HashToken(secret))
	require.NoError(t, err)
	require.Equal(t, "ci", got.Name)
	require.Equal(t, identity.Principal{ID: "ci-bot", Type: audit.PrincipalService, AuthContext: "api:token:ci",
		Roles: []identity.Role{identity.RoleSubmitter, identity.RoleReader}}, got.Principal())

	list, err := s.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "ci", list[0].Name)
	require.NotNil(t, list[0].LastUsedAt, "the lookup recorded a use")
	require.Nil(t, list[1].LastUsedAt)
	require.Equal(t, "maria-laptop", list[1].Name)
	require.Empty(t, list[1].CreatedBy)

	// The token itself is stored nowhere: only its SHA-256.
	var stored int
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT count(*) FROM api_tokens WHERE token_hash = $1", identity.HashToken(secret)).Scan(&stored))
	require.Equal(t, 1, stored)
	var leaked bool
	require.NoError(t, d.Pool.QueryRow(ctx, "SELECT bool_or(t::text LIKE '%' || $1 || '%') FROM api_tokens t", secret[4:20]).Scan(&leaked))
	require.False(t, leaked)

	_, err = s.LookupToken(ctx, identity.HashToken("cfa_"+strings.Repeat("A", 43)))
	require.ErrorIs(t, err, db.ErrTokenNotFound)
	unknownErr := err

	ok, err := s.RevokeToken(ctx, "ci")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.RevokeToken(ctx, "ci")
	require.NoError(t, err)
	require.False(t, ok, "revoked already")
	ok, err = s.RevokeToken(ctx, "nobody")
	require.NoError(t, err)
	require.False(t, ok)

	_, err = s.LookupToken(ctx, identity.HashToken(secret))
	require.ErrorIs(t, err, db.ErrTokenNotFound)
	require.Equal(t, unknownErr, err, "a revoked token reads exactly as an unknown one")

	list, err = s.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2, "a revoked token stays listed")
	require.NotNil(t, list[0].RevokedAt)
	require.Nil(t, list[1].RevokedAt)

	// The name of a revoked token is not reused.
	_, _, err = s.CreateToken(ctx, db.NewToken{Name: "ci", PrincipalID: "ci-bot", PrincipalType: audit.PrincipalService, Roles: []identity.Role{identity.RoleReader}})
	require.ErrorIs(t, err, db.ErrTokenNameTaken)
	_, _, err = s.CreateToken(ctx, db.NewToken{Name: "maria-laptop", PrincipalID: "maria", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleReader}})
	require.ErrorIs(t, err, db.ErrTokenNameTaken)
	require.ErrorContains(t, err, "pick another name")
	require.ErrorContains(t, err, "cfa token revoke maria-laptop")

	// The worker revokes and records uses; it never changes a token's
	// roles or principal, nor deletes one.
	_, err = d.Worker.Exec(ctx, "UPDATE api_tokens SET roles = '{admin}'")
	requireState(t, err, "42501", "the worker changes a token's roles")
	_, err = d.Worker.Exec(ctx, "DELETE FROM api_tokens")
	requireState(t, err, "42501", "the worker deletes a token")

	// The API's authenticator over the store.
	a := identity.TokenAuthenticator{Tokens: s}
	p, err := a.Authenticate(ctx, "Bearer "+secret2)
	require.NoError(t, err)
	require.Equal(t, "maria", p.ID)
	require.Equal(t, "api:token:maria-laptop", p.AuthContext)
	require.True(t, p.Can(identity.PermApprove))
	_, err = a.Authenticate(ctx, "Bearer "+secret)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "revoked")
}

func TestCreateTokenRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := db.NewToken{Name: "x", PrincipalID: "x", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleReader}}
	cases := []struct {
		name string
		mod  func(*db.NewToken)
		want string
	}{
		{"empty name", func(n *db.NewToken) { n.Name = "" }, "the token name is empty"},
		{"name with a space", func(n *db.NewToken) { n.Name = "my token" }, "letters, digits"},
		{"empty principal", func(n *db.NewToken) { n.PrincipalID = "" }, "principal id is empty"},
		{"SYSTEM", func(n *db.NewToken) { n.PrincipalType = audit.PrincipalSystem }, "use HUMAN, AGENT or SERVICE"},
		{"no type", func(n *db.NewToken) { n.PrincipalType = "" }, "use HUMAN, AGENT or SERVICE"},
		{"no role", func(n *db.NewToken) { n.Roles = nil }, "grant at least one"},
		{"unknown role", func(n *db.NewToken) { n.Roles = []identity.Role{"root"} }, `unknown role "root"`},
	}
	for _, tc := range cases {
		n := good
		tc.mod(&n)
		_, _, err := testStore.CreateToken(ctx, n)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// TestAPIRefusalsAreAudited: a refused call is a trail of its own that
// `cfa audit verify` accepts, with the caller (or the API, when nobody
// authenticated) as actor.
func TestAPIRefusalsAreAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(dbtest.New(t, "db_api_refusals").Worker)

	anon, err := s.RecordAPIRefusal(ctx, db.APIRefusal{Procedure: "/cfa.v1.IntentService/ApproveEscalation", Code: db.RefusalUnauthenticated, Target: "intent:nope"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(anon, db.APIRefusedPrefix), anon)
	maria := audit.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "api:token:maria-laptop"}
	denied, err := s.RecordAPIRefusal(ctx, db.APIRefusal{Principal: &maria, Procedure: "/cfa.v1.AuditService/Export", Code: db.RefusalPermissionDenied})
	require.NoError(t, err)
	long, err := s.RecordAPIRefusal(ctx, db.APIRefusal{Procedure: "/x\n" + strings.Repeat("é", 400), Code: db.RefusalUnauthenticated, Target: "intent:\x00" + strings.Repeat("a", 1000)})
	require.NoError(t, err)

	for _, bad := range []db.APIRefusal{
		{Procedure: "/p", Code: "nope"},
		{Procedure: "/p", Code: db.RefusalPermissionDenied, Principal: &audit.Principal{ID: "", Type: audit.PrincipalHuman}},
		{Procedure: "/p", Code: db.RefusalPermissionDenied, Principal: &audit.Principal{ID: "x", Type: audit.PrincipalSystem}},
	} {
		_, err := s.RecordAPIRefusal(ctx, bad)
		require.Error(t, err)
	}

	chain, err := s.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.Len(t, chain, 9, "three events per refusal, none for the calls refused as malformed")
	require.NoError(t, audit.Verify(chain))
	require.NoError(t, audit.CompletePerIntent(chain))
	pos, integrity, err := s.AuditHead(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.VerifyHead(chain, pos, integrity))

	trail, err := s.AuditByIntent(ctx, anon)
	require.NoError(t, err)
	require.Len(t, trail, 3)
	require.Equal(t, []string{audit.EventIntentReceived, audit.EventAPICallRefused, audit.EventIntentCompleted},
		[]string{trail[0].EventType(), trail[1].EventType(), trail[2].EventType()})
	for _, r := range trail {
		require.Equal(t, db.APIActor.ID, r.Actor.ID)
		require.Equal(t, audit.PrincipalSystem, r.Actor.Type)
		require.Equal(t, "api:unauthenticated", r.Actor.AuthContext)
		require.Equal(t, []string{"api:/cfa.v1.IntentService/ApproveEscalation", "intent:nope"}, r.Targets)
		require.Equal(t, db.StageAPI, r.Context[audit.CtxStage])
	}
	require.Equal(t, db.RefusalUnauthenticated, trail[1].Context[audit.CtxOutcome])
	require.Equal(t, "refused", trail[2].Context[audit.CtxOutcome])
	want, err := json.Marshal(events.APICallRefused{Procedure: "/cfa.v1.IntentService/ApproveEscalation", Code: "unauthenticated", Target: "intent:nope"})
	require.NoError(t, err)
	require.JSONEq(t, string(want), trail[1].Context[audit.CtxDetails])

	trail, err = s.AuditByIntent(ctx, denied)
	require.NoError(t, err)
	require.Len(t, trail, 3)
	require.Equal(t, "maria", trail[1].Actor.ID)
	require.Equal(t, audit.PrincipalHuman, trail[1].Actor.Type)
	require.Equal(t, "api:token:maria-laptop", trail[1].Actor.AuthContext)
	require.Equal(t, []string{"api:/cfa.v1.AuditService/Export"}, trail[1].Targets)
	require.Equal(t, db.RefusalPermissionDenied, trail[1].Context[audit.CtxOutcome])

	trail, err = s.AuditByIntent(ctx, long)
	require.NoError(t, err)
	for _, target := range trail[1].Targets {
		require.LessOrEqual(t, len(target), 4+256, "a caller's strings are bounded")
		require.NotContains(t, target, "\n")
		require.NotContains(t, target, "\x00")
	}
}
