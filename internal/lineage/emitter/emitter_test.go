package emitter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lineage"
	"github.com/contextualflux/cfa/internal/lineage/emitter"
	"github.com/contextualflux/cfa/internal/lineage/lineagetest"
)

// memStore is an audit backend in memory: it seals events into one chain,
// idempotent on intent and seq, and reads an intent's trail back.
type memStore struct {
	mu       sync.Mutex
	prev     []byte
	pos      int64
	byIntent map[string][]audit.Receipt
	fail     error
}

func newMemStore() *memStore {
	return &memStore{prev: audit.GenesisPrevHash(), byIntent: map[string][]audit.Receipt{}}
}

func (m *memStore) Append(_ context.Context, evs ...audit.Event) ([]audit.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []audit.Receipt
	for _, e := range evs {
		if rs := m.byIntent[e.IntentID]; int64(len(rs)) >= e.Seq {
			out = append(out, rs[e.Seq-1])
			continue
		}
		m.pos++
		r, err := audit.Seal(e, m.pos, m.prev)
		if err != nil {
			return nil, err
		}
		m.prev = r.Integrity
		m.byIntent[e.IntentID] = append(m.byIntent[e.IntentID], r)
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) AuditByIntent(_ context.Context, intentID string) ([]audit.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Receipt(nil), m.byIntent[intentID]...), nil
}

// plans serves the fixture's plan for its signature.
type plans struct{ f lineagetest.Fixture }

func (p plans) GetPlanOfSignature(_ context.Context, intentID, hash string) (db.PlanRecord, error) {
	if hash != p.f.Hash {
		return db.PlanRecord{}, errors.New("no plan")
	}
	b, err := json.Marshal(p.f.Plan)
	return db.PlanRecord{IntentID: intentID, SignatureHash: hash, PlanHash: p.f.Plan.Hash, Plan: b}, err
}

// errs collects what OnError hears.
type errs struct {
	mu  sync.Mutex
	all []error
}

func (e *errs) add(err error) { e.mu.Lock(); e.all = append(e.all, err); e.mu.Unlock() }
func (e *errs) list() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.all...)
}

func fixture(t *testing.T) lineagetest.Fixture {
	t.Helper()
	f, err := lineagetest.Reconciliation()
	require.NoError(t, err)
	return f
}

// runIntent appends an intent's batches as its stages would and checks
// that every append returns its receipts.
func runIntent(t *testing.T, s *emitter.Storage, f lineagetest.Fixture, id string, executed bool, state decision.State, faults ...string) {
	t.Helper()
	batches, err := f.Batches(id, time.Date(2026, 3, 22, 10, 0, 0, 0, time.UTC), executed, state, faults...)
	require.NoError(t, err)
	for _, b := range batches {
		rs, err := s.Append(context.Background(), b...)
		require.NoError(t, err)
		require.Len(t, rs, len(b))
	}
}

func newEmitter(t *testing.T, next *memStore, f lineagetest.Fixture, tr emitter.Transport, e *errs) *emitter.Storage {
	t.Helper()
	s, err := emitter.New(next, emitter.Config{
		Options: lineage.Options{Namespace: "cfa-test", DatasetNamespace: "postgres://db:5432", Database: "cfa"},
		Catalog: f.Catalog, Plans: plans{f}, Transport: tr, OnError: e.add,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func flush(t *testing.T, s *emitter.Storage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Flush(ctx))
}

type event struct {
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string `json:"runId"`
		Facets struct {
			Governance map[string]any `json:"cfa_governance"`
		} `json:"facets"`
	} `json:"run"`
	Inputs  []map[string]any `json:"inputs"`
	Outputs []struct {
		Name   string         `json:"name"`
		Facets map[string]any `json:"facets"`
	} `json:"outputs"`
}

func decodeEvent(t *testing.T, b []byte) event {
	t.Helper()
	var e event
	require.NoError(t, json.Unmarshal(b, &e))
	return e
}

// TestHTTPReceiverGetsValidEvents: a local lineage server receives START
// then COMPLETE for an executed intent, COMPLETE's FAIL and ABORT
// counterparts for the others, nothing for an intent that never ran, and
// every event is valid against the OpenLineage schema.
func TestHTTPReceiverGetsValidEvents(t *testing.T) {
	t.Parallel()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	rcv := lineagetest.NewReceiver()
	defer rcv.Close()
	f := fixture(t)
	tr, err := emitter.NewHTTP(rcv.URL+"/api/v1/lineage", "s3cret")
	require.NoError(t, err)
	var e errs
	s := newEmitter(t, newMemStore(), f, tr, &e)

	approved, blocked, cancelled, never := "intent-"+uuid.NewString(), "intent-"+uuid.NewString(), "intent-"+uuid.NewString(), "intent-"+uuid.NewString()
	runIntent(t, s, f, approved, true, decision.Approved)
	runIntent(t, s, f, blocked, true, decision.RolledBack)
	runIntent(t, s, f, cancelled, true, decision.Blocked, fault.CodeIntentCancelled)
	runIntent(t, s, f, never, false, decision.Approved)
	flush(t, s)
	require.Empty(t, e.list())

	reqs := rcv.Requests()
	require.Len(t, reqs, 6)
	type seen struct{ run, eventType string }
	var got []seen
	for _, r := range reqs {
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "application/json", r.ContentType)
		require.Equal(t, "Bearer s3cret", r.Authorization)
		require.NoError(t, v.Validate(r.Body), "%s", r.Body)
		ev := decodeEvent(t, r.Body)
		got = append(got, seen{ev.Run.Facets.Governance["intent_id"].(string), ev.EventType})
		require.Len(t, ev.Inputs, 2)
		require.Len(t, ev.Outputs, 1)
		require.Equal(t, "cfa.silver.silver_documentos", ev.Outputs[0].Name)
		require.Contains(t, ev.Outputs[0].Facets, "columnLineage", "the plan was read")
	}
	require.Equal(t, []seen{
		{approved, "START"}, {approved, "COMPLETE"},
		{blocked, "START"}, {blocked, "FAIL"},
		{cancelled, "START"}, {cancelled, "ABORT"},
	}, got, "in the order the receipts were sealed")
}

