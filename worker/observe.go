package worker

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/telemetry"
)

// observe turns on what the environment asks for: tracing (OTEL_*, off by
// default) and /metrics on cfg.MetricsListen (CFA_METRICS_LISTEN, default
// 127.0.0.1:9464; off: none), with the registry in cfg.Metrics for the
// worker to record into. stop, called after the worker stopped, stops
// serving and flushes the spans still buffered.
func observe(ctx context.Context, cfg *app.Config, logger *zap.Logger) (stop func(), err error) {
	shutdownTraces, err := telemetry.Setup(ctx, "cfa-worker")
	if err != nil {
		return nil, err
	}
	if tc, _ := telemetry.FromEnv(); tc.Enabled {
		logger.Info("tracing on: OTLP exporter configured by OTEL_EXPORTER_OTLP_*", zap.String("protocol", tc.Protocol))
	}
	m := metrics.New()
	cfg.Metrics = m
	var srv *metrics.Server
	if cfg.MetricsListen != metrics.Off && cfg.MetricsListen != "" {
		if srv, err = m.Serve(cfg.MetricsListen); err != nil {
			_ = shutdownTraces(ctx)
			return nil, err
		}
		logger.Info("serving /metrics", zap.String("address", srv.Addr))
	}
	return func() {
		// The worker's context is done by now: give each a few seconds.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("stop serving /metrics", zap.Error(err))
		}
		_ = m.Shutdown(sctx)
		if err := shutdownTraces(sctx); err != nil {
			logger.Warn("flush traces", zap.Error(err))
		}
	}, nil
}
