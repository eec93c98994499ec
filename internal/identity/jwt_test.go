package identity_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/identity"
)

const issuer = "https://idp.example.com"

// signer is a generated key pair and the algorithm it signs with.
type signer struct {
	name   string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func (s signer) pem(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(s.priv.Public())
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (s signer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(s.method, claims).SignedString(s.priv)
	require.NoError(t, err)
	return tok
}

var (
	keysOnce sync.Once
	keys     map[string]signer
)

// signers makes one key of each supported type, and a second ECDSA key.
func signers(t *testing.T) map[string]signer {
	t.Helper()
	keysOnce.Do(func() {
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		e2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		e384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		keys = map[string]signer{
			"rsa":     {"rsa", jwt.SigningMethodRS256, r},
			"rsa-pss": {"rsa-pss", jwt.SigningMethodPS384, r},
			"ecdsa":   {"ecdsa", jwt.SigningMethodES256, e},
			"ecdsa-2": {"ecdsa-2", jwt.SigningMethodES256, e2},
			"p384":    {"p384", jwt.SigningMethodES384, e384},
			"ed25519": {"ed25519", jwt.SigningMethodEdDSA, ed},
		}
	})
	return keys
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":       issuer,
		"sub":       "maria",
		"exp":       time.Now().Add(time.Hour).Unix(),
		"iat":       time.Now().Unix(),
		"cfa_roles": []string{"approver", "reader"},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func TestJWTVerifiesEveryKeyType(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"rsa", "rsa-pss", "ecdsa", "p384", "ed25519"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := signers(t)[name]
			v, err := identity.NewJWTVerifier(issuer, "", s.pem(t))
			require.NoError(t, err)
			p, err := v.Verify(s.sign(t, claims(nil)))
			require.NoError(t, err)
			require.Equal(t, identity.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "api:jwt:" + issuer,
				Roles: []identity.Role{identity.RoleApprover, identity.RoleReader}}, p)
		})
	}
}

func TestJWTRefusals(t *testing.T) {
	t.Parallel()
	k := signers(t)
	ec := k["ecdsa"]
	v, err := identity.NewJWTVerifier(issuer, "", ec.pem(t))
	require.NoError(t, err)
	withAud, err := identity.NewJWTVerifier(issuer, "cfa-api", ec.pem(t))
	require.NoError(t, err)
	hour := time.Hour

	cases := []struct {
		name     string
		verifier *identity.JWTVerifier
		token    string
		reason   string // in the AuthError's reason
	}{
		{"wrong issuer", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })), "issuer"},
		{"no issuer", v, ec.sign(t, claims(func(c jwt.MapClaims) { delete(c, "iss") })), "iss claim is required"},
		{"expired", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-hour).Unix() })), "expired"},
		{"no exp", v, ec.sign(t, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "exp"},
		{"not yet valid", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(hour).Unix() })), "not valid yet"},
		{"issued in the future", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(hour).Unix() })), "before issued"},
		{"bad signature (another key)", v, k["ecdsa-2"].sign(t, claims(nil)), "signature"},
		{"another key type", v, k["rsa"].sign(t, claims(nil)), "signing method RS256 is invalid"},
		{"another curve", v, k["p384"].sign(t, claims(nil)), "signing method ES384 is invalid"},
		{"tampered payload", v, tamper(t, ec.sign(t, claims(nil))), "signature"},
		{"alg none", v, none(t, claims(nil)), "signing method none is invalid"},
		{"HS256 keyed with the public key", v, hmacWith(t, ec.pem(t), claims(nil)), "signing method HS256 is invalid"},
		{"unknown role", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["cfa_roles"] = []string{"reader", "root"} })), `unknown role "root"`},
		{"no roles", v, ec.sign(t, claims(func(c jwt.MapClaims) { delete(c, "cfa_roles") })), "no cfa_roles"},
		{"empty roles", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["cfa_roles"] = []string{} })), "no cfa_roles"},
		{"roles not an array", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["cfa_roles"] = "admin" })), "malformed"},
		{"SYSTEM principal", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["cfa_principal_type"] = "SYSTEM" })), "use HUMAN, AGENT or SERVICE"},
		{"no sub", v, ec.sign(t, claims(func(c jwt.MapClaims) { delete(c, "sub") })), "principal id is empty"},
		{"sub with a newline", v, ec.sign(t, claims(func(c jwt.MapClaims) { c["sub"] = "maria\nadmin" })), "control character"},
		{"audience missing", withAud, ec.sign(t, claims(nil)), "aud claim is required"},
		{"another audience", withAud, ec.sign(t, claims(func(c jwt.MapClaims) { c["aud"] = "another-app" })), "audience"},
		{"not a JWT", v, "not.a.jwt", "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.verifier.Verify(tc.token)
			require.ErrorIs(t, err, identity.ErrUnauthenticated)
			require.Equal(t, "unauthenticated", err.Error())
			var ae *identity.AuthError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Reason, tc.reason)
		})
	}
}

