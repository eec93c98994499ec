package telemetry_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/activity"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/telemetry"
)

func TestFromEnv(t *testing.T) {
	vars := []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want telemetry.Config
		err  string
	}{
		{name: "off by default"},
		{name: "an endpoint turns it on, http/protobuf by default", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolHTTP}},
		{name: "a traces endpoint too", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			want: telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolHTTP}},
		{name: "otlp exporter, grpc", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolGRPC}},
		{name: "the traces protocol wins", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolHTTP}},
		{name: "none wins over an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}},
		{name: "the SDK disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}},
		{name: "an unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER=zipkin is not supported"},
		{name: "http/json", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, err: "http/json is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range vars {
				t.Setenv(v, tc.env[v])
			}
			got, err := telemetry.FromEnv()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				_, err = telemetry.Setup(context.Background(), "cfa-test")
				require.ErrorContains(t, err, tc.err, "Setup refuses it too")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSetupIsANoOpWhenOff(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	shutdown, err := telemetry.Setup(context.Background(), "cfa-test")
	require.NoError(t, err)
	require.NoError(t, shutdown(context.Background()))
	ctx, span := telemetry.Tracer().Start(context.Background(), "x")
	defer span.End()
	require.Empty(t, telemetry.TraceID(ctx), "no trace id while tracing is off: receipts stay as they were")
}

// TestEveryActivityHasAStage: every activity the worker registers (the
// methods of *activities.Activities) is mapped to its stage, so none is
// timed as "other".
func TestEveryActivityHasAStage(t *testing.T) {
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	typ := reflect.TypeFor[*activities.Activities]()
	n := 0
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		ft := m.Type
		if ft.NumIn() < 2 || ft.In(1) != ctxType || ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errType {
			continue
		}
		n++
		require.Contains(t, telemetry.ActivityStages, m.Name, "activity %s has no stage in telemetry.ActivityStages", m.Name)
	}
	require.Greater(t, n, 20)
	for name := range telemetry.ActivityStages {
		_, ok := typ.MethodByName(name)
		require.True(t, ok, "ActivityStages lists %s, which is no activity", name)
	}
	require.Equal(t, telemetry.StageOther, telemetry.StageOf("SomeExtensionActivity"))
}

// run executes fn registered as the activity name with the worker
// interceptor (inside the SDK's tracing interceptor, as in the worker).
func run(t *testing.T, m *metrics.Metrics, tp *sdktrace.TracerProvider, name string, fn any, args ...any) error {
	t.Helper()
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: tp.Tracer("temporal-sdk-go")})
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{tracing, telemetry.NewWorkerInterceptor(m)}})
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	_, err = env.ExecuteActivity(name, args...)
	return err
}

func gather(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fs, err := m.Registry.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, f := range fs {
		out[f.GetName()] = f
	}
	return out
}

// count is the counter (or histogram count) of name with exactly labels.
func count(fs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, s := range fs[name].GetMetric() {
		got := map[string]string{}
		for _, l := range s.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !reflect.DeepEqual(got, labels) {
			continue
		}
		if s.GetHistogram() != nil {
			return float64(s.GetHistogram().GetSampleCount())
		}
		return s.GetCounter().GetValue()
	}
	return 0
}

