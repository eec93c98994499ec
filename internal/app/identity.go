package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/contextualflux/cfa/internal/identity"
)

// NewJWTVerifier is the JWT verifier cfg configures: nil, nil when
// neither CFA_JWT_ISSUER nor CFA_JWT_PUBLIC_KEY_FILE is set (API tokens
// only); an error when only one is, or the key file does not hold one
// public key.
func NewJWTVerifier(cfg Config) (*identity.JWTVerifier, error) {
	switch {
	case cfg.JWTIssuer == "" && cfg.JWTPublicKeyFile == "":
		if cfg.JWTAudience != "" {
			return nil, errors.New("CFA_JWT_AUDIENCE is set but no JWT issuer is: set CFA_JWT_ISSUER and CFA_JWT_PUBLIC_KEY_FILE too, or unset it")
		}
		return nil, nil
	case cfg.JWTIssuer == "":
		return nil, errors.New("CFA_JWT_PUBLIC_KEY_FILE is set but CFA_JWT_ISSUER is not: set the iss the issuer's tokens carry")
	case cfg.JWTPublicKeyFile == "":
		return nil, errors.New("CFA_JWT_ISSUER is set but CFA_JWT_PUBLIC_KEY_FILE is not: give the PEM file of the issuer's public key")
	}
	pem, err := os.ReadFile(cfg.JWTPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read CFA_JWT_PUBLIC_KEY_FILE: %w", err)
	}
	v, err := identity.NewJWTVerifier(cfg.JWTIssuer, cfg.JWTAudience, pem)
	if err != nil {
		return nil, fmt.Errorf("CFA_JWT_PUBLIC_KEY_FILE %s: %w", cfg.JWTPublicKeyFile, err)
	}
	return v, nil
}

// NewAuthenticator is the API's authenticator: API tokens looked up in
// tokens (a *db.Store) and, when cfg configures an issuer, its JWTs.
func NewAuthenticator(cfg Config, tokens identity.TokenLookup) (identity.TokenAuthenticator, error) {
	v, err := NewJWTVerifier(cfg)
	if err != nil {
		return identity.TokenAuthenticator{}, err
	}
	return identity.TokenAuthenticator{Tokens: tokens, JWT: v}, nil
}
