package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/service"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

func TestProcedureAction(t *testing.T) {
	t.Parallel()
	for proc, want := range map[string]audit.Action{
		cfav1connect.IntentServiceGetIntentProcedure:          audit.ActionRead,
		cfav1connect.IntentServiceListIntentsProcedure:        audit.ActionRead,
		cfav1connect.IntentServiceWatchIntentProcedure:        audit.ActionRead,
		cfav1connect.IntentServiceGetAuditTrailProcedure:      audit.ActionRead,
		cfav1connect.ScheduleServiceDescribeScheduleProcedure: audit.ActionRead,
		cfav1connect.IntentServiceSubmitIntentProcedure:       audit.ActionInvoke,
		cfav1connect.IntentServiceReplayIntentProcedure:       audit.ActionInvoke,
		cfav1connect.ScheduleServiceTriggerScheduleProcedure:  audit.ActionInvoke,
		cfav1connect.IntentServiceApproveEscalationProcedure:  audit.ActionApprove,
		cfav1connect.IntentServiceRejectEscalationProcedure:   audit.ActionApprove,
		cfav1connect.IntentServicePromoteSkillProcedure:       audit.ActionApprove,
		cfav1connect.IntentServiceCancelIntentProcedure:       audit.ActionWrite,
		cfav1connect.ScheduleServiceCreateScheduleProcedure:   audit.ActionWrite,
		cfav1connect.ScheduleServiceDeleteScheduleProcedure:   audit.ActionWrite,
		cfspbconnect.ContextFabricServiceQueryProcedure:       audit.ActionRead,
		cfspbconnect.ContextFabricServiceInclusionProcedure:   audit.ActionRead,
		cfspbconnect.ContextFabricServiceSyncProcedure:        audit.ActionSync,
		cfspbconnect.ContextFabricServiceProposeProcedure:     audit.ActionWrite,
		cfspbconnect.ContextFabricServiceReviewProcedure:      audit.ActionApprove,
		cfspbconnect.ContextFabricServiceApplyProcedure:       audit.ActionWrite,
	} {
		require.Equal(t, want, procedureAction(proc), proc)
	}
}

// TestOwnReceipt: a call whose handler recorded its receipt gets no
// second one; its other failures get the interceptor's.
func TestOwnReceipt(t *testing.T) {
	t.Parallel()
	denied := connect.NewError(connect.CodePermissionDenied, nil)
	invalid := connect.NewError(connect.CodeInvalidArgument, nil)
	for _, tc := range []struct {
		proc string
		err  error
		own  bool
	}{
		{cfspbconnect.ContextFabricServiceQueryProcedure, nil, true},
		{cfspbconnect.ContextFabricServiceQueryProcedure, invalid, true},
		{cfspbconnect.ContextFabricServiceProposeProcedure, nil, true},
		{cfspbconnect.ContextFabricServiceProposeProcedure, invalid, false},
		{cfspbconnect.ContextFabricServiceApplyProcedure, denied, false},
		{cfspbconnect.ContextFabricServiceReviewProcedure, denied, true},
		{cfspbconnect.ContextFabricServiceReviewProcedure, invalid, false},
		{cfspbconnect.ContextFabricServiceSyncProcedure, nil, false},
		{cfav1connect.IntentServiceGetIntentProcedure, nil, false},
	} {
		require.Equal(t, tc.own, ownReceipt(tc.proc, tc.err), "%s %v", tc.proc, tc.err)
	}
}

func TestCallTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		proc     string
		req, res any
		want     []string
	}{
		{"an intent", cfav1connect.IntentServiceGetIntentProcedure, &cfav1.GetIntentRequest{IntentId: "i1"}, nil, []string{"intent:i1"}},
		{"its audit trail", cfav1connect.IntentServiceGetAuditTrailProcedure, &cfav1.GetAuditTrailRequest{Of: &cfav1.GetAuditTrailRequest_IntentId{IntentId: "i1"}}, nil,
			[]string{"audit:intent/i1", "intent:i1"}},
		{"a correlation's trail", cfav1connect.IntentServiceGetAuditTrailProcedure, &cfav1.GetAuditTrailRequest{Of: &cfav1.GetAuditTrailRequest_CorrelationId{CorrelationId: "c1"}}, nil,
			[]string{"audit:correlation/c1", "correlation:c1"}},
		{"its plan", cfav1connect.IntentServiceGetPlanProcedure, &cfav1.GetPlanRequest{IntentId: "i1"}, nil, []string{"plan:intent/i1", "intent:i1"}},
		{"the latest registry", cfav1connect.IntentServiceGetRegistryProcedure, &cfav1.GetRegistryRequest{}, &cfav1.GetRegistryResponse{VersionId: "v2"},
			[]string{"registry:version/v2"}},
		{"a registry read that failed", cfav1connect.IntentServiceGetRegistryProcedure, &cfav1.GetRegistryRequest{}, nil, []string{"registry:latest"}},
		{"a submission names the intent it started", cfav1connect.IntentServiceSubmitIntentProcedure, &cfav1.SubmitIntentRequest{Text: "x"}, &cfav1.SubmitIntentResponse{IntentId: "i9"},
			[]string{"intent:i9"}},
		{"a schedule", cfav1connect.ScheduleServicePauseScheduleProcedure, &cfav1.PauseScheduleRequest{Name: "nightly"}, nil, []string{"schedule:nightly"}},
		{"the catalog", cfav1connect.IntentServiceGetCatalogProcedure, &cfav1.GetCatalogRequest{}, &cfav1.GetCatalogResponse{SnapshotVersion: "cat1"}, []string{"catalog:cat1"}},
		{"the intents", cfav1connect.IntentServiceListIntentsProcedure, &cfav1.ListIntentsRequest{}, nil, []string{"intents"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, callTargets(tc.proc, tc.req, tc.res))
		})
	}
}

// refusalsTo records the auth interceptor's refusals in store, as the
// API process does (internal/app).
type refusalsTo struct{ store *db.Store }

func (r refusalsTo) RecordRefusal(ctx context.Context, x Refusal) error {
	var p *audit.Principal
	if x.Principal != nil {
		a := x.Principal.Audit()
		p = &a
	}
	_, err := r.store.RecordAPIRefusal(ctx, db.APIRefusal{Principal: p, Procedure: x.Procedure, Code: x.Code, Target: x.Target})
	return err
}

