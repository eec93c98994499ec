package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/api"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// apiEnv is the API served over TLS with HTTP/2 (httptest), on the real
// dev server and Postgres, with a worker running the intents.
type apiEnv struct {
	url    string
	http   *http.Client
	store  *db.Store
	svc    *service.Service
	tokens map[string]string
}

func (e apiEnv) client(token string, opts ...connect.ClientOption) cfav1connect.IntentServiceClient {
	opts = append(opts, connect.WithInterceptors(api.Bearer(token)))
	return cfav1connect.NewIntentServiceClient(e.http, e.url, opts...)
}

func startAPI(ctx context.Context, t testing.TB) apiEnv {
	t.Helper()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_api", &dataplane.Options{})
	store := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, store, cat, nil))
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	m := metrics.New()
	calls, err := api.NewMetricsInterceptor(m.Registry)
	require.NoError(t, err)
	svc := &service.Service{Temporal: c, Store: store}
	srv := &api.Server{Svc: svc, Catalog: cat, Bundle: bundle, Logger: zap.NewNop(), Poll: 200 * time.Millisecond}
	h, err := api.NewHandler(srv, api.Options{
		Auth: identity.TokenAuthenticator{Tokens: store}, Refusals: app.StoreRefusals(store), Access: store, Metrics: m.Handler(),
		Interceptors: []connect.Interceptor{calls},
	})
	require.NoError(t, err)
	hs := httptest.NewUnstartedServer(h)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)

	tokens := map[string]string{}
	for _, tk := range []db.NewToken{
		// ana submits, and may approve (but not her own intents: the
		// bundle's self_approval is false).
		{Name: "ana", PrincipalID: "ana", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleSubmitter, identity.RoleApprover}},
		{Name: "maria", PrincipalID: "maria", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleApprover, identity.RoleAuditor}},
		{Name: "airflow", PrincipalID: "airflow", PrincipalType: audit.PrincipalService, Roles: []identity.Role{identity.RoleSubmitter, identity.RoleOperator}},
		{Name: "dashboard", PrincipalID: "dashboard", PrincipalType: audit.PrincipalService, Roles: []identity.Role{identity.RoleReader}},
		{Name: "old", PrincipalID: "old", PrincipalType: audit.PrincipalHuman, Roles: []identity.Role{identity.RoleAdmin}},
	} {
		tk.CreatedBy = "e2e"
		tok, _, err := store.CreateToken(ctx, tk)
		require.NoError(t, err)
		tokens[tk.Name] = tok
	}
	ok, err := store.RevokeToken(ctx, "old")
	require.NoError(t, err)
	require.True(t, ok)
	return apiEnv{url: hs.URL, http: hs.Client(), store: store, svc: svc, tokens: tokens}
}

