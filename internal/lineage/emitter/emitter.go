// Package emitter sends the OpenLineage events of executed intents while
// the audit trail records them: Storage is an audit_trail.storage_backend
// (extension.AuditStorage) that wraps the one in force, seals every event
// there first and then, when a sealed receipt starts or ends a run (see
// lineage.Reports), derives the run's events from the intent's trail and
// sends them through a Transport (HTTP to a lineage server, or a file).
//
// The chain is the record, the events a view of it. Append returns what
// the wrapped backend returned and never fails for lineage: the events are
// built and sent by one background goroutine, in the order their receipts
// were sealed, and a failure (the server down past the retries, a full
// queue, a trail that cannot be read) goes to OnError. Nothing is kept per
// intent: each event is derived again from the receipts in the store, so
// a worker restart loses at most the events queued when it stopped; they
// can be derived again from the chain (lineage.Build), byte for byte.
package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/lineage"
	"github.com/contextualflux/cfa/internal/planner"
)

// TrailReader reads an intent's receipts (db.Store does).
type TrailReader interface {
	AuditByIntent(ctx context.Context, intentID string) ([]audit.Receipt, error)
}

// PlanReader reads the plan recorded for a signature (db.Store does).
type PlanReader interface {
	GetPlanOfSignature(ctx context.Context, intentID, signatureHash string) (db.PlanRecord, error)
}

// Transport delivers one event, JSON-encoded.
type Transport interface {
	Send(ctx context.Context, event []byte) error
	// String names the destination without a credential.
	String() string
}

// Defaults of Config.
const (
	DefaultQueueSize = 1024
	DefaultTimeout   = 30 * time.Second
	// sentMemory bounds how many sent events are remembered to skip the
	// copies a retried append would send again.
	sentMemory = 4096
)

// Config is what Storage needs besides the backend it wraps.
type Config struct {
	// Options name the job namespace, the producer and the data plane.
	Options lineage.Options
	// Catalog gives the datasets' layers and columns.
	Catalog *catalog.Catalog
	// Trail reads an intent's trail; nil: the wrapped backend, when it
	// can.
	Trail TrailReader
	// Plans reads the plan that ran, for the column lineage; nil: the
	// events carry none.
	Plans PlanReader
	// Transport sends the events.
	Transport Transport
	// QueueSize bounds the receipts waiting to be turned into events; past
	// it a receipt's events are dropped and reported (default 1024).
	QueueSize int
	// Timeout bounds the reading, building and sending of one receipt's
	// events, retries included (default 30 s).
	Timeout time.Duration
	// OnError hears of every event not sent and every trail or plan not
	// read; nil ignores them.
	OnError func(error)
}

// Storage seals events in the wrapped backend and sends the lineage
// events the sealed receipts imply. It is safe for concurrent use.
type Storage struct {
	next extension.AuditStorage
	cfg  Config

	queue chan item
	stop  chan struct{}
	done  chan struct{}
	// ctx bounds every send; Close cancels it once the queue is flushed
	// or its deadline passed.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.RWMutex
	closed bool

	// The sender goroutine's own state.
	sent  map[string]bool
	order []string
}

// item is one sealed batch of an intent with a receipt that reports, or a
// flush marker.
type item struct {
	intentID string
	receipts []audit.Receipt
	flushed  chan struct{}
}

var _ extension.AuditStorage = (*Storage)(nil)

