// Package metrics is the process's Prometheus registry: the governed flow's
// own metrics (prefixed cfa_), the Temporal SDK's (temporal_, through an
// OpenTelemetry MeterProvider whose Prometheus exporter is registered on
// the same registry, docs/adr/0118) and the Go runtime's, served by
// Handler as /metrics. Every recording method is safe on a nil *Metrics:
// a component built without metrics (a unit test) records nothing.
//
// Labels are closed sets (stages, activities, decision states, outcomes):
// never an intent id, which belongs to traces and the audit trail.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Names of the governed flow's metrics, as exported (docs/observability.md).
const (
	IntentsDecided           = "cfa_intents_decided_total"
	EscalationsOpened        = "cfa_escalations_opened_total"
	EscalationsClosed        = "cfa_escalations_closed_total"
	EscalationsOpen          = "cfa_escalations_open"
	EscalationOldestOpen     = "cfa_escalation_oldest_open_seconds"
	EscalationAge            = "cfa_escalation_age_seconds"
	StageDuration            = "cfa_stage_duration_seconds"
	Replans                  = "cfa_replans_total"
	Units                    = "cfa_units_total"
	ProjectionDuration       = "cfa_projection_duration_seconds"
	AuditAppendDuration      = "cfa_audit_append_duration_seconds"
	AuditEventsAppended      = "cfa_audit_events_appended_total"
	AuditChainLength         = "cfa_audit_chain_length"
	PolicyEvaluationDuration = "cfa_policy_evaluation_duration_seconds"
	StateReadErrors          = "cfa_state_read_errors_total"
	// Schedules is a gauge of the live schedules by state (active,
	// paused); StandingApprovalsUsed counts the scheduled runs a standing
	// approval answered (docs/adr/0124, 0125).
	Schedules             = "cfa_schedules"
	StandingApprovalsUsed = "cfa_standing_approvals_used_total"
)

// Names are every metric of the governed flow, for the dashboard's test
// and docs/observability.md.
var Names = []string{
	IntentsDecided, EscalationsOpened, EscalationsClosed, EscalationsOpen, EscalationOldestOpen, EscalationAge,
	StageDuration, Replans, Units, ProjectionDuration, AuditAppendDuration, AuditEventsAppended, AuditChainLength,
	PolicyEvaluationDuration, StateReadErrors, Schedules, StandingApprovalsUsed,
}

// Replan reasons (label reason of cfa_replans_total): who sent the flow
// back to sign again.
const (
	ReplanPolicy           = "policy"            // a policy rule's intervention (step 7)
	ReplanPreCost          = "pre_cost"          // the Pre-cost Estimator's filter (step 8)
	ReplanStaleEnvironment = "stale_environment" // pre-execution revalidation (step 12)
)

// Unit outcomes (label outcome of cfa_units_total): how one attempt of a
// consistency unit ended.
const (
	UnitPassed        = "passed"        // ran and passed runtime validation
	UnitRuntimeFault  = "runtime_fault" // ran, and runtime validation failed it
	UnitFailed        = "failed"        // the statement failed
	UnitEnvironmental = "environmental" // the environment invalidated it (never retried)
	UnitCancelled     = "cancelled"     // the worker stopped or the intent was cancelled
)

// Outcomes of a timed activity (label outcome).
const (
	OK    = "ok"
	Error = "error"
)

// Buckets of the duration histograms, in seconds: a local stage takes
// milliseconds, a unit or a projection seconds, an escalation minutes.
var (
	fastBuckets  = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	stageBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	ageBuckets   = []float64{1, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600}
	// sdkBuckets are the Temporal SDK's latencies (requests, tasks, long polls).
	sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
)