// TestAPI drives every RPC of the service API against the real dev server
// and Postgres: with the generated Go client over gRPC and over Connect,
// and with a plain HTTP client speaking JSON.
func TestAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startAPI(ctx, t)
	ana := e.client(e.tokens["ana"], connect.WithGRPC())
	maria := e.client(e.tokens["maria"])
	airflow := e.client(e.tokens["airflow"], connect.WithGRPC())
	dashboard := e.client(e.tokens["dashboard"])

	t.Run("refusals", func(t *testing.T) {
		cases := []struct {
			name   string
			client cfav1connect.IntentServiceClient
			call   func(c cfav1connect.IntentServiceClient) error
			code   connect.Code
		}{
			{"missing token", e.client(""), func(c cfav1connect.IntentServiceClient) error {
				_, err := c.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: "intent-x"}))
				return err
			}, connect.CodeUnauthenticated},
			{"unknown token", e.client("cfa_" + strings.Repeat("A", 43)), func(c cfav1connect.IntentServiceClient) error {
				_, err := c.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: "intent-x"}))
				return err
			}, connect.CodeUnauthenticated},
			{"revoked token", e.client(e.tokens["old"]), func(c cfav1connect.IntentServiceClient) error {
				_, err := c.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: "intent-x"}))
				return err
			}, connect.CodeUnauthenticated},
			{"reader submits", dashboard, func(c cfav1connect.IntentServiceClient) error {
				_, err := c.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: autoAggregate}))
				return err
			}, connect.CodePermissionDenied},
			{"submitter reads the audit trail", airflow, func(c cfav1connect.IntentServiceClient) error {
				_, err := c.GetAuditTrail(ctx, connect.NewRequest(&cfav1.GetAuditTrailRequest{Of: &cfav1.GetAuditTrailRequest_IntentId{IntentId: "intent-x"}}))
				return err
			}, connect.CodePermissionDenied},
			{"reader cancels", dashboard, func(c cfav1connect.IntentServiceClient) error {
				_, err := c.CancelIntent(ctx, connect.NewRequest(&cfav1.CancelIntentRequest{IntentId: "intent-x", Reason: "x"}))
				return err
			}, connect.CodePermissionDenied},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call(tc.client)
				require.Equal(t, tc.code, connect.CodeOf(err), "%v", err)
				require.NotContains(t, err.Error(), "unknown intent", "a refusal says nothing of the intent")
			})
		}
		// Every refusal is in the audit trail, and the chain verifies.
		chain, err := e.store.WholeAuditChain(ctx)
		require.NoError(t, err)
		require.NoError(t, audit.Verify(chain))
		codes, named := map[string]int{}, 0
		for _, r := range chain {
			if r.Context[audit.CtxEventType] == audit.EventAPICallRefused {
				codes[r.Context[audit.CtxOutcome]]++
				if slices.Contains(r.Targets, "intent:intent-x") {
					named++
				}
			}
		}
		require.Equal(t, map[string]int{"unauthenticated": 3, "permission_denied": 3}, codes)
		require.Equal(t, 5, named, "the intent a refused call named is recorded (SubmitIntent names none)")
	})

	// An idempotent submission retried three times starts one intent.
	var id string
	for i := range 3 {
		res, err := ana.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{
			Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1, IdempotencyKey: "nightly-2024-03-15",
		}))
		require.NoError(t, err)
		if i == 0 {
			id = res.Msg.GetIntentId()
			require.True(t, res.Msg.GetCreated())
		} else {
			require.Equal(t, id, res.Msg.GetIntentId())
			require.False(t, res.Msg.GetCreated(), "a retry starts nothing")
		}
	}
	_, err := ana.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: autoAggregate, IdempotencyKey: "nightly-2024-03-15"}))
	require.Equal(t, connect.CodeAlreadyExists, connect.CodeOf(err), "a key reused for another request: %v", err)
	testenv.WaitFor(t, 30*time.Second, "one intent listed for ana", func() bool {
		l, err := dashboard.ListIntents(ctx, connect.NewRequest(&cfav1.ListIntentsRequest{Submitter: "ana"}))
		return err == nil && len(l.Msg.GetIntents()) == 1 && l.Msg.GetIntents()[0].GetIntentId() == id
	})

	// Watch the intent over gRPC until it decides, answering its
	// escalation on the way.
	watcher := cfav1connect.NewIntentServiceClient(e.http, e.url, connect.WithGRPC(), connect.WithInterceptors(api.Bearer(e.tokens["dashboard"])))
	stream, err := watcher.WatchIntent(ctx, connect.NewRequest(&cfav1.WatchIntentRequest{IntentId: id}))
	require.NoError(t, err)
	var stages []string
	var decided *cfav1.Intent
	for stream.Receive() {
		switch ev := stream.Msg().GetEvent().(type) {
		case *cfav1.WatchIntentResponse_Stage:
			stages = append(stages, ev.Stage.GetStage())
		case *cfav1.WatchIntentResponse_Escalation:
			require.Equal(t, "human_escalation", ev.Escalation.GetMode()) // a full scan of nfe: the cost triggers (docs/adr/0134)
			require.Contains(t, ev.Escalation.GetApprovers(), "maria")
			// ana submitted it: her approval is refused, and audited.
			_, err := ana.ApproveEscalation(ctx, connect.NewRequest(&cfav1.ApproveEscalationRequest{IntentId: id, Reason: "mine"}))
			require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err), "self-approval: %v", err)
			require.Contains(t, err.Error(), "self")
			_, err = maria.ApproveEscalation(ctx, connect.NewRequest(&cfav1.ApproveEscalationRequest{IntentId: id}))
			require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "no reason: %v", err)
			res, err := maria.ApproveEscalation(ctx, connect.NewRequest(&cfav1.ApproveEscalationRequest{IntentId: id, Reason: "masking checked"}))
			require.NoError(t, err)
			require.Equal(t, "maria", res.Msg.GetBy())
		case *cfav1.WatchIntentResponse_Decided:
			decided = ev.Decided
		}
	}
	require.NoError(t, stream.Err())
	require.NotNil(t, decided, "the stream ends with the decision")
	require.Equal(t, "approved", decided.GetDecision().GetState())
	require.Len(t, decided.GetUnits(), 3)
	require.Contains(t, stages, "decision_engine")
	require.Equal(t, "COMPLETED", decided.GetExecutionStatus())

	t.Run("reads", func(t *testing.T) {
		got, err := dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: id}))
		require.NoError(t, err)
		require.Equal(t, "silver_documentos", got.Msg.GetIntent().GetTargetDataset())
		require.Equal(t, "approved", got.Msg.GetIntent().GetResult().GetFields()["decision_state"].GetStringValue())

		plan, err := dashboard.GetPlan(ctx, connect.NewRequest(&cfav1.GetPlanRequest{IntentId: id}))
		require.NoError(t, err)
		require.NotEmpty(t, plan.Msg.GetPlanHash())
		require.NotNil(t, plan.Msg.GetPlan())
		code, err := dashboard.GetCode(ctx, connect.NewRequest(&cfav1.GetCodeRequest{IntentId: id}))
		require.NoError(t, err)
		require.NotEmpty(t, code.Msg.GetFiles())
		_, err = dashboard.GetCode(ctx, connect.NewRequest(&cfav1.GetCodeRequest{IntentId: id, Backend: "spark"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))

		reg, err := dashboard.GetRegistry(ctx, connect.NewRequest(&cfav1.GetRegistryRequest{}))
		require.NoError(t, err)
		require.NotEmpty(t, reg.Msg.GetVersionId())
		_, err = dashboard.GetRegistry(ctx, connect.NewRequest(&cfav1.GetRegistryRequest{VersionId: "00000000-0000-0000-0000-00000000abcd"}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "%v", err)
		cat, err := dashboard.GetCatalog(ctx, connect.NewRequest(&cfav1.GetCatalogRequest{}))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(cat.Msg.GetSnapshotVersion(), "catalog_"))
		pb, err := dashboard.GetPolicyBundle(ctx, connect.NewRequest(&cfav1.GetPolicyBundleRequest{}))
		require.NoError(t, err)
		require.NotEmpty(t, pb.Msg.GetVersion())

		_, err = dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: "intent-none"}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "%v", err)

		testenv.WaitFor(t, 30*time.Second, "the approved intent listed by decision and dataset", func() bool {
			l, err := dashboard.ListIntents(ctx, connect.NewRequest(&cfav1.ListIntentsRequest{DecisionState: "approved", Dataset: "silver_documentos"}))
			return err == nil && len(l.Msg.GetIntents()) == 1 && l.Msg.GetIntents()[0].GetIntentId() == id
		})
		_, err = dashboard.ListIntents(ctx, connect.NewRequest(&cfav1.ListIntentsRequest{Dataset: "x' OR 1=1"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	})

	t.Run("skills", func(t *testing.T) {
		st, err := e.svc.Status(ctx, id)
		require.NoError(t, err)
		require.NotNil(t, st.Result.Signature)
		sk, _, err := e.store.EnsureSkill(ctx, *st.Result.Signature)
		require.NoError(t, err)
		_, err = e.store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.GatePassed, Reason: "e2e: the gate held",
			Actor: audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem, AuthContext: "e2e"}})
		require.NoError(t, err)
		l, err := dashboard.ListSkills(ctx, connect.NewRequest(&cfav1.ListSkillsRequest{State: "promotion_candidate"}))
		require.NoError(t, err)
		require.Len(t, l.Msg.GetSkills(), 1)
		require.Equal(t, sk.ID, l.Msg.GetSkills()[0].GetSkillId())
		got, err := dashboard.GetSkill(ctx, connect.NewRequest(&cfav1.GetSkillRequest{SkillId: sk.ID[:12]}))
		require.NoError(t, err)
		require.Equal(t, "promotion_candidate", got.Msg.GetSkill().GetState())
		require.Len(t, got.Msg.GetHistory(), 1)
		require.Equal(t, "gate_passed", got.Msg.GetHistory()[0].GetTrigger())
		require.Contains(t, got.Msg.GetAllowed(), "promoted")
		_, err = dashboard.ListSkills(ctx, connect.NewRequest(&cfav1.ListSkillsRequest{State: "famous"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		_, err = dashboard.GetSkill(ctx, connect.NewRequest(&cfav1.GetSkillRequest{SkillId: "zz"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		_, err = dashboard.GetSkill(ctx, connect.NewRequest(&cfav1.GetSkillRequest{SkillId: strings.Repeat("0", 64)}))
		require.Equal(t, connect.CodeNotFound, connect.CodeOf(err), "%v", err)
	})

	t.Run("audit trail", func(t *testing.T) {
		tr, err := maria.GetAuditTrail(ctx, connect.NewRequest(&cfav1.GetAuditTrailRequest{Of: &cfav1.GetAuditTrailRequest_IntentId{IntentId: id}}))
		require.NoError(t, err)
		actors := map[string]*cfav1.Principal{}
		var refusal string
		for _, r := range tr.Msg.GetReceipts() {
			actors[r.GetContext()[audit.CtxEventType]] = r.GetActor()
			if r.GetContext()[audit.CtxEventType] == audit.EventConfirmationRefused {
				refusal = r.GetContext()[audit.CtxDetails]
			}
		}
		// The callers are the receipts' principals.
		require.Equal(t, "ana", actors[audit.EventIntentReceived].GetId())
		require.Equal(t, "api:token:ana", actors[audit.EventIntentReceived].GetAuthContext())
		require.Equal(t, "maria", actors[audit.EventHumanApproved].GetId())
		require.Equal(t, "api:token:maria", actors[audit.EventHumanApproved].GetAuthContext())
		require.Contains(t, refusal, `"claimed_by":"ana"`, "the refused self-approval is audited")
		require.Contains(t, refusal, "self_approval")
		co := tr.Msg.GetCompliance()
		require.NotEmpty(t, co.GetDecisions())
		require.Len(t, co.GetReceiptIds(), len(tr.Msg.GetReceipts()))
		require.NotEmpty(t, co.GetPolicyBundleVersions())
		require.Len(t, tr.Msg.GetOperational().GetUnits(), 3)

		corr := tr.Msg.GetReceipts()[0].GetContext()[audit.CtxCorrelationID]
		byCorr, err := maria.GetAuditTrail(ctx, connect.NewRequest(&cfav1.GetAuditTrailRequest{Of: &cfav1.GetAuditTrailRequest_CorrelationId{CorrelationId: corr}}))
		require.NoError(t, err)
		require.Len(t, byCorr.Msg.GetReceipts(), len(tr.Msg.GetReceipts()))
	})

	t.Run("cancel", func(t *testing.T) {
		res, err := airflow.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf}))
		require.NoError(t, err)
		cid := res.Msg.GetIntentId()
		testenv.WaitFor(t, 30*time.Second, "the escalation", func() bool {
			got, err := dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: cid}))
			return err == nil && got.Msg.GetIntent().GetPending() != nil
		})
		_, err = airflow.CancelIntent(ctx, connect.NewRequest(&cfav1.CancelIntentRequest{IntentId: cid}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		_, err = airflow.CancelIntent(ctx, connect.NewRequest(&cfav1.CancelIntentRequest{IntentId: cid, Reason: "upstream late"}))
		require.NoError(t, err)
		var got *connect.Response[cfav1.GetIntentResponse]
		testenv.WaitFor(t, 30*time.Second, "the cancelled intent decided", func() bool {
			got, err = dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: cid}))
			return err == nil && got.Msg.GetIntent().GetDecision() != nil
		})
		require.Equal(t, "blocked", got.Msg.GetIntent().GetDecision().GetState())
		_, err = airflow.CancelIntent(ctx, connect.NewRequest(&cfav1.CancelIntentRequest{IntentId: cid, Reason: "again"}))
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "%v", err)
		chain, err := e.store.WholeAuditChain(ctx)
		require.NoError(t, err)
		var by string
		for _, r := range chain {
			if r.Context[audit.CtxEventType] == audit.EventCancelRequested {
				require.Equal(t, []string{"intent:" + cid}, r.Targets)
				by = r.Actor.ID + "/" + string(r.Actor.Type)
			}
		}
		require.Equal(t, "airflow/SERVICE", by)
	})

	t.Run("reject", func(t *testing.T) {
		res, err := airflow.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true}))
		require.NoError(t, err)
		rid := res.Msg.GetIntentId()
		_, err = maria.RejectEscalation(ctx, connect.NewRequest(&cfav1.RejectEscalationRequest{IntentId: rid, Reason: "too early"}))
		if connect.CodeOf(err) == connect.CodeFailedPrecondition { // not waiting yet
			testenv.WaitFor(t, 30*time.Second, "the escalation", func() bool {
				got, err := dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: rid}))
				return err == nil && got.Msg.GetIntent().GetPending() != nil
			})
			_, err = maria.RejectEscalation(ctx, connect.NewRequest(&cfav1.RejectEscalationRequest{IntentId: rid, Reason: "too early"}))
		}
		require.NoError(t, err)
		var got *connect.Response[cfav1.GetIntentResponse]
		testenv.WaitFor(t, 30*time.Second, "the rejected intent decided", func() bool {
			got, err = dashboard.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{IntentId: rid}))
			return err == nil && got.Msg.GetIntent().GetDecision() != nil
		})
		require.Equal(t, "blocked", got.Msg.GetIntent().GetDecision().GetState())
		_, err = maria.RejectEscalation(ctx, connect.NewRequest(&cfav1.RejectEscalationRequest{IntentId: rid, Reason: "again"}))
		require.Equal(t, connect.CodeFailedPrecondition, connect.CodeOf(err), "nothing left to answer: %v", err)
		_, err = airflow.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: autoAggregate, IntentId: "api-refused-x"}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "a reserved intent id prefix: %v", err)
	})

	t.Run("JSON over HTTP", func(t *testing.T) {
		post := func(token, method, body string) (int, map[string]any) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/cfa.v1.IntentService/"+method, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := e.http.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			return resp.StatusCode, out
		}
		status, out := post(e.tokens["airflow"], "SubmitIntent", `{"text": "`+autoAggregate+`", "dryRun": true}`)
		require.Equal(t, http.StatusOK, status, "%v", out)
		jid, _ := out["intentId"].(string)
		require.NotEmpty(t, jid)
		status, out = post(e.tokens["airflow"], "SubmitIntent", `{"text": "x", "signature": {"intent": "y"}}`)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_argument", out["code"])
		status, out = post("", "GetIntent", `{"intentId": "`+jid+`"}`)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "unauthenticated", out["code"])

		// The watch as JSON lines, for curl -N.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/v1/intents/"+jid+"/watch", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+e.tokens["dashboard"])
		resp, err := e.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var last string
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			last = sc.Text()
		}
		var ev cfav1.WatchIntentResponse
		require.NoError(t, protojson.Unmarshal([]byte(last), &ev), last)
		require.NotNil(t, ev.GetDecided(), "the last line is the decided intent: %s", last)
		require.True(t, ev.GetDecided().GetResult().GetFields()["dry_run"].GetBoolValue())
	})

	t.Run("signature and graph", func(t *testing.T) {
		sig, err := structpb.NewStruct(map[string]any{"intent": "nope", "unknown_field": 1})
		require.NoError(t, err)
		_, err = airflow.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Signature: sig}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Contains(t, err.Error(), "unknown_field")
		g, err := structpb.NewStruct(map[string]any{"intent_graph": map[string]any{"root_intent": "r"}})
		require.NoError(t, err)
		_, err = airflow.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Graph: g}))
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "%v", err)
	})

	t.Run("health and metrics", func(t *testing.T) {
		hc := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](e.http, e.url+"/grpc.health.v1.Health/Check", connect.WithGRPC())
		h, err := hc.CallUnary(ctx, connect.NewRequest(&healthpb.HealthCheckRequest{Service: cfav1connect.IntentServiceName}))
		require.NoError(t, err)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, h.Msg.GetStatus())
		resp, err := e.http.Get(e.url + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp, err = e.http.Get(e.url + "/metrics")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.True(t, bytes.Contains(body, []byte(`cfa_api_requests_total{code="permission_denied",procedure="SubmitIntent"} 1`)), "%s", body)
		require.True(t, bytes.Contains(body, []byte(`cfa_api_requests_total{code="ok",procedure="WatchIntent"}`)))
	})
}

