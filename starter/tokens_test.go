package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/identity"
)

// TestTokenCommands: create prints the token once, list shows it without
// the token, revoke makes the API refuse it; bad input says what to fix.
func TestTokenCommands(t *testing.T) {
	d := dbtest.New(t, "starter_tokens")
	env := map[string]string{"DATABASE_URL": d.WorkerURL}

	out, err := run(t, env, "token", "create", "--name", "ci", "--role", "submitter", "--role", "reader", "--type", "SERVICE", "--by", "maria")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 1, "stdout is the token alone: %q", out)
	secret := lines[0]
	require.True(t, identity.IsToken(secret), secret)

	out, err = run(t, env, "token", "create", "--name", "maria-laptop", "--principal", "maria", "--role", "approver,reader", "-o", "json")
	require.NoError(t, err)
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	require.True(t, identity.IsToken(created["token"].(string)))
	require.Equal(t, "maria-laptop", created["name"])
	require.Equal(t, "maria", created["principal_id"])
	require.Equal(t, "HUMAN", created["principal_type"])
	require.Equal(t, []any{"approver", "reader"}, created["roles"])
	require.NotEmpty(t, created["created_at"])

	out, err = run(t, env, "token", "list")
	require.NoError(t, err)
	require.Regexp(t, `NAME\s+PRINCIPAL\s+TYPE\s+ROLES\s+CREATED\s+BY\s+LAST USED\s+REVOKED`, out)
	require.Regexp(t, `ci\s+ci\s+SERVICE\s+submitter,reader\s+\S+\s+maria\s+-\s+-`, out)
	require.Regexp(t, `maria-laptop\s+maria\s+HUMAN\s+approver,reader`, out)
	require.NotContains(t, out, secret[4:], "list never shows a token")
	require.NotContains(t, out, created["token"].(string)[4:])

	// The API's authenticator accepts it until it is revoked.
	ctx := context.Background()
	store := db.New(d.Worker)
	a := identity.TokenAuthenticator{Tokens: store}
	p, err := a.Authenticate(ctx, "Bearer "+secret)
	require.NoError(t, err)
	require.Equal(t, identity.Principal{ID: "ci", Type: "SERVICE", AuthContext: "api:token:ci",
		Roles: []identity.Role{identity.RoleSubmitter, identity.RoleReader}}, p)

	out, err = run(t, env, "token", "revoke", "ci")
	require.NoError(t, err)
	require.Equal(t, "revoked token ci\n", out)
	_, err = a.Authenticate(ctx, "Bearer "+secret)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	out, err = run(t, env, "token", "list", "-o", "json")
	require.NoError(t, err)
	var listed []identity.Token
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 2)
	require.NotNil(t, listed[0].RevokedAt)
	require.WithinDuration(t, time.Now(), *listed[0].RevokedAt, time.Minute)
	require.NotNil(t, listed[0].LastUsedAt)
	require.Nil(t, listed[1].RevokedAt)
	require.NotContains(t, out, "hash")

	_, err = run(t, env, "token", "revoke", "ci")
	requireCode(t, err, codeNotFound, "no live token is named \"ci\"")
	_, err = run(t, env, "token", "create", "--name", "ci", "--role", "reader")
	requireCode(t, err, codeInvalidInput, "pick another name")
}

func TestTokenCreateBadInput(t *testing.T) {
	// Refused before connecting: the database is unreachable.
	env := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=1"}
	cases := []struct {
		name string
		args []string
		code string
		want string
	}{
		{"no name", []string{"--role", "reader"}, codeUsage, "--name is required"},
		{"empty name", []string{"--name", " ", "--role", "reader"}, codeUsage, "--name is required"},
		{"bad name", []string{"--name", "my token", "--role", "reader"}, codeInvalidInput, "letters, digits"},
		{"no role", []string{"--name", "x"}, codeUsage, "--role is required: grant at least one of reader, submitter, approver, operator, auditor, admin"},
		{"unknown role", []string{"--name", "x", "--role", "root"}, codeInvalidInput, `unknown role "root": use one of reader, submitter`},
		{"bad type", []string{"--name", "x", "--role", "reader", "--type", "SYSTEM"}, codeInvalidInput, "use HUMAN, AGENT or SERVICE"},
		{"bad principal", []string{"--name", "x", "--role", "reader", "--principal", " maria"}, codeInvalidInput, "no leading or trailing space"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, env, append([]string{"token", "create"}, tc.args...)...)
			requireCode(t, err, tc.code, tc.want)
		})
	}
	_, err := run(t, env, "token", "revoke")
	requireCode(t, err, codeUsage, "accepts 1 arg(s)")
}

func requireCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	require.ErrorContains(t, err, msg)
	f := classify(err, nil)
	require.Equal(t, code, f.code, err.Error())
	require.NotEmpty(t, f.fix)
}
