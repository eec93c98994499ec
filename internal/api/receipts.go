package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

// AccessRecorder records the receipt of one call; *db.Store is one.
type AccessRecorder interface {
	RecordAccess(ctx context.Context, a db.Access) (audit.Receipt, error)
}

// errReceiptWithheld answers a read whose receipt could not be recorded.
func errReceiptWithheld() error {
	return connect.NewError(connect.CodeUnavailable, errors.New("the receipt of this read could not be recorded, so its result is withheld; retry shortly"))
}

// receiptTimeout bounds the append of one call's receipt.
const receiptTimeout = 5 * time.Second

// receiptInterceptor records one receipt per admitted call (MUST-005,
// docs/adr/0146): the authenticated caller, the action of the procedure,
// what the call named and how it ended. It runs inside the auth
// interceptor, which audits the calls it refuses itself
// (API_CALL_REFUSED): a refusal is recorded once. A read (Get, List,
// Describe) whose receipt cannot be recorded is answered Unavailable
// instead of its result; a write has taken effect by then and its own
// trail records it, so its receipt's failure is logged.
type receiptInterceptor struct {
	rec    AccessRecorder
	logger *zap.Logger
}

func newReceipts(rec AccessRecorder, logger *zap.Logger) *receiptInterceptor {
	if rec == nil {
		return nil
	}
	return &receiptInterceptor{rec: rec, logger: logger}
}

func (r *receiptInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		res, err := next(ctx, req)
		var msg any
		if res != nil {
			msg = res.Any()
		}
		proc := req.Spec().Procedure
		if rerr := r.record(ctx, proc, req.Any(), msg, err); rerr != nil && err == nil && procedureAction(proc) == audit.ActionRead {
			return nil, errReceiptWithheld()
		}
		return res, err
	}
}

func (r *receiptInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r *receiptInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		// The only stream is WatchIntent: its request is received by the
		// handler, so its receipt names the procedure; it is recorded when
		// the stream ends, with how it ended.
		err := next(ctx, conn)
		_ = r.record(ctx, conn.Spec().Procedure, nil, nil, err)
		return err
	}
}

// ownReceipt reports whether the handler of procedure recorded the
// receipt of a call that ended with err itself: Query always (its receipt
// is in its response); Propose and Apply when they succeed (their trail);
// Review when it succeeds or is refused (a refused review is audited,
// db.Store.Review). Their other failures are the interceptor's.
func ownReceipt(procedure string, err error) bool {
	switch procedure {
	case cfspbconnect.ContextFabricServiceQueryProcedure:
		return true
	case cfspbconnect.ContextFabricServiceProposeProcedure, cfspbconnect.ContextFabricServiceApplyProcedure:
		return err == nil
	case cfspbconnect.ContextFabricServiceReviewProcedure:
		return err == nil || connect.CodeOf(err) == connect.CodePermissionDenied
	}
	return false
}

// record appends the receipt of one call of procedure with request req
// and response res that ended with err.
func (r *receiptInterceptor) record(ctx context.Context, procedure string, req, res any, err error) error {
	p, ok := PrincipalFrom(ctx)
	if !ok { // not admitted: the auth interceptor audited the refusal
		return nil
	}
	if ownReceipt(procedure, err) {
		return nil
	}
	outcome, code := db.AccessOK, ""
	if err != nil {
		code = connect.CodeOf(err).String()
		switch connect.CodeOf(err) {
		case connect.CodePermissionDenied, connect.CodeUnauthenticated, connect.CodeInvalidArgument, connect.CodeFailedPrecondition:
			outcome = db.AccessDenied
		default:
			outcome = db.AccessFailed
		}
	}
	var traceID string
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		traceID = sc.TraceID().String()
	}
	// Its own context: a caller hanging up does not erase its receipt.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), receiptTimeout)
	defer cancel()
	_, rerr := r.rec.RecordAccess(rctx, db.Access{Actor: p.Audit(), Action: procedureAction(procedure),
		Targets: callTargets(procedure, req, res), Via: "api", Operation: procedure, Outcome: outcome, Code: code, TraceID: traceID})
	if rerr != nil {
		r.logger.Error("call not audited: its receipt could not be recorded", zap.String("procedure", procedure),
			zap.String("principal", p.ID), zap.Error(rerr))
	}
	return rerr
}