// BenchmarkSubmitToDecision is an auto intent from submission to decision,
// through the Temporal client (what the CLI does) and through the API
// (SubmitIntent, then WatchIntent until the decision, over gRPC), on the
// dev server and Postgres. Each iteration runs both, in alternating order,
// because an intent's latency drifts as the database fills: it reports
// client-ms/op, api-ms/op and their difference, added-ms/op (ns/op is the
// pair). cfa-demo bench reports the same as p50 and p99.
func BenchmarkSubmitToDecision(b *testing.B) {
	ctx := context.Background()
	e := startAPI(ctx, b)
	c := e.client(e.tokens["airflow"], connect.WithGRPC())
	watcher := cfav1connect.NewIntentServiceClient(e.http, e.url, connect.WithGRPC(), connect.WithInterceptors(api.Bearer(e.tokens["dashboard"])))
	direct := func() {
		id, err := e.svc.Submit(ctx, service.SubmitRequest{Text: autoAggregate, SubmittedBy: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		var res workflows.IntentResult
		if err := e.svc.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil || res.DecisionState == "" {
			b.Fatalf("intent %s: %v %s", id, err, res.DecisionState)
		}
	}
	viaAPI := func() {
		res, err := c.SubmitIntent(ctx, connect.NewRequest(&cfav1.SubmitIntentRequest{Text: autoAggregate}))
		if err != nil {
			b.Fatal(err)
		}
		stream, err := watcher.WatchIntent(ctx, connect.NewRequest(&cfav1.WatchIntentRequest{IntentId: res.Msg.GetIntentId()}))
		if err != nil {
			b.Fatal(err)
		}
		var decided bool
		for stream.Receive() {
			decided = decided || stream.Msg().GetDecided() != nil
		}
		if err := stream.Err(); err != nil || !decided {
			b.Fatalf("watch %s: %v (decided %v)", res.Msg.GetIntentId(), err, decided)
		}
		_ = stream.Close()
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	direct() // warm-up: connections, the worker's caches
	viaAPI()
	var client, apiTime time.Duration
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			client += timed(direct)
			apiTime += timed(viaAPI)
		} else {
			apiTime += timed(viaAPI)
			client += timed(direct)
		}
		n++
	}
	b.ReportMetric(float64(client.Milliseconds())/float64(n), "client-ms/op")
	b.ReportMetric(float64(apiTime.Milliseconds())/float64(n), "api-ms/op")
	b.ReportMetric(float64((apiTime-client).Microseconds())/1000/float64(n), "added-ms/op")
}
