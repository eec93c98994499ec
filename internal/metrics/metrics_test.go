package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/metrics"
)

// touchAll records one value in every metric of the governed flow and in
// the Temporal SDK metrics the dashboard names, as the SDK names them.
func touchAll(t *testing.T, m *metrics.Metrics) {
	t.Helper()
	m.IntentDecided("approved")
	m.EscalationOpened("human_escalation")
	m.EscalationClosed("approved", 90*time.Second)
	m.StageTook("intent_normalizer", "Normalize", nil, 3*time.Millisecond)
	m.StageTook("execution", "ExecuteUnit", errors.New("boom"), time.Second)
	m.Replanned(metrics.ReplanPolicy, 2)
	m.UnitRan(metrics.UnitPassed, 1)
	m.ProjectionTook(nil, 40*time.Millisecond)
	m.AuditAppended(nil, 2*time.Millisecond, 3, 42)
	m.PolicyEvaluated("govern", 500*time.Microsecond)
	m.StandingApprovalUsed()
	m.WatchState(func(context.Context) (metrics.State, error) {
		return metrics.State{EscalationsOpen: 2, Oldest: time.Now().Add(-time.Minute), ChainLength: 40, SchedulesActive: 3, SchedulesPaused: 1}, nil
	})
	h := m.TemporalHandler()
	h.Counter("temporal_request").Inc(1)
	h.Counter("temporal_request_failure").Inc(1)
	h.Timer("temporal_activity_execution_latency").Record(20 * time.Millisecond)
	h.Timer("temporal_local_activity_execution_latency").Record(2 * time.Millisecond)
	h.Timer("temporal_workflow_task_schedule_to_start_latency").Record(5 * time.Millisecond)
	h.WithTags(map[string]string{"worker_type": "ActivityWorker"}).Gauge("temporal_worker_task_slots_available").Update(1000)
}

// families gathers the registry by name.
func families(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fs, err := m.Registry.Gather()
	require.NoError(t, err)
	out := make(map[string]*dto.MetricFamily, len(fs))
	for _, f := range fs {
		out[f.GetName()] = f
	}
	return out
}

func TestEveryMetricIsExportedUnderItsName(t *testing.T) {
	m := metrics.New()
	touchAll(t, m)
	fs := families(t, m)
	for _, name := range metrics.Names {
		require.Contains(t, fs, name)
		require.True(t, strings.HasPrefix(name, "cfa_"), name)
	}
	for name := range fs {
		if strings.HasPrefix(name, "cfa_") {
			require.Contains(t, metrics.Names, name, "every cfa_ metric is listed in metrics.Names (and so checked against the dashboard)")
		}
	}
}

// value is the value of the sample of family name with labels (a
// counter's, a gauge's, or a histogram's count).
func value(t *testing.T, fs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fs[name]
	require.True(t, ok, "no metric %s", name)
next:
	for _, s := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range s.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case s.GetCounter() != nil:
			return s.GetCounter().GetValue()
		case s.GetGauge() != nil:
			return s.GetGauge().GetValue()
		case s.GetHistogram() != nil:
			return float64(s.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, labels)
	return 0
}

func TestRecordingCountsByLabel(t *testing.T) {
	m := metrics.New()
	m.IntentDecided("approved")
	m.IntentDecided("approved")
	m.IntentDecided("blocked")
	m.IntentDecided("") // not a decision
	m.Replanned(metrics.ReplanPreCost, 1)
	m.Replanned(metrics.ReplanPolicy, 0)
	m.UnitRan(metrics.UnitRuntimeFault, 2)
	m.UnitRan(metrics.UnitFailed, 7)
	m.EscalationClosed("timeout", -time.Second)
	m.StageTook("policy_engine", "Govern", nil, time.Millisecond)
	m.StageTook("policy_engine", "Govern", errors.New("outage"), time.Millisecond)
	m.AuditAppended(nil, time.Millisecond, 2, 10)
	m.AuditAppended(nil, time.Millisecond, 1, 7) // another worker's older append
	m.AuditAppended(errors.New("down"), time.Millisecond, 0, 0)
	fs := families(t, m)
	require.Equal(t, 2.0, value(t, fs, metrics.IntentsDecided, map[string]string{"decision_state": "approved"}))
	require.Equal(t, 1.0, value(t, fs, metrics.IntentsDecided, map[string]string{"decision_state": "blocked"}))
	require.Len(t, fs[metrics.IntentsDecided].GetMetric(), 2)
	require.Equal(t, 1.0, value(t, fs, metrics.Replans, map[string]string{"reason": "pre_cost"}))
	require.Len(t, fs[metrics.Replans].GetMetric(), 1, "no replan, no sample")
	require.Equal(t, 1.0, value(t, fs, metrics.Units, map[string]string{"outcome": "runtime_fault", "attempt": "2"}))
	require.Equal(t, 1.0, value(t, fs, metrics.Units, map[string]string{"outcome": "failed", "attempt": "4+"}))
	require.Equal(t, 1.0, value(t, fs, metrics.EscalationAge, map[string]string{"outcome": "timeout"}))
	require.Equal(t, 1.0, value(t, fs, metrics.StageDuration, map[string]string{"stage": "policy_engine", "activity": "Govern", "outcome": "ok"}))
	require.Equal(t, 1.0, value(t, fs, metrics.StageDuration, map[string]string{"stage": "policy_engine", "activity": "Govern", "outcome": "error"}))
	require.Equal(t, 3.0, value(t, fs, metrics.AuditEventsAppended, nil))
	require.Equal(t, 2.0, value(t, fs, metrics.AuditAppendDuration, map[string]string{"outcome": "ok"}))
	require.Equal(t, 1.0, value(t, fs, metrics.AuditAppendDuration, map[string]string{"outcome": "error"}))
	require.Equal(t, 10.0, value(t, fs, metrics.AuditChainLength, nil), "the highest position appended")
	_, open := fs[metrics.EscalationsOpen]
	require.False(t, open, "without a state source the open escalations are unknown, not 0")
}

