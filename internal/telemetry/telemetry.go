// Package telemetry is CFA's tracing (OpenTelemetry, through the Temporal
// SDK's interceptor) and the worker interceptor that times every stage
// activity into internal/metrics and names the intent, the stage and the
// decision on its span (docs/observability.md, docs/adr/0118).
//
// Tracing is off by default. Setup turns it on from the standard
// variables: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The exporter reads
// the rest of the OTEL_EXPORTER_OTLP_* variables itself; the sampler reads
// OTEL_TRACES_SAMPLER; the resource OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Span attributes CFA sets (besides the Temporal SDK's temporalWorkflowID,
// temporalRunID and temporalActivityID).
const (
	AttrIntentID      = attribute.Key("cfa.intent_id")
	AttrStage         = attribute.Key("cfa.stage")
	AttrActivity      = attribute.Key("cfa.activity")
	AttrDecisionState = attribute.Key("cfa.decision_state")
	AttrWorkflow      = attribute.Key("cfa.workflow")
)

// ScopeName is the instrumentation scope of CFA's own spans.
const ScopeName = "github.com/contextualflux/cfa"

// Tracer is CFA's tracer on the global TracerProvider: a no-op one until
// Setup turns tracing on.
func Tracer() trace.Tracer { return otel.Tracer(ScopeName) }

// Protocols of OTEL_EXPORTER_OTLP_PROTOCOL that Setup supports.
const (
	ProtocolHTTP = "http/protobuf" // the default, per the specification
	ProtocolGRPC = "grpc"
)

// Config is the tracing configuration read from the environment.
type Config struct {
	Enabled  bool
	Protocol string // ProtocolHTTP or ProtocolGRPC
}

// FromEnv reads the tracing configuration: on with OTEL_TRACES_EXPORTER=otlp
// or an OTLP endpoint, off with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none, and off by default.
func FromEnv() (Config, error) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return Config{}, nil
	}
	var c Config
	switch exp := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "":
		c.Enabled = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
		return Config{}, nil
	case "otlp":
		c.Enabled = true
	default:
		return Config{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%s is not supported: use otlp, or none", exp)
	}
	if !c.Enabled {
		return c, nil
	}
	c.Protocol = os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if c.Protocol == "" {
		c.Protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch c.Protocol {
	case "":
		c.Protocol = ProtocolHTTP
	case ProtocolHTTP, ProtocolGRPC:
	default:
		return Config{}, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported: use http/protobuf (the default) or grpc", c.Protocol)
	}
	return c, nil
}

// Setup turns tracing on when the environment asks for it (FromEnv): an
// OTLP exporter, a batching TracerProvider for serviceName (unless
// OTEL_SERVICE_NAME names it) set as the global one, and the W3C trace
// context and baggage propagator. The returned shutdown flushes the spans
// still buffered; it is a no-op when tracing is off.
func Setup(ctx context.Context, serviceName string) (shutdown func(context.Context) error, err error) {
	cfg, err := FromEnv()
	if err != nil || !cfg.Enabled {
		return func(context.Context) error { return nil }, err
	}
	var exp sdktrace.SpanExporter
	switch cfg.Protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx)
	default:
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("start the OTLP trace exporter (%s): %w", cfg.Protocol, err)
	}
	tp, err := NewTracerProvider(ctx, serviceName, sdktrace.WithBatcher(exp))
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	Install(tp)
	return tp.Shutdown, nil
}

// NewTracerProvider is a TracerProvider for serviceName (OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES override it) with opts (a span processor);
// the sampler is OTEL_TRACES_SAMPLER's, parent-based always-on by default.
func NewTracerProvider(ctx context.Context, serviceName string, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // the environment wins
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)...), nil
}

// Install makes tp the global TracerProvider, with the W3C trace context
// and baggage propagator (a test installs one over an in-memory exporter).
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// TemporalInterceptor is the Temporal SDK's OpenTelemetry tracing
// interceptor for client.Options.Interceptors (a worker built from the
// client gets it too): StartWorkflow, RunWorkflow, StartActivity and
// RunActivity spans, linked through the Temporal headers. It uses the
// global TracerProvider, so it costs nothing while tracing is off and
// follows Setup when that runs after the dial.
func TemporalInterceptor() (interceptor.ClientInterceptor, error) {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		// Spans from workflows started before tracing was turned on, or by
		// a client with another tracer, must not fail their tasks.
		AllowInvalidParentSpans: true,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return i, nil
}

// TraceID is the trace id of ctx's span when it is sampled, "" otherwise:
// what an intent's audit receipts carry in their context (trace_id).
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}