// New returns a Storage over next and starts its sender; Close stops it.
func New(next extension.AuditStorage, cfg Config) (*Storage, error) {
	if next == nil {
		return nil, errors.New("lineage emitter: no audit storage to wrap")
	}
	if cfg.Transport == nil {
		return nil, errors.New("lineage emitter: no transport: set CFA_OPENLINEAGE_URL or CFA_OPENLINEAGE_FILE")
	}
	if cfg.Trail == nil {
		r, ok := next.(TrailReader)
		if !ok {
			return nil, fmt.Errorf("lineage emitter: the audit storage %T cannot read an intent's trail (AuditByIntent): the events are derived from it", next)
		}
		cfg.Trail = r
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	s := &Storage{next: next, cfg: cfg, queue: make(chan item, cfg.QueueSize), stop: make(chan struct{}), done: make(chan struct{}), sent: map[string]bool{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Append seals events in the wrapped backend; when it succeeds and a
// receipt starts or ends a run, the run's events are queued. It returns
// what the wrapped backend returned, whatever happens to the lineage.
func (s *Storage) Append(ctx context.Context, events ...extension.Event) ([]extension.Receipt, error) {
	receipts, err := s.next.Append(ctx, events...)
	if err != nil {
		return receipts, err
	}
	var batches []item
	for _, r := range receipts {
		if !lineage.Reports(r) {
			continue
		}
		id := r.IntentID()
		if n := len(batches); n > 0 && batches[n-1].intentID == id {
			batches[n-1].receipts = append(batches[n-1].receipts, r)
			continue
		}
		batches = append(batches, item{intentID: id, receipts: []audit.Receipt{r}})
	}
	for _, b := range batches {
		s.enqueue(b)
	}
	return receipts, nil
}

func (s *Storage) enqueue(it item) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.report(fmt.Errorf("lineage emitter: closed: the events of receipt %s are not sent", it.receipts[0].ReceiptID))
		return
	}
	select {
	case s.queue <- it:
	default:
		s.report(fmt.Errorf("lineage emitter: queue full (%d): the events of receipt %s are dropped; derive them again from the audit trail", cap(s.queue), it.receipts[0].ReceiptID))
	}
}

// Flush waits until every receipt queued before it has been handled.
func (s *Storage) Flush(ctx context.Context) error {
	marker := make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil
	}
	select {
	case s.queue <- item{flushed: marker}:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-marker:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends what is queued until ctx is done, then stops the sender
// (what is still queued is reported as not sent) and closes the transport
// when it is an io.Closer. Appends after Close still seal; their events
// are reported as not sent.
func (s *Storage) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.cancel()
	<-s.done
	if c, ok := s.cfg.Transport.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

func (s *Storage) report(err error) {
	if s.cfg.OnError != nil {
		s.cfg.OnError(err)
	}
}

func (s *Storage) run() {
	defer close(s.done)
	for {
		select {
		case it := <-s.queue:
			if it.flushed != nil {
				close(it.flushed)
				continue
			}
			s.handle(it)
		case <-s.stop:
			for {
				select {
				case it := <-s.queue:
					if it.flushed != nil {
						close(it.flushed)
						continue
					}
					s.report(fmt.Errorf("lineage emitter: stopped: the events of receipt %s are not sent; derive them again from the audit trail", it.receipts[0].ReceiptID))
				default:
					return
				}
			}
		}
	}
}

// handle derives the events of an intent's trail and sends those that
// report one of the batch's receipts.
func (s *Storage) handle(it item) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	first := it.receipts[0].ReceiptID
	trail, err := s.cfg.Trail.AuditByIntent(ctx, it.intentID)
	if err != nil {
		s.report(fmt.Errorf("lineage emitter: read the trail of intent %s for receipt %s: %w", it.intentID, first, err))
		return
	}
	x, err := lineage.Read(append(trail, it.receipts...))
	if err != nil {
		s.report(fmt.Errorf("lineage emitter: receipt %s: %w", first, err))
		return
	}
	if x == nil {
		return // a decision of an intent that never ran
	}
	plan := s.plan(ctx, x)
	want := map[string]bool{}
	for _, r := range it.receipts {
		want[r.ReceiptID] = true
	}
	for _, em := range x.Events(s.cfg.Options, s.cfg.Catalog, plan) {
		key := em.Event.Run.RunID + "/" + string(em.Event.EventType)
		if !want[em.ReceiptID] || s.sent[key] {
			continue
		}
		body, err := lineage.Marshal(em.Event)
		if err == nil {
			err = s.cfg.Transport.Send(ctx, body)
		}
		if err != nil {
			s.report(fmt.Errorf("lineage emitter: %s event of intent %s (receipt %s) not sent to %s: %w", em.Event.EventType, it.intentID, em.ReceiptID, s.cfg.Transport, err))
			continue
		}
		s.remember(key)
	}
}

// plan reads the plan that ran; without it the events carry no column
// lineage (reported).
func (s *Storage) plan(ctx context.Context, x *lineage.Execution) *planner.ExecutionPlan {
	if s.cfg.Plans == nil || x.SignatureHash == "" || x.PlanHash == "" {
		return nil
	}
	rec, err := s.cfg.Plans.GetPlanOfSignature(ctx, x.IntentID, x.SignatureHash)
	if err == nil && len(rec.Plan) > 0 {
		var p planner.ExecutionPlan
		if err = json.Unmarshal(rec.Plan, &p); err == nil {
			return &p
		}
	}
	if err != nil {
		s.report(fmt.Errorf("lineage emitter: read the plan of intent %s (signature %s): %w; its events carry no column lineage", x.IntentID, x.SignatureHash, err))
	}
	return nil
}

func (s *Storage) remember(key string) {
	s.sent[key] = true
	s.order = append(s.order, key)
	if len(s.order) > sentMemory {
		delete(s.sent, s.order[0])
		s.order = s.order[1:]
	}
}
