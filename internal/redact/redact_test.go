package redact_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/redact"
)

// secret is planted in every case; no output may contain it.
const secret = "S3cr3tPW"

func TestURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"postgres URL with a password",
			"postgres://postgres:" + secret + "@127.0.0.1:5432/cfa?sslmode=disable",
			"postgres://postgres:xxxxx@127.0.0.1:5432/cfa?sslmode=disable"},
		{"postgres URL with a password query parameter",
			"postgresql://db.example.com/cfa?user=cfa&password=" + secret + "&sslmode=require",
			"postgresql://db.example.com/cfa?user=cfa&password=xxxxx&sslmode=require"},
		{"postgres URL without a password is unchanged",
			"postgres://postgres@127.0.0.1:5432/cfa?sslmode=disable",
			"postgres://postgres@127.0.0.1:5432/cfa?sslmode=disable"},
		{"keyword DSN with password=",
			"host=127.0.0.1 port=5432 user=cfa password=" + secret + " dbname=cfa",
			"host=127.0.0.1 port=5432 user=cfa password=xxxxx dbname=cfa"},
		{"keyword DSN with spaces around = and a quoted password",
			"host=db user=cfa password = '" + secret + " with \\' quote' sslpassword=" + secret,
			"host=db user=cfa password=xxxxx sslpassword=xxxxx"},
		{"keyword DSN with a quoted harmless value keeps it",
			"host=db application_name='cfa worker'",
			"host=db application_name='cfa worker'"},
		{"keyword DSN with an unclosed quote is not shown",
			"host=db password='" + secret,
			redact.Unprintable},
		{"unparsable URL: bad percent escape in the password",
			"postgres://postgres:" + secret + "%zz@127.0.0.1:5432/cfa",
			redact.Unprintable},
		{"unparsable URL: a slash in the password",
			"postgres://postgres:" + secret + "/x@127.0.0.1:5432/cfa",
			redact.Unprintable},
		{"ambiguous URL: a numeric password with a slash parses as a port and a path",
			"postgres://postgres:5432/" + secret + "@127.0.0.1/cfa",
			redact.Unprintable},
		{"neither a URL nor keywords",
			"postgres:" + secret + "@127.0.0.1",
			redact.Unprintable},
		{"webhook URL with user:pass and ?token=",
			"https://hook:" + secret + "@hooks.example.com/notify?channel=gov&token=" + secret + "&X-Amz-Signature=" + secret,
			"https://hook:xxxxx@hooks.example.com/notify?channel=gov&token=xxxxx&X-Amz-Signature=xxxxx"},
		{"webhook URL with ; separators and an encoded key",
			"https://hooks.example.com/n?a=1;api%5Fkey=" + secret,
			"https://hooks.example.com/n?a=1;api%5Fkey=xxxxx"},
		{"webhook URL with a secret in the fragment",
			"https://hooks.example.com/n#access_token=" + secret,
			"https://hooks.example.com/n#xxxxx"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := redact.URL(tc.in)
			require.Equal(t, tc.want, got)
			require.NotContains(t, got, secret)
		})
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"credentials, path and query dropped",
			"https://hook:" + secret + "@hooks.example.com:8443/services/T0/" + secret + "?token=" + secret,
			"https://hooks.example.com:8443"},
		{"plain", "http://127.0.0.1:9999/hook", "http://127.0.0.1:9999"},
		{"unparsable", "http://hook:" + secret + "%zz@example.com/", redact.Unprintable},
		{"not absolute", "hooks.example.com/" + secret, redact.Unprintable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Origin(tc.in)
			require.Equal(t, tc.want, got)
			require.NotContains(t, got, secret)
		})
	}
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"password", "sslpassword", "PASSWD", "pwd", "token", "access_token", "api_key", "apikey", "secret", "client_secret", "sig", "X-Amz-Signature", "auth", "Authorization"} {
		require.True(t, redact.Sensitive(name), name)
	}
	for _, name := range []string{"host", "port", "user", "dbname", "sslmode", "channel", "application_name"} {
		require.False(t, redact.Sensitive(name), name)
	}
}