// TestAPICallsRecordReceipts: every admitted call records one receipt
// with the caller, the action, the targets and how it ended; a call the
// auth interceptor refuses is recorded once, as API_CALL_REFUSED; the
// chain verifies and every trail is complete (MUST-005, docs/adr/0146).
func TestAPICallsRecordReceipts(t *testing.T) {
	d := dbtest.New(t, "api_receipts")
	store := db.New(d.Worker)
	ctx := context.Background()
	env, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
	}, db.Operator{By: "test", Reason: "seed"})
	require.NoError(t, err)
	srv := &Server{Svc: &service.Service{Store: store}, Catalog: &catalog.Catalog{SnapshotVersion: "catalog_1"},
		Bundle: &policy.Bundle{Version: "v1"}, Logger: zap.NewNop()}
	h, err := NewHandler(srv, Options{Auth: fakeAuth{}, Refusals: refusalsTo{store}, Access: store})
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	client := cfav1connect.NewIntentServiceClient(http.DefaultClient, ts.URL)
	as := func(token string) connect.ClientOption {
		return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", "Bearer "+token)
				return next(ctx, req)
			}
		}))
	}
	reader := cfav1connect.NewIntentServiceClient(http.DefaultClient, ts.URL, as("reader"))
	dash := audit.Principal{ID: "dash", Type: audit.PrincipalService}

	cases := []struct {
		name     string
		call     func() error
		code     connect.Code // of the call; 0 when it succeeds
		event    string
		actor    audit.Principal
		action   audit.Action
		targets  []string
		outcome  string
		receipts int // appended by the call
	}{
		{"GetRegistry", func() error {
			_, err := reader.GetRegistry(ctx, connect.NewRequest(&cfav1.GetRegistryRequest{}))
			return err
		}, 0, audit.EventAccessRecorded, dash, audit.ActionRead, []string{"registry:version/" + env.VersionID}, db.AccessOK, 1},
		{"GetCatalog", func() error {
			_, err := reader.GetCatalog(ctx, connect.NewRequest(&cfav1.GetCatalogRequest{}))
			return err
		}, 0, audit.EventAccessRecorded, dash, audit.ActionRead, []string{"catalog:catalog_1"}, db.AccessOK, 1},
		{"GetIntent without an id is refused by the handler", func() error {
			_, err := reader.GetIntent(ctx, connect.NewRequest(&cfav1.GetIntentRequest{}))
			return err
		}, connect.CodeInvalidArgument, audit.EventAccessRecorded, dash, audit.ActionRead, []string{"api:" + cfav1connect.IntentServiceGetIntentProcedure}, db.AccessDenied, 1},
		{"GetRegistry of an unknown version", func() error {
			_, err := reader.GetRegistry(ctx, connect.NewRequest(&cfav1.GetRegistryRequest{VersionId: "01900000-0000-7000-8000-000000000000"}))
			return err
		}, connect.CodeNotFound, audit.EventAccessRecorded, dash, audit.ActionRead, []string{"registry:version/01900000-0000-7000-8000-000000000000"}, db.AccessFailed, 1},
		{"ApproveEscalation by a reader is refused once", func() error {
			_, err := reader.ApproveEscalation(ctx, connect.NewRequest(&cfav1.ApproveEscalationRequest{IntentId: "intent-x", Reason: "ok"}))
			return err
		}, connect.CodePermissionDenied, audit.EventIntentCompleted, dash, audit.ActionInvoke, []string{"api:" + cfav1connect.IntentServiceApproveEscalationProcedure, "intent:intent-x"}, "refused", 3},
		{"an unauthenticated call is refused once", func() error {
			_, err := client.GetCatalog(ctx, connect.NewRequest(&cfav1.GetCatalogRequest{}))
			return err
		}, connect.CodeUnauthenticated, audit.EventIntentCompleted, db.APIActor, audit.ActionInvoke, []string{"api:" + cfav1connect.IntentServiceGetCatalogProcedure}, "refused", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _, err := store.AuditHead(ctx)
			require.NoError(t, err)
			err = tc.call()
			if tc.code == 0 {
				require.NoError(t, err)
			} else {
				require.Equal(t, tc.code, connect.CodeOf(err), "%v", err)
			}
			rs, err := store.AuditChain(ctx, before, 10)
			require.NoError(t, err)
			require.Len(t, rs, tc.receipts)
			r := rs[len(rs)-1]
			require.Equal(t, tc.event, r.EventType())
			require.Equal(t, tc.actor.ID, r.Actor.ID)
			require.Equal(t, tc.actor.Type, r.Actor.Type)
			require.Equal(t, tc.action, r.Action)
			require.Equal(t, tc.targets, r.Targets)
			require.Equal(t, tc.outcome, r.Context[audit.CtxOutcome])
			require.NoError(t, audit.Verify(rs), "their integrity verifies")
			if tc.event == audit.EventAccessRecorded {
				require.True(t, strings.HasPrefix(r.IntentID(), db.AccessPrefix))
				var det events.AccessRecorded
				require.NoError(t, json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &det))
				require.Equal(t, "api", det.Via)
				if tc.code != 0 {
					require.Equal(t, tc.code.String(), det.Code)
				}
			}
		})
	}

	chain, err := store.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.Verify(chain))
	require.NoError(t, audit.CompletePerIntent(chain))
}