// Metrics is the process's registry and the governed flow's metrics.
type Metrics struct {
	// Registry holds every metric of the process; a front end may
	// register its own (cfa_api_*) on it.
	Registry *prometheus.Registry

	intentsDecided      *prometheus.CounterVec
	escalationsOpened   *prometheus.CounterVec
	escalationsClosed   *prometheus.CounterVec
	escalationAge       *prometheus.HistogramVec
	stageDuration       *prometheus.HistogramVec
	replans             *prometheus.CounterVec
	units               *prometheus.CounterVec
	projectionDuration  *prometheus.HistogramVec
	auditAppend         *prometheus.HistogramVec
	auditEvents         prometheus.Counter
	policyEvaluation    *prometheus.HistogramVec
	standingUsed        prometheus.Counter
	chainLength         atomic.Int64
	state               *stateCollector
	meterProvider       *sdkmetric.MeterProvider
	temporal            client.MetricsHandler
	temporalHandlerOnce sync.Once
}

// New returns a fresh registry with the cfa_ metrics, the Go runtime and
// process collectors, and the Temporal SDK's metrics (TemporalHandler).
// A process makes one and shares it.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m.intentsDecided = prometheus.NewCounterVec(prometheus.CounterOpts{Name: IntentsDecided,
		Help: "Intents decided (steps 17-19), by decision_state."}, []string{"decision_state"})
	m.escalationsOpened = prometheus.NewCounterVec(prometheus.CounterOpts{Name: EscalationsOpened,
		Help: "Human escalations opened (CONFIRMATION_REQUESTED), by confirmation mode."}, []string{"mode"})
	m.escalationsClosed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: EscalationsClosed,
		Help: "Human escalations closed, by outcome (approved, rejected, timeout, cancelled)."}, []string{"outcome"})
	m.escalationAge = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: EscalationAge,
		Help: "How long a closed escalation was open (workflow time), by outcome.", Buckets: ageBuckets}, []string{"outcome"})
	m.stageDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: StageDuration,
		Help: "Duration of one attempt of a stage activity, by stage, activity and outcome (ok, error).", Buckets: stageBuckets},
		[]string{"stage", "activity", "outcome"})
	m.replans = prometheus.NewCounterVec(prometheus.CounterOpts{Name: Replans,
		Help: "Replans of a signature, by reason (policy, pre_cost, stale_environment)."}, []string{"reason"})
	m.units = prometheus.NewCounterVec(prometheus.CounterOpts{Name: Units,
		Help: "Consistency unit attempts, by outcome and the unit's attempt (1, 2, 3, 4+)."}, []string{"outcome", "attempt"})
	m.projectionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: ProjectionDuration,
		Help: "Duration of the State Projection Protocol's transaction (step 16), by outcome (ok, error).", Buckets: stageBuckets},
		[]string{"outcome"})
	m.auditAppend = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: AuditAppendDuration,
		Help: "Duration of one append of a stage's audit events to the chain, by outcome (ok, error).", Buckets: fastBuckets},
		[]string{"outcome"})
	m.auditEvents = prometheus.NewCounter(prometheus.CounterOpts{Name: AuditEventsAppended,
		Help: "Audit events appended (receipts returned by the audit storage)."})
	m.policyEvaluation = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: PolicyEvaluationDuration,
		Help:    "Duration of the Policy Engine's evaluation of a signature with its replans, by kind (govern, cost_replan).",
		Buckets: fastBuckets}, []string{"kind"})
	m.standingUsed = prometheus.NewCounter(prometheus.CounterOpts{Name: StandingApprovalsUsed,
		Help: "Questions of scheduled runs answered by a standing approval, without a human wait."})
	m.state = &stateCollector{m: m,
		open:      prometheus.NewDesc(EscalationsOpen, "Human escalations open now, over every worker (the stores of record).", nil, nil),
		oldest:    prometheus.NewDesc(EscalationOldestOpen, "Age of the oldest open escalation, 0 when none is open.", nil, nil),
		chain:     prometheus.NewDesc(AuditChainLength, "Position of the audit chain's head: the number of receipts sealed.", nil, nil),
		errors:    prometheus.NewDesc(StateReadErrors, "Scrapes whose read of the stores of record (open escalations, audit chain head) failed.", nil, nil),
		schedules: prometheus.NewDesc(Schedules, "Live schedules (cfa schedule) by state: active or paused, from the registry.", []string{"state"}, nil),
	}
	for _, c := range []prometheus.Collector{m.intentsDecided, m.escalationsOpened, m.escalationsClosed, m.escalationAge,
		m.stageDuration, m.replans, m.units, m.projectionDuration, m.auditAppend, m.auditEvents, m.policyEvaluation,
		m.standingUsed, m.state} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format: mount
