// Package api serves the CFA service API (proto/cfa/v1) with Connect:
// gRPC, gRPC-Web and JSON over HTTP from one handler. The handlers are thin
// adapters over internal/service, the same layer the CLI uses; every call
// is authenticated and checked against the caller's roles first (auth.go).
package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"connectrpc.com/connect"
	enumspb "go.temporal.io/api/enums/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/signature"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
	"github.com/contextualflux/cfa/workflows"
)

// Server implements cfav1connect.IntentServiceHandler.
type Server struct {
	Svc     *service.Service // with its Store
	Catalog *catalog.Catalog
	Bundle  *policy.Bundle
	Logger  *zap.Logger
	// WebUI is the Temporal Web UI's base URL (links in responses); empty
	// leaves them out.
	WebUI     string
	Namespace string
	// Poll is how often WatchIntent reads the intent's status.
	Poll time.Duration
}

var _ cfav1connect.IntentServiceHandler = (*Server)(nil)

// caller is the authenticated principal of ctx (the interceptor admitted
// the call, so there always is one).
func caller(ctx context.Context) identity.Principal {
	p, _ := PrincipalFrom(ctx)
	return p
}

func (s *Server) log(ctx context.Context, intentID string) *zap.Logger {
	return s.Logger.With(zap.String("intent_id", intentID), zap.String("principal", caller(ctx).ID))
}

// SubmitIntent starts an intent or a composite intent as the caller.
func (s *Server) SubmitIntent(ctx context.Context, req *connect.Request[cfav1.SubmitIntentRequest]) (*connect.Response[cfav1.SubmitIntentResponse], error) {
	m := req.Msg
	p := caller(ctx)
	if len(m.GetIdempotencyKey()) > 256 {
		return nil, invalidArg("idempotency_key is %d bytes: use at most 256", len(m.GetIdempotencyKey()))
	}
	if err := checkIntentID(m.GetIntentId()); err != nil {
		return nil, err
	}
	given := 0
	for _, set := range []bool{m.GetText() != "", m.GetSignature() != nil, m.GetGraph() != nil, m.GetFromProposal() != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, invalidArg("give exactly one of text, signature, graph or from_proposal (a plan goes with text or signature)")
	}
	out := &cfav1.SubmitIntentResponse{Kind: "intent", Created: true}
	var err error
	switch {
	case m.GetFromProposal() != "":
		if m.GetPlan() != nil || m.GetDryRun() || m.GetAsOf() != "" || m.GetCostCeilingDbu() != 0 || m.GetPartialFailureMode() != "" ||
			m.GetOnConflict() != "" || m.GetReplanMode() != "" || m.GetUnitRetryBaseSeconds() != 0 || m.GetEscalationTimeoutSeconds() != 0 || m.GetRowLimit() != 0 {
			return nil, invalidArg("from_proposal continues intent %s with its proposed signature and its options: send only from_proposal, intent_id and idempotency_key", m.GetFromProposal())
		}
		out.IntentId, err = s.Svc.SubmitNextCycleAs(ctx, m.GetFromProposal(), m.GetIntentId(),
			service.Caller{ID: p.ID, Type: string(p.Type), AuthContext: p.AuthContext}, m.GetIdempotencyKey())
	case m.GetGraph() != nil:
		if m.GetPlan() != nil || m.GetAsOf() != "" || m.GetPartialFailureMode() != "" || m.GetOnConflict() != "" || m.GetReplanMode() != "" || m.GetUnitRetryBaseSeconds() != 0 || m.GetRowLimit() != 0 {
			return nil, invalidArg("a graph takes the options dry_run, cost_ceiling_dbu and escalation_timeout_seconds only; each sub-intent says the rest")
		}
		var g composite.IntentGraph
		if g, err = decodeGraph(m.GetGraph()); err != nil {
			return nil, err
		}
		out.Kind = "composite"
		out.IntentId, err = s.Svc.SubmitComposite(ctx, service.CompositeRequest{
			Graph: g, IntentID: m.GetIntentId(), CorrelationID: m.GetCorrelationId(),
			SubmittedBy: p.ID, SubmitterType: string(p.Type), SubmitterAuthContext: p.AuthContext, IdempotencyKey: m.GetIdempotencyKey(),
			EscalationTimeoutSeconds: int(m.GetEscalationTimeoutSeconds()), DryRun: m.GetDryRun(), CostCeilingDBU: m.GetCostCeilingDbu(),
		})
		out.CorrelationId = m.GetCorrelationId()
		if out.CorrelationId == "" {
			out.CorrelationId = out.IntentId
		}
	default:
		r := service.SubmitRequest{
			Text: m.GetText(), IntentID: m.GetIntentId(), CorrelationID: m.GetCorrelationId(),
			SubmittedBy: p.ID, SubmitterType: string(p.Type), SubmitterAuthContext: p.AuthContext, IdempotencyKey: m.GetIdempotencyKey(),
			EscalationTimeoutSeconds: int(m.GetEscalationTimeoutSeconds()), DryRun: m.GetDryRun(), CostCeilingDBU: m.GetCostCeilingDbu(),
			AsOf: m.GetAsOf(), PartialFailureMode: m.GetPartialFailureMode(), OnConflict: m.GetOnConflict(),
			UnitRetryBaseSeconds: int(m.GetUnitRetryBaseSeconds()), ReplanMode: m.GetReplanMode(), RowLimit: int(m.GetRowLimit()),
		}
		if m.GetSignature() != nil {
			if r.Signature, err = decodeSignature(m.GetSignature()); err != nil {
				return nil, err
			}
		}
		if m.GetPlan() != nil {
			if r.Plan, err = decodePlan(m.GetPlan()); err != nil {
				return nil, err
			}
		}
		var sub service.Submitted
		sub, err = s.Svc.SubmitIntent(ctx, r)
		out.IntentId, out.CorrelationId = sub.IntentID, sub.CorrelationID
	}
	if errors.Is(err, service.ErrAlreadySubmitted) {
		out.Created, err = false, nil
	}
	if err != nil {
		return nil, toConnect(err)
	}
	if s.WebUI != "" {
		out.WebUi = strings.TrimRight(s.WebUI, "/") + "/namespaces/" + s.Namespace + "/workflows/" + out.IntentId
	}
	s.log(ctx, out.IntentId).Info("intent submitted through the API", zap.Bool("created", out.Created), zap.String("kind", out.Kind))
	return connect.NewResponse(out), nil
}

