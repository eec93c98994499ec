package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/api"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/redact"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/telemetry"
	"github.com/contextualflux/cfa/internal/translog"
)

// DefaultAPIListen is where `cfa serve` listens unless told otherwise.
const DefaultAPIListen = "127.0.0.1:8480"

// APIServer is a running API: its address, and how to stop it.
type APIServer struct {
	Addr     string
	http     *http.Server
	done     chan error
	cleanups []func()
}

// StartAPI loads the catalog and the policy bundle, opens Postgres (the
// worker's login: the API reads the registry and the audit trail and keeps
// the tokens), dials Temporal and serves the API on addr until Shutdown.
// Traces follow the OTEL_* variables (off unless set).
func StartAPI(ctx context.Context, cfg Config, addr string, logger *zap.Logger) (*APIServer, error) {
	s := &APIServer{done: make(chan error, 1)}
	fail := func(err error) (*APIServer, error) {
		s.close()
		return nil, err
	}
	shutdownTraces, err := telemetry.Setup(ctx, "cfa-api")
	if err != nil {
		return nil, err
	}
	s.cleanups = append(s.cleanups, func() { _ = shutdownTraces(context.Background()) })
	cat, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return fail(err)
	}
	bundle, err := LoadBundle(ctx, cfg.PolicyDir)
	if err != nil {
		return fail(err)
	}
	store, err := db.Open(ctx, cfg.DatabaseURL, cfg.SandboxLogin())
	if err != nil {
		return fail(fmt.Errorf("open Postgres at %s: %w", redact.URL(cfg.DatabaseURL), err))
	}
	s.cleanups = append(s.cleanups, store.Close)
	if err := store.CheckSchema(ctx); err != nil {
		return fail(err)
	}
	auth, err := NewAuthenticator(cfg, store)
	if err != nil {
		return fail(err)
	}
	if cfg.JWTIssuer != "" && cfg.JWTAudience == "" {
		logger.Warn("CFA_JWT_AUDIENCE is not set: every JWT of " + cfg.JWTIssuer + " with cfa_roles is accepted, whatever service it was issued for; set the audience the issuer gives this API's tokens")
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	m := cfg.Metrics
	// Open escalations and the chain's length, read from Postgres at each
	// scrape like the worker's.
	m.WatchState(ObservedState(store))
	tc, err := Dial(cfg, logger)
	if err != nil {
		return fail(err)
	}
	s.cleanups = append(s.cleanups, tc.Close)
	srv := &api.Server{
		Svc: &service.Service{Temporal: tc, Store: store}, Catalog: cat, Bundle: bundle, Logger: logger,
		WebUI: os.Getenv("CFA_TEMPORAL_WEB_UI"), Namespace: cfg.Namespace,
	}
	calls, err := api.NewMetricsInterceptor(m.Registry)
	if err != nil {
		return fail(err)
	}
	var signer note.Signer
	if cfg.CheckpointKeyFile != "" {
		if signer, err = translog.LoadSigner(cfg.CheckpointKeyFile); err != nil {
			return fail(fmt.Errorf("CFA_CHECKPOINT_KEY: %w", err))
		}
	}
	h, err := api.NewHandler(srv, api.Options{
		Auth: auth, Refusals: storeRefusals{store}, Access: store, Signer: signer, Metrics: m.Handler(), Interceptors: []connect.Interceptor{calls},
		Ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			if _, err := tc.CheckHealth(ctx, nil); err != nil {
				return fmt.Errorf("temporal: %w", err)
			}
			return nil
		},
	})
	if err != nil {
		return fail(err)
	}
	l, err := api.Listen(addr)
	if err != nil {
		return fail(err)
	}
	s.Addr = l.Addr().String()
	s.http = api.NewHTTPServer(s.Addr, h)
	go func() {
		err := s.http.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	logger.Info("API serving", zap.String("listen", s.Addr), zap.String("temporal", cfg.TemporalAddress),
		zap.String("catalog_snapshot_version", cat.SnapshotVersion), zap.String("policy_bundle_version", bundle.Version),
		zap.Bool("jwt", cfg.JWTIssuer != ""))
	return s, nil
}

// Wait returns when the server stops serving on its own (an error).
func (s *APIServer) Wait() <-chan error { return s.done }

// Shutdown stops accepting calls, lets those in flight finish (a watch
// stream ends when ctx does), then closes what StartAPI opened.
func (s *APIServer) Shutdown(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.http.Close()
		}
	}
	s.close()
	return err
}

func (s *APIServer) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
}

// StoreRefusals audits the API's refused calls in store's chain.
func StoreRefusals(store *db.Store) api.RefusalRecorder { return storeRefusals{store} }

// storeRefusals audits refused calls in the store's chain.
type storeRefusals struct{ store *db.Store }

func (r storeRefusals) RecordRefusal(ctx context.Context, x api.Refusal) error {
	var p *audit.Principal
	if x.Principal != nil {
		a := x.Principal.Audit()
		p = &a
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := r.store.RecordAPIRefusal(ctx, db.APIRefusal{Principal: p, Procedure: x.Procedure, Code: x.Code, Target: x.Target})
	return err
}
