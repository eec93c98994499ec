package flow_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/telemetry"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestOneTraceAndTheMetricsOfAnIntent runs an intent end to end on the dev
// server, wired as cfa-worker wires itself (app.Dial's tracing interceptor
// and SDK metrics, the worker interceptor, the activities' metrics, the
// state read from Postgres), with tracing on over an in-memory exporter:
// the intent is one trace from the caller's span through every stage
// activity, each activity's span names the intent and its stage, the
// decision is on the decision's and the workflow's spans, every receipt
// carries the trace id, and /metrics counts what happened.
func TestOneTraceAndTheMetricsOfAnIntent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	telemetry.Install(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})

	// On the seeded data plane, so the run goes through an escalation,
	// execution (three units) and projection.
	d, cat := testenv.DataPlaneDB(ctx, t, "flow_observability", &dataplane.Options{})
	st := db.New(d.Worker)
	m := metrics.New()
	cfg := app.Config{TemporalAddress: srv.FrontendHostPort(), Namespace: "default", Metrics: m}
	c, err := app.Dial(cfg, nil)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	acts := activities.New(st, cat, bundle, zap.NewNop(), extension.Points{})
	acts.Temporal, acts.Metrics = c, m
	m.WatchState(app.ObservedState(st))
	w := worker.New(c, workflows.TaskQueue, worker.Options{Interceptors: []interceptor.WorkerInterceptor{telemetry.NewWorkerInterceptor(m)}})
	app.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	ms, err := m.Serve("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ms.Shutdown(context.Background()) })
	scrape := func() string {
		resp, err := http.Get("http://" + ms.Addr + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}

	// The API's request span: the intent's trace starts there.
	apiCtx, api := telemetry.Tracer().Start(ctx, "POST /v1/intents")
	svc := &service.Service{Temporal: c, Store: st}
	id, err := svc.Submit(apiCtx, service.SubmitRequest{Text: reconcileToSilver, SubmittedBy: "obs", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	api.End()
	require.NoError(t, err)
	traceID := api.SpanContext().TraceID()

	testenv.WaitFor(t, 30*time.Second, "the pending escalation", func() bool {
		p, err := svc.Pending(ctx, id)
		return err == nil && p != nil
	})
	require.Contains(t, scrape(), "\ncfa_escalations_open 1\n", "read from Postgres at the scrape, as the worker role")
	require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "checked"))
	var res workflows.IntentResult
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, decision.Approved, res.DecisionState)

	// Traces.
	testenv.WaitFor(t, 10*time.Second, "the workflow's span", func() bool {
		for _, s := range spans.GetSpans() {
			if s.Name == "RunWorkflow:"+workflows.IntentWorkflowName {
				return true
			}
		}
		return false
	})
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		byName[s.Name] = append(byName[s.Name], s)
	}
	attr := func(s tracetest.SpanStub, k attribute.Key) string {
		set := attribute.NewSet(s.Attributes...)
		v, _ := set.Value(k)
		return v.AsString()
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		require.Len(t, byName[name], 1, "span %s", name)
		return byName[name][0]
	}
	submit := one("cfa.submit " + workflows.IntentWorkflowName)
	start := one("StartWorkflow:" + workflows.IntentWorkflowName)
	require.Equal(t, api.SpanContext().SpanID(), submit.Parent.SpanID(), "the submit is the API call's child")
	require.Equal(t, submit.SpanContext.SpanID(), start.Parent.SpanID(), "StartWorkflow is the submit's child")
	// A workflow evicted from the worker's cache mid-run (the Update's
	// timer ends a task, a task may fail and be retried) replays in a new
	// RunWorkflow span; the one that returns carries the decision.
	decided := 0
	for _, run := range byName["RunWorkflow:"+workflows.IntentWorkflowName] {
		require.Equal(t, traceID, run.SpanContext.TraceID())
		require.Equal(t, start.SpanContext.SpanID(), run.Parent.SpanID())
		require.Equal(t, id, attr(run, telemetry.AttrIntentID))
		if d := attr(run, telemetry.AttrDecisionState); d != "" {
			require.Equal(t, string(decision.Approved), d)
			decided++
		}
	}
	require.Equal(t, 1, decided, "the run that returned carries the decision")

	ran := map[string]int{}
	for _, s := range spans.GetSpans() {
		name, ok := strings.CutPrefix(s.Name, "RunActivity:")
		if !ok {
			if strings.HasPrefix(s.Name, "StartActivity:") {
				require.Equal(t, traceID, s.SpanContext.TraceID(), "%s is in the intent's trace", s.Name)
			}
			continue
		}
		ran[name]++
		require.Equal(t, traceID, s.SpanContext.TraceID(), "%s is in the intent's trace", s.Name)
		require.Equal(t, id, attr(s, telemetry.AttrIntentID), "%s names the intent", s.Name)
		require.Equal(t, telemetry.StageOf(name), attr(s, telemetry.AttrStage), "%s names its stage", s.Name)
		require.NotEqual(t, telemetry.StageOther, attr(s, telemetry.AttrStage), s.Name)
		if name == "Decide" {
			require.Equal(t, string(decision.Approved), attr(s, telemetry.AttrDecisionState))
		}
	}
	for _, name := range []string{"Receive", "ConsultRegistry", "Normalize", "CheckScope", "OpenEscalation", "CloseEscalation",
		"Sign", "Govern", "EstimatePreCost", "PlanExecution", "GenerateCode", "ValidateStatic", "AcquireScope", "Revalidate",
		"PrepareExecution", "ApplyPartialFailurePolicy", "Project", "RecordProjection", "Decide"} {
		require.Equal(t, 1, ran[name], "one span for stage activity %s (ran %v)", name, ran)
	}
	require.Equal(t, 3, ran["ExecuteUnit"], "one span per unit")

	// The receipts carry the trace id.
	rs, err := st.AuditByIntent(ctx, id)
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	for _, r := range rs {
		require.Equal(t, traceID.String(), r.TraceID(), "receipt %s", r.ReceiptID)
	}
	chain, err := st.AuditChain(ctx, 0, 100000)
	require.NoError(t, err)
	require.NoError(t, audit.Verify(chain))

	// Metrics.
	body := scrape()
	for _, want := range []string{
		`cfa_intents_decided_total{decision_state="approved"} 1`,
		`cfa_escalations_opened_total{mode="human_escalation"} 1`, // PII, a silver write and the cost of a full scan of nfe (docs/adr/0134)
		`cfa_escalations_closed_total{outcome="approved"} 1`,
		`cfa_escalation_age_seconds_count{outcome="approved"} 1`,
		"\ncfa_escalations_open 0\n",
		`cfa_units_total{attempt="1",outcome="passed"} 3`,
		`cfa_projection_duration_seconds_count{outcome="ok"} 1`,
		`cfa_stage_duration_seconds_count{activity="Normalize",outcome="ok",stage="intent_normalizer"} 1`,
		`cfa_policy_evaluation_duration_seconds_count{kind="govern"} 1`,
		`cfa_audit_append_duration_seconds_count{outcome="ok"}`,
		"\ncfa_audit_chain_length " + strconv.FormatInt(chain[len(chain)-1].Position, 10) + "\n",
		`temporal_request_total{`,
		`temporal_activity_execution_latency_seconds_bucket{`,
		`temporal_local_activity_execution_latency_seconds_bucket{`,
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, id, "no intent id in a label")
}
