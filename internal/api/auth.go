package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

// permissions says what each procedure needs. A procedure missing here is
// refused: a new RPC must be given a permission before anyone can call it.
var permissions = map[string]identity.Permission{
	cfav1connect.IntentServiceSubmitIntentProcedure:      identity.PermSubmit,
	cfav1connect.IntentServiceGetIntentProcedure:         identity.PermRead,
	cfav1connect.IntentServiceListIntentsProcedure:       identity.PermRead,
	cfav1connect.IntentServiceWatchIntentProcedure:       identity.PermRead,
	cfav1connect.IntentServiceApproveEscalationProcedure: identity.PermApprove,
	cfav1connect.IntentServiceRejectEscalationProcedure:  identity.PermApprove,
	cfav1connect.IntentServiceCancelIntentProcedure:      identity.PermCancel,
	cfav1connect.IntentServiceGetPlanProcedure:           identity.PermRead,
	cfav1connect.IntentServiceGetCodeProcedure:           identity.PermRead,
	cfav1connect.IntentServiceGetAuditTrailProcedure:     identity.PermAudit,
	cfav1connect.IntentServiceGetRegistryProcedure:       identity.PermRead,
	cfav1connect.IntentServiceGetCatalogProcedure:        identity.PermRead,
	cfav1connect.IntentServiceGetPolicyBundleProcedure:   identity.PermRead,
	cfav1connect.IntentServiceListSkillsProcedure:        identity.PermRead,
	cfav1connect.IntentServiceGetSkillProcedure:          identity.PermRead,
	// Replay reads an intent's whole record, as the audit trail does.
	cfav1connect.IntentServiceReplayIntentProcedure: identity.PermAudit,
	// Promotion is an approval (the bundle's confirmation.approvers.promotion).
	cfav1connect.IntentServicePromoteSkillProcedure: identity.PermApprove,
	// Schedules (ADR 0124): reading is a reader's; what starts runs is a
	// submitter's; what stops them (pause, delete) an operator's, as
	// cancelling an intent is.
	cfav1connect.ScheduleServiceCreateScheduleProcedure:   identity.PermSubmit,
	cfav1connect.ScheduleServiceListSchedulesProcedure:    identity.PermRead,
	cfav1connect.ScheduleServiceDescribeScheduleProcedure: identity.PermRead,
	cfav1connect.ScheduleServicePauseScheduleProcedure:    identity.PermCancel,
	cfav1connect.ScheduleServiceUnpauseScheduleProcedure:  identity.PermCancel,
	cfav1connect.ScheduleServiceTriggerScheduleProcedure:  identity.PermSubmit,
	cfav1connect.ScheduleServiceBackfillScheduleProcedure: identity.PermSubmit,
	cfav1connect.ScheduleServiceDeleteScheduleProcedure:   identity.PermCancel,
	// The CFS protocols (ADR 0151): reading the plane is a reader's;
	// proposing and applying a change a submitter's (apply needs an
	// approval besides); reviewing an approver's; the whole plane's sync
	// stream and the transparency log an auditor's.
	cfspbconnect.ContextFabricServiceQueryProcedure:       identity.PermRead,
	cfspbconnect.ContextFabricServiceProposeProcedure:     identity.PermSubmit,
	cfspbconnect.ContextFabricServiceReviewProcedure:      identity.PermApprove,
	cfspbconnect.ContextFabricServiceApplyProcedure:       identity.PermSubmit,
	cfspbconnect.ContextFabricServiceSyncProcedure:        identity.PermAudit,
	cfspbconnect.ContextFabricServiceCheckpointProcedure:  identity.PermAudit,
	cfspbconnect.ContextFabricServiceInclusionProcedure:   identity.PermAudit,
	cfspbconnect.ContextFabricServiceConsistencyProcedure: identity.PermAudit,
}

// Refusal is a call refused before it did anything: unauthenticated, or
// not allowed by the caller's roles.
type Refusal struct {
	// Principal is nil when the call was not authenticated.
	Principal *identity.Principal
	Procedure string
	// Code is "unauthenticated" or "permission_denied".
	Code string
	// Target is what the call named ("intent:<id>"), as the caller sent
	// it: the refusal says nothing of whether it exists.
	Target string
}

// RefusalRecorder audits refused calls.
type RefusalRecorder interface {
	RecordRefusal(ctx context.Context, r Refusal) error
}

type principalKey struct{}

// PrincipalFrom is the authenticated caller of a call the server admitted.
func PrincipalFrom(ctx context.Context) (identity.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(identity.Principal)
	return p, ok
}