// intentIDPattern is what a caller may name an intent: the ids the audit
// trail gives its own trails (api-refused-…, cancel-request-…,
// registry-…), composite- and the sub-intents' dots are kept for CFA.
var intentIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_:-]{0,199}$`)

var reservedPrefixes = []string{"api-refused-", "cancel-request-", "registry-", "composite-", "cfa-"}

func checkIntentID(id string) error {
	if id == "" {
		return nil
	}
	if !intentIDPattern.MatchString(id) {
		return invalidArg("intent_id %q: use letters, digits, _, : and -, at most 200, starting with a letter or digit (or leave it empty for a generated one)", id)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(id, p) {
			return invalidArg("intent_id %q: the prefix %q is CFA's own; pick another", id, p)
		}
	}
	return nil
}

// GetIntent is `cfa status`.
func (s *Server) GetIntent(ctx context.Context, req *connect.Request[cfav1.GetIntentRequest]) (*connect.Response[cfav1.GetIntentResponse], error) {
	in, err := s.intent(ctx, req.Msg.GetIntentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cfav1.GetIntentResponse{Intent: in}), nil
}

func (s *Server) intent(ctx context.Context, id string) (*cfav1.Intent, error) {
	if id == "" {
		return nil, invalidArg("intent_id is required")
	}
	st, exec, err := s.Svc.StatusDetail(ctx, id)
	if err != nil {
		return nil, toConnect(err)
	}
	return intentOf(st, exec.String())
}

// ListIntents is `cfa list`, with filters.
func (s *Server) ListIntents(ctx context.Context, req *connect.Request[cfav1.ListIntentsRequest]) (*connect.Response[cfav1.ListIntentsResponse], error) {
	m := req.Msg
	f := service.ListFilter{Pending: m.GetPending(), DecisionState: m.GetDecisionState(), Dataset: m.GetDataset(),
		SubmittedBy: m.GetSubmitter(), PageSize: int(m.GetPageSize())}
	if m.GetStartedAfter() != nil {
		f.StartedAfter = m.GetStartedAfter().AsTime()
	}
	if m.GetStartedBefore() != nil {
		f.StartedBefore = m.GetStartedBefore().AsTime()
	}
	if t := m.GetPageToken(); t != "" {
		b, err := hex.DecodeString(t)
		if err != nil {
			return nil, invalidArg("page_token is not one this server gave: start again without it")
		}
		f.PageToken = b
	}
	list, next, err := s.Svc.ListIntents(ctx, f)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &cfav1.ListIntentsResponse{NextPageToken: hex.EncodeToString(next)}
	for _, x := range list {
		sum := &cfav1.IntentSummary{
			IntentId: x.IntentID, Kind: x.Kind, ExecutionStatus: x.ExecutionStatus, Stage: x.Stage, DecisionState: x.DecisionState,
			TargetDataset: x.TargetDataset, SubmittedBy: x.SubmittedBy, ConfirmationMode: x.ConfirmationMode, Approvers: x.Approvers,
			StartedAt: timestamppb.New(x.StartedAt),
		}
		if !x.ClosedAt.IsZero() {
			sum.ClosedAt = timestamppb.New(x.ClosedAt)
		}
		out.Intents = append(out.Intents, sum)
	}
	return connect.NewResponse(out), nil
}

// WatchIntent streams the intent's stages and escalations, then its
// decision.
func (s *Server) WatchIntent(ctx context.Context, req *connect.Request[cfav1.WatchIntentRequest], stream *connect.ServerStream[cfav1.WatchIntentResponse]) error {
	return s.watch(ctx, req.Msg.GetIntentId(), stream.Send)
}

// watch follows an intent, sending each new stage and escalation, and last
// the decided intent; it returns when the intent ended or ctx did.
func (s *Server) watch(ctx context.Context, id string, send func(*cfav1.WatchIntentResponse) error) error {
	if id == "" {
		return invalidArg("intent_id is required")
	}
	every := s.Poll
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	// Two readers: the status query every poll (stages, escalations), and
	// the workflow's result (a long poll) that ends the wait the moment the
	// intent closes, without waiting for a query in flight.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	closed := make(chan struct{})
	var (
		final    json.RawMessage
		finalErr error
	)
	go func() {
		finalErr = s.Svc.Temporal.GetWorkflow(wctx, id, "").Get(wctx, &final)
		close(closed)
	}()
	type update struct {
		st   workflows.Status
		exec enumspb.WorkflowExecutionStatus
		err  error
	}
	updates := make(chan update)
	poll := func(wctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		status := s.Svc.StatusDetail // asks once whether a worker polls
		for {
			// The first query waits a poll too: a query to a busy workflow
			// waits for (and slows) its workflow task, and an intent that
			// decides within a poll needs none.
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			st, exec, err := status(wctx, id)
			status = s.Svc.StatusUnchecked
			select {
			case updates <- update{st, exec, err}:
			case <-wctx.Done():
				return
			}
			if err != nil || ended(exec) {
				return
			}
		}
	}
	go poll(wctx)
	seen := 0
	var lastPending time.Time
	emit := func(st workflows.Status, exec enumspb.WorkflowExecutionStatus) (bool, error) {
		for ; seen < len(st.Stages); seen++ {
			if err := send(&cfav1.WatchIntentResponse{Event: &cfav1.WatchIntentResponse_Stage{Stage: stageOf(st.Stages[seen])}}); err != nil {
				return true, err
			}
		}
		if st.Pending != nil && !st.Pending.Deadline.Equal(lastPending) {
			lastPending = st.Pending.Deadline
			if err := send(&cfav1.WatchIntentResponse{Event: &cfav1.WatchIntentResponse_Escalation{Escalation: escalationOf(st.Pending)}}); err != nil {
				return true, err
			}
		}
		if !ended(exec) {
			return false, nil
		}
		in, err := intentOf(st, exec.String())
		if err != nil {
			return true, err
		}
		return true, send(&cfav1.WatchIntentResponse{Event: &cfav1.WatchIntentResponse_Decided{Decided: in}})
	}
	for {
		select {
		case <-ctx.Done():
			return connect.NewError(connect.CodeCanceled, fmt.Errorf("stopped watching intent %s (it goes on running): %w", id, ctx.Err()))
		case u := <-updates:
			if u.err != nil {
				return toConnect(u.err)
			}
			if done, err := emit(u.st, u.exec); done {
				return err
			}
		case <-closed:
			stop() // the poller's query, if any, is no longer needed
			// A completed intent's result holds its stages: no query to
			// replay the closed workflow on a worker.
			st, exec, ok := fromResult(id, finalErr, final)
			if !ok {
				var err error
				if st, exec, err = s.Svc.StatusDetail(ctx, id); err != nil {
					return toConnect(err)
				}
			}
			if done, err := emit(st, exec); done {
				return err
			}
			// The result's long poll ended without the intent closing (a
			// transient error): the poller goes on alone.
			wctx, stop = context.WithCancel(ctx)
			defer stop()
			go poll(wctx)
			closed = nil
		}
	}
}

// ended reports whether a workflow status is a closed one.
func ended(exec enumspb.WorkflowExecutionStatus) bool {
	return exec != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && exec != enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
}

// fromResult is the status of an intent whose workflow completed, from its
// result, when the result says it all (an IntentWorkflow's does).
func fromResult(id string, err error, raw json.RawMessage) (workflows.Status, enumspb.WorkflowExecutionStatus, bool) {
	if err != nil || len(raw) == 0 {
		return workflows.Status{}, 0, false
	}
	var res workflows.IntentResult
	if json.Unmarshal(raw, &res) != nil || res.DecisionState == "" || len(res.Stages) == 0 {
		return workflows.Status{}, 0, false
	}
	st := workflows.Status{IntentID: id, Stage: workflows.StageCompleted, Stages: res.Stages, Result: &res}
	if res.Execution != nil {
		st.Units = res.Execution.Units
	}
	return st, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, true
}

// ApproveEscalation answers approve as the caller, choosing one of the
// competing interpretations when interpretation names one (checked against
// the pending escalation before anything is sent: INVALID_ARGUMENT).
func (s *Server) ApproveEscalation(ctx context.Context, req *connect.Request[cfav1.ApproveEscalationRequest]) (*connect.Response[cfav1.ApproveEscalationResponse], error) {
	m := req.Msg
	by, err := s.answer(ctx, m.GetIntentId(), workflows.SignalApprove, m.GetReason(), service.AnswerOptions{
		Standing: service.Standing{Standing: m.GetStanding(), For: m.GetStandingFor()}, Interpretation: m.GetInterpretation(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cfav1.ApproveEscalationResponse{IntentId: m.GetIntentId(), Outcome: "approved", By: by, Interpretation: m.GetInterpretation()}), nil
}

// RejectEscalation answers reject as the caller.
func (s *Server) RejectEscalation(ctx context.Context, req *connect.Request[cfav1.RejectEscalationRequest]) (*connect.Response[cfav1.RejectEscalationResponse], error) {
	by, err := s.answer(ctx, req.Msg.GetIntentId(), workflows.SignalReject, req.Msg.GetReason(), service.AnswerOptions{})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cfav1.RejectEscalationResponse{IntentId: req.Msg.GetIntentId(), Outcome: "rejected", By: by}), nil
}

func (s *Server) answer(ctx context.Context, id, name, reason string, opts service.AnswerOptions) (string, error) {
	if id == "" {
		return "", invalidArg("intent_id is required")
	}
	if strings.TrimSpace(reason) == "" {
		return "", invalidArg("reason is required: the audit trail records why the escalation was answered")
	}
	p := caller(ctx)
	err := s.Svc.Answer(ctx, id, name, service.Caller{ID: p.ID, Type: string(p.Type), AuthContext: p.AuthContext}, reason, opts)
	if err != nil {
		return "", toConnect(err)
	}
	s.log(ctx, id).Info("escalation answered through the API", zap.String("answer", name), zap.String("interpretation", opts.Interpretation))
	return p.ID, nil
}

// CancelIntent cancels a running intent and audits who asked.
func (s *Server) CancelIntent(ctx context.Context, req *connect.Request[cfav1.CancelIntentRequest]) (*connect.Response[cfav1.CancelIntentResponse], error) {
	id, reason := req.Msg.GetIntentId(), req.Msg.GetReason()
	if id == "" {
		return nil, invalidArg("intent_id is required")
	}
	if strings.TrimSpace(reason) == "" {
		return nil, invalidArg("reason is required: the audit trail records who cancelled the intent and why")
	}
	p := caller(ctx)
	if err := s.Svc.CancelAs(ctx, id, service.Caller{ID: p.ID, Type: string(p.Type), AuthContext: p.AuthContext}, reason); err != nil {
		return nil, toConnect(err)
	}
	s.log(ctx, id).Info("intent cancelled through the API", zap.String("reason", reason))
	return connect.NewResponse(&cfav1.CancelIntentResponse{IntentId: id}), nil
}

// GetPlan is `cfa plan`.
func (s *Server) GetPlan(ctx context.Context, req *connect.Request[cfav1.GetPlanRequest]) (*connect.Response[cfav1.GetPlanResponse], error) {
	if req.Msg.GetIntentId() == "" {
		return nil, invalidArg("intent_id is required")
	}
	v, err := s.Svc.Plan(ctx, req.Msg.GetIntentId())
	if err != nil {
		return nil, toConnect(err)
	}
	out := &cfav1.GetPlanResponse{IntentSignatureHash: v.Record.SignatureHash, PlanHash: v.Record.PlanHash, CodeHash: v.Record.CodeHash, DryRun: v.Record.DryRun}
	if v.Record.Plan != nil {
		if out.Plan, err = rawStruct(v.Record.Plan); err != nil {
			return nil, toConnect(err)
		}
	}
	if out.PreCost, err = toStruct(v.PreCost); err != nil {
		return nil, toConnect(err)
	}
	if v.Static != nil {
		if out.StaticValidation, err = toStruct(v.Static); err != nil {
			return nil, toConnect(err)
		}
	}
	return connect.NewResponse(out), nil
}

// GetCode is `cfa code`.
func (s *Server) GetCode(ctx context.Context, req *connect.Request[cfav1.GetCodeRequest]) (*connect.Response[cfav1.GetCodeResponse], error) {
	id, backend := req.Msg.GetIntentId(), req.Msg.GetBackend()
	if id == "" {
		return nil, invalidArg("intent_id is required")
	}
	if backend == "" {
		backend = "postgres"
	}
	v, err := s.Svc.Plan(ctx, id)
	if err != nil {
		return nil, toConnect(err)
	}
	if len(v.Code) == 0 {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("intent %s has no generated code: planning stopped before code generation (see GetPlan)", id))
	}
	var names []string
	for _, art := range v.Code {
		names = append(names, art.Backend)
		if art.Backend != backend {
			continue
		}
		out := &cfav1.GetCodeResponse{Backend: art.Backend, CodeHash: v.Record.CodeHash}
		for _, f := range art.Files {
			out.Files = append(out.Files, &cfav1.CodeFile{Path: f.Path, Content: f.Content})
		}
		return connect.NewResponse(out), nil
	}
	return nil, invalidArg("no %q artifact for intent %s; backend is one of %s", backend, id, strings.Join(names, ", "))
}

// maxAuditReceipts bounds one GetAuditTrail of a correlation id.
const maxAuditReceipts = 10000

// GetAuditTrail is `cfa audit show`, for an intent or a correlation id,
// with the operational and compliance views.
func (s *Server) GetAuditTrail(ctx context.Context, req *connect.Request[cfav1.GetAuditTrailRequest]) (*connect.Response[cfav1.GetAuditTrailResponse], error) {
	var (
		rs  []audit.Receipt
		err error
		of  string
	)
	switch {
	case req.Msg.GetIntentId() != "":
		of = "intent " + req.Msg.GetIntentId()
		rs, err = s.Svc.Store.AuditByIntent(ctx, req.Msg.GetIntentId())
	case req.Msg.GetCorrelationId() != "":
		of = "correlation id " + req.Msg.GetCorrelationId()
		rs, err = s.Svc.Store.AuditByCorrelation(ctx, req.Msg.GetCorrelationId(), maxAuditReceipts)
	default:
		return nil, invalidArg("give intent_id or correlation_id")
	}
	if err != nil {
		return nil, toConnect(err)
	}
	if len(rs) == 0 {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("no audit events for %s; ListIntents shows recent intents", of))
	}
	op, co := audit.Views(rs)
	out := &cfav1.GetAuditTrailResponse{Operational: &cfav1.OperationalView{Retries: int32(op.Retries)}, Compliance: &cfav1.ComplianceView{
		PolicyBundleVersions: co.PolicyBundleVersions, ReceiptIds: co.ReceiptIDs,
	}}
	for _, r := range rs {
		out.Receipts = append(out.Receipts, &cfav1.Receipt{
			ReceiptId: r.ReceiptID, Position: r.Position, Action: string(r.Action), Targets: r.Targets,
			Actor:     &cfav1.Principal{Id: r.Actor.ID, Type: string(r.Actor.Type), AuthContext: r.Actor.AuthContext},
			Timestamp: timestamppb.New(r.Timestamp), Context: r.Context,
			PrevHash: hex.EncodeToString(r.PrevHash), Integrity: hex.EncodeToString(r.Integrity),
		})
	}
	for _, st := range op.Stages {
		out.Operational.Stages = append(out.Operational.Stages, &cfav1.StageTiming{IntentId: st.IntentID, Stage: st.Stage,
			First: timestamppb.New(st.First), Last: timestamppb.New(st.Last), Events: int32(st.Events)})
	}
	for _, u := range op.Units {
		out.Operational.Units = append(out.Operational.Units, &cfav1.UnitRun{IntentId: u.IntentID, Unit: u.Unit, Outcome: u.Outcome, Attempt: int32(u.Attempt)})
	}
	entries := func(es []audit.ComplianceEntry) []*cfav1.ComplianceEntry {
		out := make([]*cfav1.ComplianceEntry, 0, len(es))
		for _, e := range es {
			out = append(out, &cfav1.ComplianceEntry{ReceiptId: e.ReceiptID, IntentId: e.IntentID, EventType: e.EventType,
				Outcome: e.Outcome, Actor: e.Actor, At: timestamppb.New(e.At), Detail: e.Detail})
		}
		return out
	}
	out.Compliance.Decisions, out.Compliance.Faults, out.Compliance.Approvals = entries(co.Decisions), entries(co.Faults), entries(co.Approvals)
	return connect.NewResponse(out), nil
}

// GetRegistry is `cfa registry show`.
func (s *Server) GetRegistry(ctx context.Context, req *connect.Request[cfav1.GetRegistryRequest]) (*connect.Response[cfav1.GetRegistryResponse], error) {
	var (
		env any
		vid string
		err error
	)
	if v := req.Msg.GetVersionId(); v != "" {
		e, gerr := s.Svc.Store.SnapshotByVersion(ctx, v)
		env, vid, err = e, e.VersionID, gerr
	} else {
		e, gerr := s.Svc.Store.LatestSnapshot(ctx)
		env, vid, err = e, e.VersionID, gerr
	}
	if err != nil {
		return nil, toConnect(err)
	}
	st, err := toStruct(env)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.GetRegistryResponse{VersionId: vid, Snapshot: st}), nil
}

// GetCatalog is `cfa catalog show`: the catalog this server loaded.
func (s *Server) GetCatalog(context.Context, *connect.Request[cfav1.GetCatalogRequest]) (*connect.Response[cfav1.GetCatalogResponse], error) {
	st, err := toStruct(s.Catalog)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.GetCatalogResponse{SnapshotVersion: s.Catalog.SnapshotVersion, Catalog: st}), nil
}

// GetPolicyBundle is `cfa policy check`: the bundle this server loaded.
func (s *Server) GetPolicyBundle(context.Context, *connect.Request[cfav1.GetPolicyBundleRequest]) (*connect.Response[cfav1.GetPolicyBundleResponse], error) {
	st, err := toStruct(s.Bundle)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.GetPolicyBundleResponse{Version: s.Bundle.Version, Bundle: st}), nil
}

// intentOf is a status as the API's Intent.
func intentOf(st workflows.Status, exec string) (*cfav1.Intent, error) {
	in := &cfav1.Intent{IntentId: st.IntentID, Kind: "intent", ExecutionStatus: strings.ToUpper(exec), Stage: st.Stage}
	if strings.HasPrefix(st.IntentID, "composite-") {
		in.Kind = "composite"
	}
	for _, r := range st.Stages {
		in.Stages = append(in.Stages, stageOf(r))
	}
	if st.Pending != nil {
		in.Pending = escalationOf(st.Pending)
	}
	for _, u := range st.Units {
		in.Units = append(in.Units, &cfav1.Unit{Key: u.Key, State: u.State, Attempts: int32(u.Attempts), RowsOut: u.RowsOut, ErrorCode: u.ErrorCode})
	}
	if r := st.Result; r != nil && r.DecisionState != "" {
		d := &cfav1.Decision{State: string(r.DecisionState), DecidedBy: r.DecidedBy, Reason: r.Reason,
			IntentSignatureHash: r.SignatureHash, Replans: int32(r.Replans)}
		for _, f := range r.Faults {
			d.Faults = append(d.Faults, &cfav1.Fault{Code: f.Code, Family: string(f.Family), Severity: string(f.Severity), Stage: string(f.Stage),
				MandatoryAction: f.MandatoryAction, Remediation: f.Remediation})
		}
		in.Decision = d
		if r.Signature != nil {
			if ts := r.Signature.Targets(); len(ts) > 0 {
				in.TargetDataset = ts[0].Name
			}
		}
		res, err := toStruct(r)
		if err != nil {
			return nil, err
		}
		in.Result = res
		if r.Result != nil {
			if in.ReadResult, err = readResultOf(*r.Result); err != nil {
				return nil, err
			}
		}
	}
	return in, nil
}

func stageOf(r workflows.StageReport) *cfav1.StageReport {
	return &cfav1.StageReport{Stage: r.Stage, Summary: r.Summary, At: timestamppb.New(r.At)}
}

func escalationOf(p *workflows.PendingEscalation) *cfav1.Escalation {
	q := p.Reason
	if q == "" {
		q = "confirm the signature of intent " + p.Signature.Intent
	}
	for _, n := range p.Narrowed { // what replans changed of what was asked (ADR 0136)
		q += "; " + n.Warning
	}
	e := &cfav1.Escalation{Mode: string(p.Mode), Question: q, Approvers: p.Allowed.Approvers,
		Deadline: timestamppb.New(p.Deadline), Submitter: p.Allowed.Submitter,
		Signature: confirmation.Show(p.Signature), Interpretations: p.Interpretations}
	for _, t := range p.Triggers {
		e.Triggers = append(e.Triggers, string(t))
	}
	return e
}

// toStruct is v's JSON (its `-o json` form) as a Struct.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return rawStruct(b)
}

func rawStruct(b []byte) (*structpb.Struct, error) {
	st := &structpb.Struct{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("encode a JSON object: %w", err)
	}
	return st, nil
}

func structJSON(st *structpb.Struct, what string) ([]byte, error) {
	b, err := protojson.Marshal(st)
	if err != nil {
		return nil, invalidArg("%s is not a JSON object: %v", what, err)
	}
	return b, nil
}

// decodeSignature reads a State Signature as `cfa submit -f` does
// (signature.Parse: an unknown field is refused).
func decodeSignature(st *structpb.Struct) (*signature.Signature, error) {
	b, err := structJSON(st, "signature")
	if err != nil {
		return nil, err
	}
	sig, err := signature.Parse(b)
	if err != nil {
		return nil, invalidArg("signature: %v (the fields are those of `cfa submit -f`; see README)", err)
	}
	return sig, nil
}

func decodePlan(st *structpb.Struct) (*planner.ExecutionPlan, error) {
	b, err := structJSON(st, "plan")
	if err != nil {
		return nil, err
	}
	p, err := planner.ParsePlan(b)
	if err != nil {
		return nil, invalidArg("plan: %v (GetPlan returns one in this form)", err)
	}
	return p, nil
}

func decodeGraph(st *structpb.Struct) (composite.IntentGraph, error) {
	b, err := structJSON(st, "graph")
	if err != nil {
		return composite.IntentGraph{}, err
	}
	g, err := composite.Parse(b)
	if err != nil {
		return g, invalidArg("graph: %v", err)
	}
	return g, nil
}

func invalidArg(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// toConnect maps the service's errors to Connect codes; the message is
// the service's, which says what to fix.
func toConnect(err error) error {
	var ce *connect.Error
	var refused *service.RefusedError
	var input *service.InputError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, service.ErrIdempotencyConflict):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.As(err, &refused):
		code := connect.CodePermissionDenied
		if refused.Code == confirmation.RefusedMalformed || refused.Code == confirmation.RefusedMissingField ||
			refused.Code == confirmation.RefusedStandingNotScheduled || refused.Code == confirmation.RefusedStandingReject ||
			refused.Code == confirmation.RefusedUnknownInterpretation || refused.Code == confirmation.RefusedInterpretationUnresolved {
			code = connect.CodeInvalidArgument
		}
		return connect.NewError(code, err)
	case errors.As(err, &input):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, service.ErrUnknownIntent), errors.Is(err, db.ErrPlanNotFound), errors.Is(err, db.ErrSnapshotNotFound),
		errors.Is(err, db.ErrScheduleNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, service.ErrNotWaiting), errors.Is(err, service.ErrNotRunning):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, service.ErrNoWorker):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}
