// Package identity is who calls the API and what they may do: the
// principal an API call authenticates as (it becomes the CFS Principal of
// every receipt the call causes) and the roles that decide which calls it
// may make. Pure Go: the token store is in db, the transport in internal/api.
package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/audit"
)

// Role is a named set of permissions a token or a JWT grants.
type Role string

// Roles. A principal may hold several.
const (
	// RoleReader reads intents, plans, code, the registry, the catalog and
	// the policy bundle, and watches intents.
	RoleReader Role = "reader"
	// RoleSubmitter submits intents (and reads, like reader).
	RoleSubmitter Role = "submitter"
	// RoleApprover answers escalations (and reads). Whether an answer is
	// taken is still decided by the approvers the policy bundle declares
	// for the escalation's category: the role lets a call reach the
	// workflow, the bundle decides.
	RoleApprover Role = "approver"
	// RoleOperator cancels intents (and reads).
	RoleOperator Role = "operator"
	// RoleAuditor reads the audit trail (and reads).
	RoleAuditor Role = "auditor"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// Roles lists every role, in the order `cfa token create --help` shows.
var Roles = []Role{RoleReader, RoleSubmitter, RoleApprover, RoleOperator, RoleAuditor, RoleAdmin}

// Permission is one kind of API call.
type Permission string

// Permissions.
const (
	PermRead    Permission = "read"
	PermSubmit  Permission = "submit"
	PermApprove Permission = "approve"
	PermCancel  Permission = "cancel"
	PermAudit   Permission = "audit"
)

var grants = map[Role][]Permission{
	RoleReader:    {PermRead},
	RoleSubmitter: {PermRead, PermSubmit},
	RoleApprover:  {PermRead, PermApprove},
	RoleOperator:  {PermRead, PermCancel},
	RoleAuditor:   {PermRead, PermAudit},
	RoleAdmin:     {PermRead, PermSubmit, PermApprove, PermCancel, PermAudit},
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := grants[r]; !ok {
		names := make([]string, len(Roles))
		for i, r := range Roles {
			names[i] = string(r)
		}
		return "", fmt.Errorf("unknown role %q: use one of %s", s, strings.Join(names, ", "))
	}
	return r, nil
}

// PrincipalTypes a caller may be. SYSTEM is the worker's own and is never
// granted to a caller.
var PrincipalTypes = []audit.PrincipalType{audit.PrincipalHuman, audit.PrincipalAgent, audit.PrincipalService}

// ParsePrincipalType checks a principal type name (HUMAN, AGENT, SERVICE).
func ParsePrincipalType(s string) (audit.PrincipalType, error) {
	t := audit.PrincipalType(strings.ToUpper(strings.TrimSpace(s)))
	if !slices.Contains(PrincipalTypes, t) {
		return "", fmt.Errorf("unknown principal type %q: use HUMAN, AGENT or SERVICE", s)
	}
	return t, nil
}

// Principal is an authenticated caller.
type Principal struct {
	// ID is who the caller is (a person's login, an agent's or a
	// service's name): the id of the receipts' CFS Principal, and the name
	// the policy bundle's approvers list.
	ID   string
	Type audit.PrincipalType
	// AuthContext says how the caller was authenticated, for the receipts:
	// "api:token:<token name>" or "api:jwt:<issuer>".
	AuthContext string
	Roles       []Role
}

// Audit is the principal as a CFS Principal.
func (p Principal) Audit() audit.Principal {
	return audit.Principal{ID: p.ID, Type: p.Type, AuthContext: p.AuthContext}
}

// Can reports whether one of the principal's roles grants perm.
func (p Principal) Can(perm Permission) bool {
	for _, r := range p.Roles {
		if slices.Contains(grants[r], perm) {
			return true
		}
	}
	return false
}

// ErrUnauthenticated is a call with no credentials, or with credentials
// that are unknown, revoked, expired or badly signed. The caller is never
// told which.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrForbidden is an authenticated call that no role of the caller allows.
var ErrForbidden = errors.New("forbidden")

// Authenticator turns an Authorization header into a principal. It returns
// an error matching ErrUnauthenticated for any credentials it does not
// accept.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (Principal, error)
}