func TestJWTClaims(t *testing.T) {
	t.Parallel()
	ed := signers(t)["ed25519"]
	v, err := identity.NewJWTVerifier(issuer, "cfa-api", ed.pem(t))
	require.NoError(t, err)
	require.Equal(t, issuer, v.Issuer())
	require.Equal(t, []string{"EdDSA"}, v.Methods())
	p, err := v.Verify(ed.sign(t, claims(func(c jwt.MapClaims) {
		c["aud"] = []string{"other", "cfa-api"}
		c["cfa_principal_type"] = "agent"
		c["sub"] = "etl-agent"
		c["cfa_roles"] = []string{"submitter", "submitter"}
	})))
	require.NoError(t, err)
	require.Equal(t, identity.Principal{ID: "etl-agent", Type: audit.PrincipalAgent, AuthContext: "api:jwt:" + issuer,
		Roles: []identity.Role{identity.RoleSubmitter}}, p)

	// Within the leeway, an expired token still passes.
	_, err = v.Verify(ed.sign(t, claims(func(c jwt.MapClaims) {
		c["aud"] = "cfa-api"
		c["exp"] = time.Now().Add(-identity.JWTLeeway / 3).Unix()
	})))
	require.NoError(t, err)

	a := identity.TokenAuthenticator{JWT: v}
	p, err = a.Authenticate(context.Background(), "Bearer "+ed.sign(t, claims(func(c jwt.MapClaims) { c["aud"] = "cfa-api" })))
	require.NoError(t, err)
	require.Equal(t, "maria", p.ID)
	_, err = a.Authenticate(context.Background(), "Bearer "+strings.Repeat("x", 47))
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

func TestParsePublicKeyPEM(t *testing.T) {
	t.Parallel()
	k := signers(t)
	rsaKey := k["rsa"].priv.(*rsa.PrivateKey)

	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	_, methods, err := identity.ParsePublicKeyPEM(pkcs1)
	require.NoError(t, err)
	require.Equal(t, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, methods)

	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-hourAgo), NotAfter: time.Now().Add(hourAgo)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k["ecdsa"].priv.Public(), k["ecdsa"].priv)
	require.NoError(t, err)
	_, methods, err = identity.ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	require.NoError(t, err)
	require.Equal(t, []string{"ES256"}, methods)

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(k["ecdsa"].priv)
	require.NoError(t, err)
	pub := k["ecdsa"].pem(t)

	cases := []struct {
		name, pem, want string
	}{
		{"empty", "", "no PEM block"},
		{"not PEM", "-----BEGIN NOTHING", "no PEM block"},
		{"a private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "never a private key"},
		{"two keys", string(pub) + string(pub), "more than one block"},
		{"another block", string(pem.EncodeToMemory(&pem.Block{Type: "CSR", Bytes: []byte{1}})), `PEM block "CSR"`},
		{"garbage key", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}})), "PUBLIC KEY block"},
		{"short RSA", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER})), "at least 2048"},
	}
	for _, tc := range cases {
		_, _, err := identity.ParsePublicKeyPEM([]byte(tc.pem))
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err = identity.NewJWTVerifier(" ", "", pub)
	require.ErrorContains(t, err, "CFA_JWT_ISSUER")
}

const hourAgo = time.Hour

// tamper changes the payload of a signed token, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + issuer + `","sub":"admin","exp":4102444800,"cfa_roles":["admin"]}`))
	return parts[0] + "." + payload + "." + parts[2]
}

func none(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return tok
}

// hmacWith signs with HS256 keyed by the public key's PEM: the classic
// algorithm confusion.
func hmacWith(t *testing.T, key []byte, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	require.NoError(t, err)
	return tok
}
