package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AuthError is refused credentials. Its message is ErrUnauthenticated's
// whatever the cause, so a caller learns nothing from it (unknown and
// revoked tokens, a bad signature, an expired JWT all read
// "unauthenticated"); Reason is for the server's log only and never names
// the token.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string { return ErrUnauthenticated.Error() }

// Unwrap makes errors.Is(err, ErrUnauthenticated) hold.
func (e *AuthError) Unwrap() error { return ErrUnauthenticated }

func refuse(format string, args ...any) error {
	return &AuthError{Reason: fmt.Sprintf(format, args...)}
}

// MaxCredentialLen bounds the credentials of an Authorization header: a
// JWT longer than 8 KiB is refused before it is parsed.
const MaxCredentialLen = 8 << 10

// TokenAuthenticator authenticates "Authorization: Bearer <credentials>":
// an API token (TokenPrefix) is looked up by its hash in Tokens; anything
// else is verified as a JWT when JWT is set, and refused otherwise.
type TokenAuthenticator struct {
	Tokens TokenLookup
	JWT    *JWTVerifier // nil: API tokens only
}

var _ Authenticator = TokenAuthenticator{}

// Authenticate returns the caller's principal. Refused credentials give an
// *AuthError (errors.Is ErrUnauthenticated); a token store that cannot
// answer gives its own error, which is not ErrUnauthenticated: the server
// answers it as unavailable, not as bad credentials.
func (a TokenAuthenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	cred, err := bearer(authorization)
	if err != nil {
		return Principal{}, err
	}
	if strings.HasPrefix(cred, TokenPrefix) {
		return a.token(ctx, cred)
	}
	if a.JWT == nil {
		return Principal{}, refuse("credentials are not an API token, and no JWT issuer is configured")
	}
	return a.JWT.Verify(cred)
}

func (a TokenAuthenticator) token(ctx context.Context, token string) (Principal, error) {
	const unknown = "unknown or revoked API token"
	if !IsToken(token) || a.Tokens == nil {
		return Principal{}, refuse(unknown)
	}
	t, err := a.Tokens.LookupToken(ctx, HashToken(token))
	if errors.Is(err, ErrTokenNotFound) {
		return Principal{}, refuse(unknown)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate an API token: %w", err)
	}
	p := t.Principal()
	if CheckPrincipalID(p.ID) != nil || !slices.Contains(PrincipalTypes, p.Type) {
		return Principal{}, refuse("API token %q has an invalid principal", t.Name)
	}
	return p, nil
}

// bearer returns the credentials of a Bearer Authorization header (the
// scheme is case-insensitive, RFC 7235).
func bearer(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", refuse("no Authorization header")
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", refuse("Authorization scheme is not Bearer")
	}
	cred = strings.TrimSpace(cred)
	switch {
	case cred == "":
		return "", refuse("empty Bearer credentials")
	case len(cred) > MaxCredentialLen:
		return "", refuse("Bearer credentials longer than %d bytes", MaxCredentialLen)
	case strings.ContainsAny(cred, " \t\r\n"):
		return "", refuse("Bearer credentials contain a space")
	}
	return cred, nil
}
