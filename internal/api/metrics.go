package api

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the API (on the process's registry, beside the worker's
// cfa_ metrics when both run in one process).
const (
	MetricRequests        = "cfa_api_requests_total"
	MetricRequestDuration = "cfa_api_request_duration_seconds"
)

// metricsInterceptor counts every call by procedure and Connect code, and
// times it. Refused calls are counted too (code unauthenticated or
// permission_denied), since the interceptor runs first.
type metricsInterceptor struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetricsInterceptor registers the API's metrics on reg.
func NewMetricsInterceptor(reg prometheus.Registerer) (connect.Interceptor, error) {
	m := &metricsInterceptor{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
			Help: "API calls, by procedure and Connect code (ok, invalid_argument, unauthenticated, ...)."}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRequestDuration,
			Help:    "Duration of API calls (a watch stream: until it ends), by procedure.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"procedure"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metricsInterceptor) observe(procedure string, start time.Time, err error) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	name := procedureName(procedure)
	m.requests.WithLabelValues(name, code).Inc()
	m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

func (m *metricsInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		if !req.Spec().IsClient {
			m.observe(req.Spec().Procedure, start, err)
		}
		return res, err
	}
}

func (m *metricsInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (m *metricsInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		m.observe(conn.Spec().Procedure, start, err)
		return err
	}
}