// it at /metrics. A collector that fails leaves its metrics out of the
// scrape instead of failing it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		Registry: m.Registry, ErrorHandling: promhttp.ContinueOnError, Timeout: 10 * time.Second,
	})
}

// TemporalHandler is the client.MetricsHandler for client.Options: the
// Temporal SDK's metrics (temporal_request_total, temporal_activity_
// execution_latency_seconds, ...) go to the same registry. Its
// MeterProvider is made on first use; nil *Metrics gives the no-op
// handler.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	m.temporalHandlerOnce.Do(func() {
		exp, err := otelprom.New(
			otelprom.WithRegisterer(m.Registry),
			otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
			otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo(),
		)
		if err != nil {
			// Only a second exporter on the same registry fails, which
			// the Once rules out.
			m.temporal = client.MetricsNopHandler
			return
		}
		m.meterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: sdkBuckets}},
		)))
		m.temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:                m.meterProvider.Meter("temporal-sdk-go"),
			UseMonotonicCounters: true,
			// A metric the meter refuses is dropped, never a panic in
			// the worker.
			OnError: func(error) {},
		})
	})
	return m.temporal
}

// Shutdown stops the Temporal SDK's MeterProvider, if one was made.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if m == nil || m.meterProvider == nil {
		return nil
	}
	return m.meterProvider.Shutdown(ctx)
}

// IntentDecided counts one decision.
func (m *Metrics) IntentDecided(state string) {
	if m == nil || state == "" {
		return
	}
	m.intentsDecided.WithLabelValues(state).Inc()
}

// EscalationOpened counts an escalation opened in mode.
func (m *Metrics) EscalationOpened(mode string) {
	if m == nil {
		return
	}
	m.escalationsOpened.WithLabelValues(mode).Inc()
}

// EscalationClosed counts an escalation closed with outcome after it was
// open for age (negative ages, from a clock skew, count as 0).
func (m *Metrics) EscalationClosed(outcome string, age time.Duration) {
	if m == nil {
		return
	}
	m.escalationsClosed.WithLabelValues(outcome).Inc()
	m.escalationAge.WithLabelValues(outcome).Observe(max(age, 0).Seconds())
}

// StageTook records one attempt of a stage activity.
func (m *Metrics) StageTook(stage, activity string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.stageDuration.WithLabelValues(stage, activity, outcome(err)).Observe(d.Seconds())
}

// Replanned counts n replans for reason.
func (m *Metrics) Replanned(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.replans.WithLabelValues(reason).Add(float64(n))
}

// UnitRan counts one attempt of a consistency unit; attempts past 3 share
// the label "4+" (retry_failed_units' max_attempts is 3).
func (m *Metrics) UnitRan(outcome string, attempt int) {
	if m == nil {
		return
	}
	m.units.WithLabelValues(outcome, AttemptLabel(attempt)).Inc()
}

// AttemptLabel is the attempt label of cfa_units_total.
func AttemptLabel(attempt int) string {
	switch {
	case attempt < 1:
		return "1"
	case attempt > 3:
		return "4+"
	}
	return strconv.Itoa(attempt)
}

// ProjectionTook records one State Projection.
func (m *Metrics) ProjectionTook(err error, d time.Duration) {
	if m == nil {
		return
	}
	m.projectionDuration.WithLabelValues(outcome(err)).Observe(d.Seconds())
}

// AuditAppended records one append of n events whose last receipt is at
// position head (0 when unknown).
func (m *Metrics) AuditAppended(err error, d time.Duration, n int, head int64) {
	if m == nil {
		return
	}
	m.auditAppend.WithLabelValues(outcome(err)).Observe(d.Seconds())
	if err != nil {
		return
	}
	m.auditEvents.Add(float64(n))
	m.raiseChain(head)
}