// TestRetriedAppendIsNotSentTwice: a stage retried after its events were
// sealed gets the same receipts back; the event went out once.
func TestRetriedAppendIsNotSentTwice(t *testing.T) {
	t.Parallel()
	rcv := lineagetest.NewReceiver()
	defer rcv.Close()
	f := fixture(t)
	tr, err := emitter.NewHTTP(rcv.URL, "")
	require.NoError(t, err)
	var e errs
	s := newEmitter(t, newMemStore(), f, tr, &e)
	id := "intent-" + uuid.NewString()
	runIntent(t, s, f, id, true, decision.Approved)
	runIntent(t, s, f, id, true, decision.Approved)
	flush(t, s)
	require.Empty(t, e.list())
	require.Len(t, rcv.Requests(), 2)
	require.Empty(t, rcv.Requests()[0].Authorization, "no key, no header")
}

// TestServerErrorsAreRetriedRefusalsReported: a 503 is retried; a 400 is
// not, and is reported; neither fails an append.
func TestServerErrorsAreRetriedRefusalsReported(t *testing.T) {
	t.Parallel()
	rcv := lineagetest.NewReceiver(http.StatusServiceUnavailable, http.StatusCreated, http.StatusBadRequest)
	defer rcv.Close()
	f := fixture(t)
	tr, err := emitter.NewHTTP(rcv.URL, "")
	require.NoError(t, err)
	tr.Backoff = time.Millisecond
	var e errs
	s := newEmitter(t, newMemStore(), f, tr, &e)
	id := "intent-" + uuid.NewString()
	runIntent(t, s, f, id, true, decision.Approved)
	flush(t, s)

	require.Len(t, rcv.Requests(), 3, "START twice (503, then 201), COMPLETE once (400)")
	accepted := rcv.Accepted()
	require.Len(t, accepted, 1)
	require.Equal(t, "START", decodeEvent(t, accepted[0]).EventType)
	reported := e.list()
	require.Len(t, reported, 1)
	require.ErrorContains(t, reported[0], "COMPLETE event of intent "+id)
	require.ErrorContains(t, reported[0], "400 Bad Request")
	require.ErrorContains(t, reported[0], "after 1 attempt(s)")
}

// TestUnreachableServerNeverFailsTheChain: the server is down: every
// append seals and returns, the failures are reported, and no report
// quotes the endpoint's path or query (where credentials hide).
func TestUnreachableServerNeverFailsTheChain(t *testing.T) {
	t.Parallel()
	rcv := lineagetest.NewReceiver()
	endpoint := rcv.URL + "/api/v1/lineage?token=hidden"
	rcv.Close()
	f := fixture(t)
	tr, err := emitter.NewHTTP(endpoint, "")
	require.NoError(t, err)
	tr.Backoff = time.Millisecond
	var e errs
	store := newMemStore()
	s := newEmitter(t, store, f, tr, &e)
	id := "intent-" + uuid.NewString()
	runIntent(t, s, f, id, true, decision.Approved)
	flush(t, s)
	trail, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, trail, 10, "the chain has every event")
	reported := e.list()
	require.Len(t, reported, 2, "START and COMPLETE not sent")
	for _, err := range reported {
		require.ErrorContains(t, err, "after 3 attempt(s)")
		require.NotContains(t, err.Error(), "hidden")
		require.NotContains(t, err.Error(), "/api/v1/lineage")
	}
}

func TestBadEndpointIsRefusedWithoutQuotingIt(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "lineage.example:5000/hook", "ftp://x/y", "http://user:pw@%zz/"} {
		_, err := emitter.NewHTTP(u, "")
		require.Error(t, err, u)
		if u != "" {
			require.NotContains(t, err.Error(), u)
		}
	}
}