// procedureAction is the CFS action of a procedure, by its verb: reads
// (and the transparency log's checkpoint and proofs) READ; approving,
// rejecting, reviewing and promoting APPROVE; what starts work (submit,
// trigger, backfill, replay) INVOKE; the plane's sync SYNC; the rest
// WRITE.
func procedureAction(procedure string) audit.Action {
	switch procedure {
	case cfspbconnect.ContextFabricServiceSyncProcedure:
		return audit.ActionSync
	case cfspbconnect.ContextFabricServiceQueryProcedure, cfspbconnect.ContextFabricServiceCheckpointProcedure,
		cfspbconnect.ContextFabricServiceInclusionProcedure, cfspbconnect.ContextFabricServiceConsistencyProcedure:
		return audit.ActionRead
	case cfspbconnect.ContextFabricServiceReviewProcedure:
		return audit.ActionApprove
	}
	name := procedureName(procedure)
	for _, v := range []struct {
		prefix string
		action audit.Action
	}{
		{"Get", audit.ActionRead}, {"List", audit.ActionRead}, {"Watch", audit.ActionRead}, {"Describe", audit.ActionRead},
		{"Approve", audit.ActionApprove}, {"Reject", audit.ActionApprove}, {"Promote", audit.ActionApprove},
		{"Submit", audit.ActionInvoke}, {"Trigger", audit.ActionInvoke}, {"Backfill", audit.ActionInvoke}, {"Replay", audit.ActionInvoke},
	} {
		if strings.HasPrefix(name, v.prefix) {
			return v.action
		}
	}
	return audit.ActionWrite
}

// callTargets are what a call named, in its request or its response.
func callTargets(procedure string, req, res any) []string {
	var out []string
	add := func(t string) {
		for _, have := range out {
			if have == t {
				return
			}
		}
		out = append(out, t)
	}
	// What a read of one intent's record read: its audit trail, its plan,
	// its code, besides the intent.
	kind := map[string]string{
		cfav1connect.IntentServiceGetAuditTrailProcedure: "audit:",
		cfav1connect.IntentServiceGetPlanProcedure:       "plan:",
		cfav1connect.IntentServiceGetCodeProcedure:       "code:",
	}[procedure]
	for _, m := range []any{req, res} {
		if m == nil {
			continue
		}
		if g, ok := m.(interface{ GetIntentId() string }); ok && g.GetIntentId() != "" {
			if kind != "" {
				add(kind + "intent/" + g.GetIntentId())
			}
			add("intent:" + g.GetIntentId())
		}
		if g, ok := m.(interface{ GetCorrelationId() string }); ok && g.GetCorrelationId() != "" {
			if kind != "" {
				add(kind + "correlation/" + g.GetCorrelationId())
			}
			add("correlation:" + g.GetCorrelationId())
		}
		if g, ok := m.(interface{ GetName() string }); ok && g.GetName() != "" {
			add("schedule:" + g.GetName()) // the ScheduleService's requests
		}
		if g, ok := m.(interface{ GetSkillId() string }); ok && g.GetSkillId() != "" {
			add("skill:" + g.GetSkillId())
		}
		if g, ok := m.(interface{ GetVersionId() string }); ok && g.GetVersionId() != "" {
			add("registry:version/" + g.GetVersionId())
		}
		if g, ok := m.(interface{ GetSnapshotVersion() string }); ok && g.GetSnapshotVersion() != "" {
			add("catalog:" + g.GetSnapshotVersion())
		}
		if g, ok := m.(interface{ GetReceiptId() string }); ok && g.GetReceiptId() != "" {
			add("receipt:" + g.GetReceiptId())
		}
	}
	switch procedure {
	case cfav1connect.IntentServiceGetRegistryProcedure:
		if len(out) == 0 {
			add("registry:latest")
		}
	case cfav1connect.IntentServiceGetPolicyBundleProcedure:
		if g, ok := res.(interface{ GetVersion() string }); ok && g.GetVersion() != "" {
			add("policy_bundle:" + g.GetVersion())
		}
	case cfav1connect.IntentServiceListIntentsProcedure:
		add("intents")
	case cfav1connect.IntentServiceListSkillsProcedure:
		add("skills")
	case cfav1connect.ScheduleServiceListSchedulesProcedure:
		add("schedules")
	case cfspbconnect.ContextFabricServiceSyncProcedure:
		add("plane:sync")
	case cfspbconnect.ContextFabricServiceCheckpointProcedure, cfspbconnect.ContextFabricServiceInclusionProcedure,
		cfspbconnect.ContextFabricServiceConsistencyProcedure:
		add("audit:log")
	}
	return out
}