// StandingApprovalUsed counts a scheduled run's question answered by a
// standing approval.
func (m *Metrics) StandingApprovalUsed() {
	if m == nil {
		return
	}
	m.standingUsed.Inc()
}

// PolicyEvaluated records one evaluation by the Policy Engine; kind is
// govern (step 7) or cost_replan (step 8's replan, governed again).
func (m *Metrics) PolicyEvaluated(kind string, d time.Duration) {
	if m == nil {
		return
	}
	m.policyEvaluation.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *Metrics) raiseChain(head int64) {
	for {
		cur := m.chainLength.Load()
		if head <= cur || m.chainLength.CompareAndSwap(cur, head) {
			return
		}
	}
}

func outcome(err error) string {
	if err != nil {
		return Error
	}
	return OK
}

// State is what the stores of record say at scrape time: it is the same
// for every worker, so the dashboard takes its max over instances.
type State struct {
	// EscalationsOpen counts the running intents waiting for an answer;
	// Oldest is when the oldest of them asked (zero when none).
	EscalationsOpen int64
	Oldest          time.Time
	// ChainLength is the position of the audit chain's head.
	ChainLength int64
	// SchedulesActive and SchedulesPaused count the live schedules.
	SchedulesActive, SchedulesPaused int64
}

// StateFunc reads State; it is called on every scrape, with a deadline.
type StateFunc func(ctx context.Context) (State, error)

// WatchState makes every scrape read f: cfa_escalations_open,
// cfa_escalation_oldest_open_seconds and cfa_audit_chain_length come from
// it. Without it the chain length is the highest position this process
// appended, and the escalation gauges are not exported.
func (m *Metrics) WatchState(f StateFunc) {
	if m == nil {
		return
	}
	m.state.mu.Lock()
	m.state.read = f
	m.state.mu.Unlock()
}

// stateReadTimeout bounds a scrape's read of the stores of record.
const stateReadTimeout = 3 * time.Second

type stateCollector struct {
	m                           *Metrics
	open, oldest, chain, errors *prometheus.Desc
	schedules                   *prometheus.Desc
	mu                          sync.Mutex
	read                        StateFunc
	// failed counts the reads that failed (cfa_state_read_errors_total).
	failed atomic.Int64
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.oldest
	ch <- c.chain
	ch <- c.errors
	ch <- c.schedules
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	read := c.read
	c.mu.Unlock()
	if read != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stateReadTimeout)
		st, err := read(ctx)
		cancel()
		if err != nil {
			c.failed.Add(1)
		} else {
			c.m.raiseChain(st.ChainLength)
			age := 0.0
			if !st.Oldest.IsZero() {
				age = max(time.Since(st.Oldest), 0).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(st.EscalationsOpen))
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
			ch <- prometheus.MustNewConstMetric(c.schedules, prometheus.GaugeValue, float64(st.SchedulesActive), "active")
			ch <- prometheus.MustNewConstMetric(c.schedules, prometheus.GaugeValue, float64(st.SchedulesPaused), "paused")
		}
	}
	ch <- prometheus.MustNewConstMetric(c.chain, prometheus.GaugeValue, float64(c.m.chainLength.Load()))
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(c.failed.Load()))
}

// DefaultListen is where a worker serves /metrics unless
// CFA_METRICS_LISTEN says otherwise.
const DefaultListen = "127.0.0.1:9464"

// Off is the CFA_METRICS_LISTEN value that serves no /metrics.
const Off = "off"

// Server serves /metrics on its own address.
type Server struct {
	// Addr is the address it listens on (the port chosen when the
	// configured one was 0).
	Addr string
	srv  *http.Server
	done chan error
}

// Serve listens on addr at once (a taken port is an error here, not
// later) and serves /metrics there until Shutdown.
func (m *Metrics) Serve(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve /metrics on %s: %w; set CFA_METRICS_LISTEN to a free address, or to off", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	s := &Server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Shutdown stops serving, waiting for the scrapes in flight up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