// authInterceptor authenticates every call and checks the caller's roles
// before the handler runs, so a refused call learns nothing of the intent
// it names.
type authInterceptor struct {
	auth     identity.Authenticator
	refusals RefusalRecorder
	logger   *zap.Logger
	// limit bounds how many unauthenticated refusals per second are
	// audited; nil audits all.
	limit     *rate.Limiter
	unaudited atomic.Int64
}

// RefusalAuditRate and RefusalAuditBurst bound the unauthenticated
// refusals audited per second (per API process).
const (
	RefusalAuditRate  = 5
	RefusalAuditBurst = 50
)

func (a *authInterceptor) admit(ctx context.Context, procedure, authorization string, msg any) (context.Context, error) {
	target := ""
	if m, ok := msg.(interface{ GetIntentId() string }); ok && m.GetIntentId() != "" {
		target = "intent:" + m.GetIntentId()
	}
	if m, ok := msg.(interface{ GetCorrelationId() string }); ok && target == "" && m.GetCorrelationId() != "" {
		target = "correlation:" + m.GetCorrelationId()
	}
	if m, ok := msg.(interface{ GetName() string }); ok && target == "" && m.GetName() != "" {
		target = "schedule:" + m.GetName() // the ScheduleService's requests
	}
	p, err := a.auth.Authenticate(ctx, authorization)
	if err != nil {
		if !errors.Is(err, identity.ErrUnauthenticated) {
			// The token store could not be read: not the caller's fault,
			// and not a refusal to audit.
			a.logger.Error("authentication failed", zap.String("procedure", procedure), zap.Error(err))
			return ctx, connect.NewError(connect.CodeUnavailable, errors.New("cannot check credentials now; retry shortly"))
		}
		a.refuse(ctx, Refusal{Procedure: procedure, Code: "unauthenticated", Target: target})
		return ctx, connect.NewError(connect.CodeUnauthenticated,
			errors.New("unauthenticated: send the header `Authorization: Bearer <token>` with a token from `cfa token create` (or a JWT of the configured issuer); an unknown, revoked or expired token is refused alike"))
	}
	perm, known := permissions[procedure]
	if !known || !p.Can(perm) {
		a.refuse(ctx, Refusal{Principal: &p, Procedure: procedure, Code: "permission_denied", Target: target})
		return ctx, connect.NewError(connect.CodePermissionDenied,
			fmt.Errorf("permission denied: %s needs a role granting %q (roles: %s); %s holds %s; ask an admin for a token with such a role",
				procedureName(procedure), perm, rolesGranting(perm), p.ID, rolesOf(p)))
	}
	return context.WithValue(ctx, principalKey{}, p), nil
}

func (a *authInterceptor) refuse(ctx context.Context, r Refusal) {
	if a.refusals == nil {
		return
	}
	// Each audited refusal is three receipts on the global chain: a flood
	// of bad credentials is audited up to a rate, and the rest only
	// counted and logged, so it cannot grow the chain without bound or
	// hold the workers' appends.
	if r.Principal == nil && a.limit != nil && !a.limit.Allow() {
		a.unaudited.Add(1)
		a.logger.Warn("refused call not audited: over the audit rate of unauthenticated refusals",
			zap.String("procedure", r.Procedure), zap.Int64("unaudited_total", a.unaudited.Load()))
		return
	}
	// Recorded on a context of its own: the caller hanging up does not
	// erase the record of its refusal.
	if err := a.refusals.RecordRefusal(context.WithoutCancel(ctx), r); err != nil {
		a.logger.Error("refused call not audited", zap.String("procedure", r.Procedure), zap.String("code", r.Code), zap.Error(err))
	}
}

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := a.admit(ctx, req.Spec().Procedure, req.Header().Get("Authorization"), req.Any())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		// The only streaming RPC is a server stream: its request is
		// received by the handler, so the target is not known here; the
		// refusal is audited without it.
		ctx, err := a.admit(ctx, conn.Spec().Procedure, conn.RequestHeader().Get("Authorization"), nil)
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

func procedureName(p string) string {
	return p[strings.LastIndex(p, "/")+1:]
}

func rolesGranting(perm identity.Permission) string {
	var out []string
	for _, r := range identity.Roles {
		if (identity.Principal{Roles: []identity.Role{r}}).Can(perm) {
			out = append(out, string(r))
		}
	}
	return strings.Join(out, ", ")
}

func rolesOf(p identity.Principal) string {
	if len(p.Roles) == 0 {
		return "no role"
	}
	out := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		out[i] = string(r)
	}
	return "roles " + strings.Join(out, ", ")
}
