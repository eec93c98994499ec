package service

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/contextualflux/cfa/internal/telemetry"
	"github.com/contextualflux/cfa/workflows"
)

// traced starts the submit's span, a child of the caller's (the API
// request's) when it has one, so the workflow's StartWorkflow span and
// everything under it share the caller's trace: one trace per intent.
// The input then carries that trace id, which the intent's audit receipts
// record; while tracing is off the span is a no-op and the input is left
// without one. Set after the request hash of an idempotent submit: a
// retry under another trace is the same request.
func traced(ctx context.Context, id, workflowName string, in any) (context.Context, trace.Span, any) {
	ctx, span := telemetry.Tracer().Start(ctx, "cfa.submit "+workflowName,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(telemetry.AttrIntentID.String(id), telemetry.AttrWorkflow.String(workflowName)))
	tid := telemetry.TraceID(ctx)
	switch x := in.(type) {
	case workflows.IntentInput:
		x.TraceID = tid
		in = x
	case workflows.CompositeInput:
		x.TraceID = tid
		in = x
	}
	return ctx, span, in
}