func TestAttemptLabel(t *testing.T) {
	for attempt, want := range map[int]string{0: "1", 1: "1", 2: "2", 3: "3", 4: "4+", 9: "4+"} {
		require.Equal(t, want, metrics.AttemptLabel(attempt), attempt)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.IntentDecided("approved")
	m.EscalationOpened("soft")
	m.EscalationClosed("approved", time.Second)
	m.StageTook("s", "a", nil, time.Second)
	m.Replanned(metrics.ReplanPolicy, 1)
	m.UnitRan(metrics.UnitPassed, 1)
	m.ProjectionTook(nil, time.Second)
	m.AuditAppended(nil, time.Second, 1, 1)
	m.PolicyEvaluated("govern", time.Second)
	m.WatchState(nil)
	m.TemporalHandler().Counter("temporal_request").Inc(1)
	require.NoError(t, m.Shutdown(context.Background()))
}

func TestStateIsReadAtEachScrape(t *testing.T) {
	m := metrics.New()
	m.AuditAppended(nil, time.Millisecond, 1, 5)
	calls := 0
	fail := false
	m.WatchState(func(ctx context.Context) (metrics.State, error) {
		calls++
		_, hasDeadline := ctx.Deadline()
		require.True(t, hasDeadline, "a scrape's read of Postgres is bounded")
		if fail {
			return metrics.State{}, errors.New("postgres down")
		}
		return metrics.State{EscalationsOpen: 3, Oldest: time.Now().Add(-90 * time.Second), ChainLength: 120}, nil
	})
	fs := families(t, m)
	require.Equal(t, 1, calls)
	require.Equal(t, 3.0, value(t, fs, metrics.EscalationsOpen, nil))
	require.InDelta(t, 90, value(t, fs, metrics.EscalationOldestOpen, nil), 5)
	require.Equal(t, 120.0, value(t, fs, metrics.AuditChainLength, nil), "the chain head, over every worker")

	fail = true
	fs = families(t, m)
	require.Equal(t, 2, calls)
	require.Equal(t, 1.0, value(t, fs, metrics.StateReadErrors, nil))
	_, open := fs[metrics.EscalationsOpen]
	require.False(t, open, "a failed read leaves the gauges out rather than reporting 0")
	require.Equal(t, 120.0, value(t, fs, metrics.AuditChainLength, nil), "the last known head")

	fail = false
	m.WatchState(func(context.Context) (metrics.State, error) { return metrics.State{}, nil })
	fs = families(t, m)
	require.Equal(t, 0.0, value(t, fs, metrics.EscalationsOpen, nil))
	require.Equal(t, 0.0, value(t, fs, metrics.EscalationOldestOpen, nil), "none open: 0")
}

func TestHandlerServesTheFlowTheSDKAndTheRuntime(t *testing.T) {
	m := metrics.New()
	touchAll(t, m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	body := get(t, srv.URL)
	for _, want := range []string{
		`cfa_intents_decided_total{decision_state="approved"} 1`,
		`cfa_stage_duration_seconds_bucket{activity="Normalize",outcome="ok",stage="intent_normalizer",le="0.005"} 1`,
		`cfa_escalations_open 2`,
		`cfa_audit_chain_length 42`,
		// The SDK's, through OpenTelemetry: counters get _total, timers
		// are histograms in seconds.
		`temporal_request_total 1`,
		`temporal_activity_execution_latency_seconds_bucket{le="0.025"} 1`,
		`temporal_worker_task_slots_available{worker_type="ActivityWorker"} 1000`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "otel_scope_name", "no instrumentation scope labels")
	require.NotContains(t, body, "target_info")
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestServeAndShutdown(t *testing.T) {
	m := metrics.New()
	m.IntentDecided("approved")
	s, err := m.Serve("127.0.0.1:0")
	require.NoError(t, err)
	require.Contains(t, get(t, "http://"+s.Addr+"/metrics"), "cfa_intents_decided_total")

	_, err = m.Serve(s.Addr)
	require.ErrorContains(t, err, "CFA_METRICS_LISTEN", "a taken address is said at once, with what to change")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	_, err = http.Get("http://" + s.Addr + "/metrics")
	require.Error(t, err)
	require.NoError(t, (*metrics.Server)(nil).Shutdown(ctx))
}
