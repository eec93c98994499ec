package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewAuthenticatorConfig(t *testing.T) {
	t.Parallel()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "issuer.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	const iss = "https://idp.example.com"

	a, err := NewAuthenticator(Config{}, nil)
	require.NoError(t, err)
	require.Nil(t, a.JWT, "no issuer: API tokens only")

	a, err = NewAuthenticator(Config{JWTIssuer: iss, JWTPublicKeyFile: keyFile, JWTAudience: "cfa"}, nil)
	require.NoError(t, err)
	require.NotNil(t, a.JWT)
	require.Equal(t, iss, a.JWT.Issuer())
	require.Equal(t, []string{"EdDSA"}, a.JWT.Methods())

	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"issuer without a key":  {Config{JWTIssuer: iss}, "CFA_JWT_PUBLIC_KEY_FILE is not"},
		"key without an issuer": {Config{JWTPublicKeyFile: keyFile}, "CFA_JWT_ISSUER is not"},
		"audience alone":        {Config{JWTAudience: "cfa"}, "CFA_JWT_AUDIENCE is set but no JWT issuer is"},
		"missing key file":      {Config{JWTIssuer: iss, JWTPublicKeyFile: filepath.Join(t.TempDir(), "nope.pem")}, "read CFA_JWT_PUBLIC_KEY_FILE"},
		"key file holds no key": {Config{JWTIssuer: iss, JWTPublicKeyFile: "identity.go"}, "no PEM block"},
	} {
		_, err := NewAuthenticator(tc.cfg, nil)
		require.ErrorContains(t, err, tc.want, name)
	}
}

func TestFromEnvReadsTheJWTIssuer(t *testing.T) {
	t.Setenv("CFA_JWT_ISSUER", "https://idp.example.com")
	t.Setenv("CFA_JWT_PUBLIC_KEY_FILE", "/etc/cfa/issuer.pem")
	t.Setenv("CFA_JWT_AUDIENCE", "cfa-api")
	c := FromEnv()
	require.Equal(t, "https://idp.example.com", c.JWTIssuer)
	require.Equal(t, "/etc/cfa/issuer.pem", c.JWTPublicKeyFile)
	require.Equal(t, "cfa-api", c.JWTAudience)
}