// TestFileTransportWritesJSONLines: each event is one line of the file,
// valid against the schema; a reopened file is appended to.
func TestFileTransportWritesJSONLines(t *testing.T) {
	t.Parallel()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	f := fixture(t)
	path := filepath.Join(t.TempDir(), "lineage.jsonl")
	for range 2 {
		tr, err := emitter.OpenFile(path)
		require.NoError(t, err)
		var e errs
		s := newEmitter(t, newMemStore(), f, tr, &e)
		runIntent(t, s, f, "intent-"+uuid.NewString(), true, decision.PartiallyCommitted)
		require.NoError(t, s.Close(context.Background()))
		require.Empty(t, e.list())
	}
	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	var types []string
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		require.NoError(t, v.Validate(sc.Bytes()))
		types = append(types, decodeEvent(t, sc.Bytes()).EventType)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, []string{"START", "FAIL", "START", "FAIL"}, types)
}

// blocking is a transport that waits until released.
type blocking struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blocking) String() string { return "blocking" }
func (b *blocking) Send(ctx context.Context, _ []byte) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return nil
}

// TestFullQueueDropsAndReports: a slow server never slows the chain: past
// the queue, events are dropped and reported, and appends return at once.
func TestFullQueueDropsAndReports(t *testing.T) {
	t.Parallel()
	f := fixture(t)
	tr := &blocking{release: make(chan struct{})}
	var e errs
	s, err := emitter.New(newMemStore(), emitter.Config{Catalog: f.Catalog, Transport: tr, QueueSize: 1, OnError: e.add})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 4 {
			runIntent(t, s, f, "intent-"+uuid.NewString(), true, decision.Approved)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("appends waited for the lineage server")
	}
	close(tr.release)
	require.NoError(t, s.Close(context.Background()))
	var dropped int
	for _, err := range e.list() {
		require.ErrorContains(t, err, "queue full")
		dropped++
	}
	require.Positive(t, dropped)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Equal(t, 8, tr.n+dropped, "every receipt's event was sent or reported")
}

func TestAppendErrorIsReturnedAndNothingSent(t *testing.T) {
	t.Parallel()
	rcv := lineagetest.NewReceiver()
	defer rcv.Close()
	f := fixture(t)
	tr, err := emitter.NewHTTP(rcv.URL, "")
	require.NoError(t, err)
	store := newMemStore()
	store.fail = db.ErrAuditConflict
	var e errs
	s := newEmitter(t, store, f, tr, &e)
	batches, err := f.Batches("intent-x", time.Now(), true, decision.Approved)
	require.NoError(t, err)
	_, err = s.Append(context.Background(), batches[0]...)
	require.ErrorIs(t, err, db.ErrAuditConflict)
	flush(t, s)
	require.Empty(t, rcv.Requests())
}

func TestNeedsATrailReaderAndATransport(t *testing.T) {
	t.Parallel()
	f := fixture(t)
	_, err := emitter.New(struct{ appendOnlyIface }{newMemStore()}, emitter.Config{Catalog: f.Catalog, Transport: &blocking{}})
	require.ErrorContains(t, err, "cannot read an intent's trail")
	_, err = emitter.New(newMemStore(), emitter.Config{Catalog: f.Catalog})
	require.ErrorContains(t, err, "CFA_OPENLINEAGE_URL")
	s, err := emitter.New(struct{ appendOnlyIface }{newMemStore()}, emitter.Config{Catalog: f.Catalog, Transport: &blocking{}, Trail: newMemStore()})
	require.NoError(t, err)
	require.NoError(t, s.Close(context.Background()))
}

// appendOnlyIface hides every method of a backend but Append.
type appendOnlyIface interface {
	Append(ctx context.Context, evs ...audit.Event) ([]audit.Receipt, error)
}

// TestCloseDoesNotWaitForAHungServer: a stopping worker waits for the
// lineage server only until its deadline; what is left is reported.
func TestCloseDoesNotWaitForAHungServer(t *testing.T) {
	t.Parallel()
	f := fixture(t)
	tr := &blocking{release: make(chan struct{})}
	var e errs
	s, err := emitter.New(newMemStore(), emitter.Config{Catalog: f.Catalog, Transport: tr, OnError: e.add})
	require.NoError(t, err)
	runIntent(t, s, f, "intent-"+uuid.NewString(), true, decision.Approved)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	require.ErrorIs(t, s.Close(ctx), context.DeadlineExceeded)
	require.Less(t, time.Since(began), 5*time.Second)
	reported := e.list()
	require.Len(t, reported, 2, "the START in flight and the COMPLETE queued")
	require.ErrorIs(t, reported[0], context.Canceled)
	require.ErrorContains(t, reported[1], "not sent")
	_, err = s.Append(context.Background())
	require.NoError(t, err, "appends after Close still seal")
}
