package api

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/identity"
	"github.com/contextualflux/cfa/internal/service"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

// Every RPC of the service has a permission: one without is refused to
// everyone, so a new RPC would be unusable until given one.
func TestEveryProcedureHasAPermission(t *testing.T) {
	n := 0
	for _, svc := range []struct {
		name    string
		methods interface {
			Len() int
			Get(int) protoreflect.MethodDescriptor
		}
	}{
		{cfav1connect.IntentServiceName, cfav1.File_cfa_v1_intent_service_proto.Services().ByName("IntentService").Methods()},
		{cfav1connect.ScheduleServiceName, cfav1.File_cfa_v1_schedule_service_proto.Services().ByName("ScheduleService").Methods()},
		{cfspbconnect.ContextFabricServiceName, cfspb.File_cfs_v0_service_proto.Services().ByName("ContextFabricService").Methods()},
	} {
		for i := range svc.methods.Len() {
			proc := "/" + svc.name + "/" + string(svc.methods.Get(i).Name())
			_, ok := permissions[proc]
			require.True(t, ok, "%s has no permission", proc)
			n++
		}
	}
	require.Equal(t, n, len(permissions), "a permission names a procedure no service has")
}

func TestCheckIntentID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"", true},
		{"nightly-2026-01-03", true},
		{"airflow:dag_1:run_7", true},
		{"-leading-dash", false},
		{"has space", false},
		{"child.of.composite", false},
		{"api-refused-1", false},
		{"cancel-request-1", false},
		{"composite-x", false},
		{"registry-override-1", false},
		{string(make([]byte, 201)), false},
	} {
		err := checkIntentID(tc.id)
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.id, err)
		if err != nil {
			require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		}
	}
}

func TestToConnect(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code connect.Code
	}{
		{fmt.Errorf("x: %w", service.ErrUnknownIntent), connect.CodeNotFound},
		{fmt.Errorf("x: %w", service.ErrNotWaiting), connect.CodeFailedPrecondition},
		{fmt.Errorf("x: %w", service.ErrNotRunning), connect.CodeFailedPrecondition},
		{fmt.Errorf("x: %w", service.ErrNoWorker), connect.CodeUnavailable},
		{&service.InputError{Err: errors.New("bad")}, connect.CodeInvalidArgument},
		{&service.InputError{Err: fmt.Errorf("k: %w", service.ErrIdempotencyConflict)}, connect.CodeAlreadyExists},
		{&service.RefusedError{Code: "self_approval"}, connect.CodePermissionDenied},
		{&service.RefusedError{Code: "not_an_approver"}, connect.CodePermissionDenied},
		{&service.RefusedError{Code: "malformed_payload"}, connect.CodeInvalidArgument},
		// An interpretation that is not offered, or does not resolve (ADR 0135).
		{&service.RefusedError{Code: "unknown_interpretation"}, connect.CodeInvalidArgument},
		{&service.RefusedError{Code: "interpretation_unresolved"}, connect.CodeInvalidArgument},
		{context.DeadlineExceeded, connect.CodeDeadlineExceeded},
		{errors.New("boom"), connect.CodeInternal},
	} {
		require.Equal(t, tc.code, connect.CodeOf(toConnect(tc.err)), "%v", tc.err)
	}
}

// fakeAuth knows one token.
type fakeAuth struct{ down bool }

func (f fakeAuth) Authenticate(_ context.Context, h string) (identity.Principal, error) {
	switch {
	case f.down:
		return identity.Principal{}, errors.New("postgres unreachable")
	case h == "Bearer reader":
		return identity.Principal{ID: "dash", Type: "SERVICE", Roles: []identity.Role{identity.RoleReader}}, nil
	}
	return identity.Principal{}, fmt.Errorf("no: %w", identity.ErrUnauthenticated)
}

type recorded struct{ got []Refusal }

func (r *recorded) RecordRefusal(_ context.Context, x Refusal) error {
	r.got = append(r.got, x)
	return nil
}

func TestAdmitRefusesAndAuditsWithoutLookingAtTheIntent(t *testing.T) {
	rec := &recorded{}
	a := &authInterceptor{auth: fakeAuth{}, refusals: rec, logger: zap.NewNop(), limit: rate.NewLimiter(0, 2)}
	msg := &cfav1.ApproveEscalationRequest{IntentId: "intent-maybe"}
	approve := cfav1connect.IntentServiceApproveEscalationProcedure

	_, err := a.admit(context.Background(), approve, "", msg)
	require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
	_, err = a.admit(context.Background(), approve, "Bearer reader", msg)
	require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))
	require.Contains(t, err.Error(), "approver")
	ctx, err := a.admit(context.Background(), cfav1connect.IntentServiceGetIntentProcedure, "Bearer reader", &cfav1.GetIntentRequest{IntentId: "x"})
	require.NoError(t, err)
	p, ok := PrincipalFrom(ctx)
	require.True(t, ok)
	require.Equal(t, "dash", p.ID)

	require.Len(t, rec.got, 2)
	require.Equal(t, Refusal{Procedure: approve, Code: "unauthenticated", Target: "intent:intent-maybe"}, rec.got[0])
	require.Equal(t, "permission_denied", rec.got[1].Code)
	require.Equal(t, "dash", rec.got[1].Principal.ID)

	// Past the rate, unauthenticated refusals are counted, not audited;
	// an authenticated caller's refusal is always audited.
	for range 3 {
		_, err = a.admit(context.Background(), approve, "Bearer nope", msg)
		require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
	}
	require.Len(t, rec.got, 3, "the burst of 2 allowed one more")
	require.Equal(t, int64(2), a.unaudited.Load())
	_, _ = a.admit(context.Background(), approve, "Bearer reader", msg)
	require.Len(t, rec.got, 4)

	// A store that cannot answer is not the caller's fault: unavailable,
	// nothing audited.
	down := &authInterceptor{auth: fakeAuth{down: true}, refusals: rec, logger: zap.NewNop()}
	_, err = down.admit(context.Background(), approve, "Bearer reader", msg)
	require.Equal(t, connect.CodeUnavailable, connect.CodeOf(err))
	require.Len(t, rec.got, 4)
}

func TestHTTPStatusOfCodes(t *testing.T) {
	require.Equal(t, 401, httpStatus(connect.CodeUnauthenticated))
	require.Equal(t, 403, httpStatus(connect.CodePermissionDenied))
	require.Equal(t, 404, httpStatus(connect.CodeNotFound))
	require.Equal(t, 409, httpStatus(connect.CodeAlreadyExists))
	require.Equal(t, 412, httpStatus(connect.CodeFailedPrecondition))
	require.Equal(t, 400, httpStatus(connect.CodeInvalidArgument))
}