func TestTheInterceptorTimesCountsAndAnnotates(t *testing.T) {
	m := metrics.New()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	st := activities.Step{IntentID: "intent-1", Seq: 4, At: time.Date(2026, 1, 2, 10, 5, 0, 0, time.UTC)}

	require.NoError(t, run(t, m, tp, "Decide", func(context.Context, activities.Step, activities.DecideInput) (activities.Decided, error) {
		return activities.Decided{Decision: decision.Decision{State: decision.Blocked}}, nil
	}, st, activities.DecideInput{}))
	require.NoError(t, run(t, m, tp, "Govern", func(context.Context, activities.Step, activities.GovernInput) (activities.Governed, error) {
		return activities.Governed{Attempts: []activities.PolicyAttempt{{Outcome: "replan"}, {Outcome: "replan"}, {Outcome: "approve"}}}, nil
	}, st, activities.GovernInput{}))
	require.NoError(t, run(t, m, tp, "ReplanForCost", func(context.Context, activities.Step, activities.CostReplanInput) (activities.Governed, error) {
		return activities.Governed{Attempts: []activities.PolicyAttempt{{Outcome: "approve"}}}, nil
	}, st, activities.CostReplanInput{}))
	require.NoError(t, run(t, m, tp, "Revalidate", func(context.Context, activities.Step, activities.RevalidateInput) (activities.Revalidated, error) {
		return activities.Revalidated{Stale: true}, nil
	}, st, activities.RevalidateInput{}))
	require.NoError(t, run(t, m, tp, "OpenEscalation", func(context.Context, activities.Step, activities.EscalationInput) (activities.Escalation, error) {
		return activities.Escalation{}, nil
	}, st, activities.EscalationInput{}))
	require.NoError(t, run(t, m, tp, "CloseEscalation", func(context.Context, activities.Step, activities.Answer) (activities.Answered, error) {
		return activities.Answered{}, nil
	}, st, activities.Answer{Mode: confirmation.ModeHumanEscalation, Outcome: confirmation.OutcomeApproved,
		Deadline: st.At.Add(4 * time.Minute), Timeout: 5 * time.Minute}))
	require.NoError(t, run(t, m, tp, "ExecuteUnit", func(context.Context, activities.UnitInput) (activities.UnitOutcome, error) {
		return activities.UnitOutcome{Report: runtimevalidation.UnitReport{Passed: true, Attempt: 2}}, nil
	}, activities.UnitInput{IntentID: "intent-1", Key: "2026-01-01"}))
	require.Error(t, run(t, m, tp, "ExecuteUnit", func(context.Context, activities.UnitInput) (activities.UnitOutcome, error) {
		return activities.UnitOutcome{}, temporal.NewNonRetryableApplicationError("policy bundle changed", activities.ErrEnvironmental, nil)
	}, activities.UnitInput{IntentID: "intent-1", Key: "2026-01-02"}))
	require.Error(t, run(t, m, tp, "Project", func(context.Context, activities.ProjectInput) (activities.Projected, error) {
		return activities.Projected{}, temporal.NewNonRetryableApplicationError("refused", activities.ErrInvalidInput, errors.New("refused"))
	}, activities.ProjectInput{IntentID: "intent-1"}))

	fs := gather(t, m)
	require.Equal(t, 1.0, count(fs, metrics.IntentsDecided, map[string]string{"decision_state": "blocked"}))
	require.Equal(t, 2.0, count(fs, metrics.Replans, map[string]string{"reason": metrics.ReplanPolicy}))
	require.Equal(t, 1.0, count(fs, metrics.Replans, map[string]string{"reason": metrics.ReplanPreCost}))
	require.Equal(t, 1.0, count(fs, metrics.Replans, map[string]string{"reason": metrics.ReplanStaleEnvironment}))
	require.Equal(t, 1.0, count(fs, metrics.EscalationsClosed, map[string]string{"outcome": "approved"}))
	require.Equal(t, 1.0, count(fs, metrics.EscalationAge, map[string]string{"outcome": "approved"}))
	age := fs[metrics.EscalationAge].GetMetric()[0].GetHistogram().GetSampleSum()
	require.Equal(t, 60.0, age, "asked at deadline - timeout (a minute before the answer)")
	require.Equal(t, 1.0, count(fs, metrics.Units, map[string]string{"outcome": metrics.UnitPassed, "attempt": "2"}), "the unit's own attempt")
	require.Equal(t, 1.0, count(fs, metrics.Units, map[string]string{"outcome": metrics.UnitEnvironmental, "attempt": "1"}))
	require.Equal(t, 1.0, count(fs, metrics.ProjectionDuration, map[string]string{"outcome": "error"}))
	require.Equal(t, 1.0, count(fs, metrics.StageDuration, map[string]string{"stage": "decision_engine", "activity": "Decide", "outcome": "ok"}))
	require.Equal(t, 2.0, count(fs, metrics.StageDuration, map[string]string{"stage": "execution", "activity": "ExecuteUnit", "outcome": "ok"})+
		count(fs, metrics.StageDuration, map[string]string{"stage": "execution", "activity": "ExecuteUnit", "outcome": "error"}))

	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	decide := spans["RunActivity:Decide"]
	require.NotNil(t, decide, "the SDK's span of the activity")
	attrs := attribute.NewSet(decide.Attributes()...)
	for k, want := range map[attribute.Key]string{
		telemetry.AttrIntentID: "intent-1", telemetry.AttrStage: "decision_engine", telemetry.AttrActivity: "Decide", telemetry.AttrDecisionState: "blocked",
	} {
		v, ok := attrs.Value(k)
		require.True(t, ok, "attribute %s", k)
		require.Equal(t, want, v.AsString(), "attribute %s", k)
	}
	project := attribute.NewSet(spans["RunActivity:Project"].Attributes()...)
	v, _ := project.Value(telemetry.AttrIntentID)
	require.Equal(t, "intent-1", v.AsString(), "from the input when the activity takes no Step")
}
