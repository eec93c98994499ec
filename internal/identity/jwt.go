package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/contextualflux/cfa/internal/audit"
)

// JWT claims beyond the registered ones (ADR 0117).
const (
	// ClaimRoles is an array of role names (reader, submitter, ...).
	ClaimRoles = "cfa_roles"
	// ClaimPrincipalType is HUMAN, AGENT or SERVICE; absent, HUMAN.
	ClaimPrincipalType = "cfa_principal_type"
)

// JWTLeeway is the clock skew tolerated on exp, nbf and iat.
const JWTLeeway = 30 * time.Second

// JWTVerifier verifies JWTs an issuer signed with the key it was made
// with: the signature (only the algorithms of that key's type), iss,
// exp (required), nbf and iat when present, aud when configured, and the
// CFA claims.
type JWTVerifier struct {
	issuer   string
	audience string
	key      crypto.PublicKey
	methods  []string
	now      func() time.Time
}

// NewJWTVerifier makes a verifier of the JWTs issuer signs. publicKeyPEM
// holds the issuer's public key: a PUBLIC KEY (RSA of 2048 bits or more,
// ECDSA P-256, P-384 or P-521, Ed25519), an RSA PUBLIC KEY or a
// CERTIFICATE block. audience, when not empty, must be in a token's aud.
func NewJWTVerifier(issuer, audience string, publicKeyPEM []byte) (*JWTVerifier, error) {
	if strings.TrimSpace(issuer) == "" {
		return nil, errors.New("JWT verification needs the issuer (CFA_JWT_ISSUER): the iss every accepted token carries")
	}
	key, methods, err := ParsePublicKeyPEM(publicKeyPEM)
	if err != nil {
		return nil, err
	}
	return &JWTVerifier{issuer: issuer, audience: audience, key: key, methods: methods, now: time.Now}, nil
}

// Issuer is the iss the verifier accepts.
func (v *JWTVerifier) Issuer() string { return v.issuer }

// Methods are the signing algorithms the verifier accepts (those of its
// key's type).
func (v *JWTVerifier) Methods() []string { return append([]string(nil), v.methods...) }

// JWTAuthContext is the auth context of a JWT's principal.
func JWTAuthContext(issuer string) string { return "api:jwt:" + issuer }

type jwtClaims struct {
	jwt.RegisteredClaims
	Roles         []string `json:"cfa_roles"`
	PrincipalType string   `json:"cfa_principal_type"`
}

// Verify checks a JWT and returns its principal: sub is the id,
// cfa_roles the roles (at least one, every one known),
// cfa_principal_type the type (HUMAN when absent), and the auth context
// api:jwt:<issuer>. Any failure is an *AuthError.
func (v *JWTVerifier) Verify(token string) (Principal, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithIssuer(v.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(JWTLeeway),
		jwt.WithTimeFunc(v.now),
	}
	if v.audience != "" {
		opts = append(opts, jwt.WithAudience(v.audience))
	}
	var c jwtClaims
	if _, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil }, opts...); err != nil {
		return Principal{}, refuse("jwt: %v", err)
	}
	if err := CheckPrincipalID(c.Subject); err != nil {
		return Principal{}, refuse("jwt sub: %v", err)
	}
	if len(c.Roles) == 0 {
		return Principal{}, refuse("jwt of %q has no %s: it is not a token for CFA", c.Subject, ClaimRoles)
	}
	roles, err := ParseRoles(c.Roles)
	if err != nil {
		return Principal{}, refuse("jwt %s: %v", ClaimRoles, err)
	}
	typ := audit.PrincipalHuman
	if c.PrincipalType != "" {
		if typ, err = ParsePrincipalType(c.PrincipalType); err != nil {
			return Principal{}, refuse("jwt %s: %v", ClaimPrincipalType, err)
		}
	}
	return Principal{ID: c.Subject, Type: typ, AuthContext: JWTAuthContext(v.issuer), Roles: roles}, nil
}

// ParsePublicKeyPEM reads one public key from PEM and returns it with the
// JWT algorithms it verifies.
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, []string, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, nil, errors.New("JWT public key: no PEM block: give the issuer's public key as a PEM file (-----BEGIN PUBLIC KEY-----)")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, nil, errors.New("JWT public key: the PEM file holds more than one block: give exactly the issuer's public key")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, nil, fmt.Errorf("JWT public key: the PEM block is a %s: give the issuer's public key, never a private key", block.Type)
		}
		return nil, nil, fmt.Errorf("JWT public key: PEM block %q: give a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block", block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("JWT public key: %s block: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, nil, fmt.Errorf("JWT public key: RSA key of %d bits: use at least 2048", k.N.BitLen())
		}
		return k, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return k, []string{"ES256"}, nil
		case elliptic.P384():
			return k, []string{"ES384"}, nil
		case elliptic.P521():
			return k, []string{"ES512"}, nil
		}
		return nil, nil, fmt.Errorf("JWT public key: ECDSA curve %s: use P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return k, []string{"EdDSA"}, nil
	}
	return nil, nil, fmt.Errorf("JWT public key: %T keys are not supported: use RSA, ECDSA or Ed25519", key)
}
