package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/otelconnect"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/contextualflux/cfa/internal/cfs/cfspb/cfspbconnect"
	"github.com/contextualflux/cfa/internal/identity"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

// MaxRequestBytes bounds a request (a signature, a plan or a graph with
// room to spare), compressed or not: it is read before its caller is
// authenticated.
const MaxRequestBytes = 4 << 20

// Options are what the HTTP handler needs besides the Server.
type Options struct {
	Auth     identity.Authenticator
	Refusals RefusalRecorder
	// Access records a receipt of every admitted call (receipts.go,
	// docs/adr/0146); nil records none.
	Access AccessRecorder
	// Metrics serves /metrics (Prometheus); nil serves none.
	Metrics http.Handler
	// Interceptors run first (metrics of every call, refused ones too).
	Interceptors []connect.Interceptor
	// Signer signs the audit log's checkpoints (ContextFabricService
	// Checkpoint); nil signs none.
	Signer note.Signer
	// Ready reports whether the server can serve (Temporal and Postgres
	// reachable): /healthz and the gRPC health service say so.
	Ready func(ctx context.Context) error
}

// NewHandler is the API's whole HTTP surface: the IntentService and the
// ScheduleService (gRPC,
// gRPC-Web, Connect and JSON), gRPC health and reflection, /healthz and
// /metrics. Health, reflection and metrics need no token: they say nothing
// of any intent.
func NewHandler(s *Server, o Options) (http.Handler, error) {
	if o.Auth == nil {
		return nil, errors.New("api: an authenticator is required: every call is authenticated")
	}
	logger := s.Logger
	if logger == nil {
		logger = zap.NewNop()
		s.Logger = logger
	}
	otel, err := otelconnect.NewInterceptor(otelconnect.WithTrustRemote(), otelconnect.WithoutMetrics())
	if err != nil {
		return nil, fmt.Errorf("api: tracing interceptor: %w", err)
	}
	auth := newAuth(o, logger)
	interceptors := append(append([]connect.Interceptor{otel}, o.Interceptors...), auth)
	receipts := newReceipts(o.Access, logger)
	if receipts != nil { // inside auth: it sees the admitted calls only
		interceptors = append(interceptors, receipts)
	}
	mux := http.NewServeMux()
	path, h := cfav1connect.NewIntentServiceHandler(s, connect.WithInterceptors(interceptors...), connect.WithReadMaxBytes(MaxRequestBytes))
	mux.Handle(path, http.MaxBytesHandler(h, MaxRequestBytes))
	path, h = cfav1connect.NewScheduleServiceHandler(ScheduleServer{s}, connect.WithInterceptors(interceptors...), connect.WithReadMaxBytes(MaxRequestBytes))
	mux.Handle(path, http.MaxBytesHandler(h, MaxRequestBytes))
	path, h = cfspbconnect.NewContextFabricServiceHandler(Fabric{Server: s, Signer: o.Signer}, connect.WithInterceptors(interceptors...), connect.WithReadMaxBytes(MaxRequestBytes))
	mux.Handle(path, http.MaxBytesHandler(h, MaxRequestBytes))
	checker := &healthChecker{ready: o.Ready}
	mux.Handle(grpchealth.NewHandler(checker))
	reflector := grpcreflect.NewStaticReflector(cfav1connect.IntentServiceName, cfav1connect.ScheduleServiceName, cfspbconnect.ContextFabricServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.HandleFunc("GET /v1/intents/{id}/watch", s.watchLines(auth, receipts))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if o.Ready != nil {
			if err := o.Ready(ctx); err != nil {
				// The detail (hosts, users) is for the log, not for an
				// unauthenticated caller.
				logger.Warn("not ready", zap.Error(err))
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	return mux, nil
}

func newAuth(o Options, logger *zap.Logger) *authInterceptor {
	return &authInterceptor{auth: o.Auth, refusals: o.Refusals, logger: logger, limit: rate.NewLimiter(RefusalAuditRate, RefusalAuditBurst)}
}

// healthChecker answers grpc.health.v1 for the whole server and the
// IntentService.
type healthChecker struct {
	ready func(ctx context.Context) error
}

func (c *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && req.Service != cfav1connect.IntentServiceName {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q: ask for %q or \"\"", req.Service, cfav1connect.IntentServiceName))
	}
	if c.ready != nil {
		if err := c.ready(ctx); err != nil {
			return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
		}
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// NewHTTPServer serves h on addr with HTTP/1.1 and HTTP/2 without TLS (h2c,
// what gRPC clients speak to a plain address); TLS is the load balancer's.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	// Requests are small and the only stream sends from the server, so
	// reading a request is bounded; a watch's response is not.
	return &http.Server{Addr: addr, Handler: h, Protocols: p, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// Listen opens addr, with an error that says what to do when it is taken.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w; pick another address with --listen (or stop what holds it)", addr, err)
	}
	return l, nil
}

// watchLines is WatchIntent for a plain HTTP client (curl -N): one JSON
// object per line (a WatchIntentResponse), the last one the decided
// intent; an error is a last line {"error": {"code", "message"}}. Same
// token, same role as WatchIntent.
func (s *Server) watchLines(auth *authInterceptor, receipts *receiptInterceptor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		ctx, err := auth.admit(r.Context(), cfav1connect.IntentServiceWatchIntentProcedure, r.Header.Get("Authorization"), &cfav1.WatchIntentRequest{IntentId: id})
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		flusher, _ := w.(http.Flusher)
		started := false
		send := func(m *cfav1.WatchIntentResponse) error {
			b, err := protojson.Marshal(m)
			if err != nil {
				return err
			}
			started = true
			if _, err := w.Write(append(b, '\n')); err != nil {
				return err
			}
			if flusher != nil {
				flusher.Flush()
			}
			return nil
		}
		err = s.watch(ctx, id, send)
		if receipts != nil {
			_ = receipts.record(ctx, cfav1connect.IntentServiceWatchIntentProcedure, &cfav1.WatchIntentRequest{IntentId: id}, nil, err)
		}
		if err != nil {
			if !started {
				writeError(w, err)
				return
			}
			b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": connect.CodeOf(err).String(), "message": err.Error()}})
			_, _ = w.Write(append(b, '\n'))
		}
	}
}

// writeError writes err as Connect's JSON error with its HTTP status.
func writeError(w http.ResponseWriter, err error) {
	ce := new(connect.Error)
	if !errors.As(err, &ce) {
		ce = connect.NewError(connect.CodeInternal, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus(ce.Code()))
	b, _ := json.Marshal(map[string]string{"code": ce.Code().String(), "message": ce.Message()})
	_, _ = w.Write(append(b, '\n'))
}

// httpStatus is the HTTP status Connect gives a code.
func httpStatus(c connect.Code) int {
	switch c {
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodeFailedPrecondition:
		return http.StatusPreconditionFailed
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeCanceled:
		return 499
	}
	return http.StatusInternalServerError
}
