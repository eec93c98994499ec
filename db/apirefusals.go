package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
)

// The codes of a refused API call.
const (
	RefusalUnauthenticated  = "unauthenticated"
	RefusalPermissionDenied = "permission_denied"
)

// A refused API call is audited under an id of its own (APIRefusedPrefix
// and a uuid), with the stage StageAPI.
const (
	APIRefusedPrefix = "api-refused-"
	StageAPI         = "api"
)

// APIActor is the actor of an unauthenticated call's refusal: nobody is
// known to have called, so the receipts name the API that refused, as
// SYSTEM, with the auth context APIUnauthenticated (ADR 0117).
var APIActor = audit.Principal{ID: "cfa-api", Type: audit.PrincipalSystem, AuthContext: APIUnauthenticated}

// APIUnauthenticated is the auth context of APIActor.
const APIUnauthenticated = "api:unauthenticated"

// maxRefusalField bounds what a caller put in a refused call (the
// procedure, the target) before it is audited.
const maxRefusalField = 256

// APIRefusal is an API call the server refused.
type APIRefusal struct {
	// Principal is the authenticated caller of a permission_denied call;
	// nil for an unauthenticated one.
	Principal *audit.Principal
	// Procedure is the called procedure, e.g.
	// /cfa.v1.IntentService/ApproveEscalation.
	Procedure string
	// Code is RefusalUnauthenticated or RefusalPermissionDenied.
	Code string
	// Target is what the call named ("intent:<id>"), or "". It is recorded
	// as the caller gave it, whether or not it exists.
	Target string
}

// RecordAPIRefusal audits a refused call, in one transaction, as a trail
// of its own like an operator action: INTENT_RECEIVED, API_CALL_REFUSED
// (procedure, code, target), INTENT_COMPLETED with outcome refused. It
// returns the trail's id. The caller is told nothing of it: the refusal
// it gets is the same whether or not the target exists.
func (s *Store) RecordAPIRefusal(ctx context.Context, r APIRefusal) (string, error) {
	if r.Code != RefusalUnauthenticated && r.Code != RefusalPermissionDenied {
		return "", fmt.Errorf("audit a refused API call: code %q: use %s or %s", r.Code, RefusalUnauthenticated, RefusalPermissionDenied)
	}
	actor := APIActor
	if r.Principal != nil {
		actor = *r.Principal
		if actor.ID == "" || !slices.Contains([]audit.PrincipalType{audit.PrincipalHuman, audit.PrincipalAgent, audit.PrincipalService}, actor.Type) {
			return "", fmt.Errorf("audit a refused API call: the principal needs an id and a type HUMAN, AGENT or SERVICE, got %q %q", actor.ID, actor.Type)
		}
	}
	procedure, target := clip(r.Procedure), clip(r.Target)
	if procedure == "" {
		procedure = "unknown"
	}
	targets := []string{"api:" + procedure}
	if target != "" {
		targets = append(targets, target)
	}
	id := APIRefusedPrefix + uuid.NewString()
	details, err := audit.EncodeDetails(events.APICallRefused{Procedure: procedure, Code: r.Code, Target: target})
	if err != nil {
		return "", err
	}
	if err := s.appendAPITrail(ctx, id, actor, targets, audit.EventAPICallRefused, r.Code, "refused", details); err != nil {
		return "", fmt.Errorf("audit the refused API call %s: %w", id, err)
	}
	return id, nil
}

// clip bounds a caller's string to maxRefusalField bytes of valid UTF-8,
// without control characters.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= maxRefusalField {
		return s
	}
	cut := maxRefusalField - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
