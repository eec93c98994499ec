package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
)

// The SQLSTATE audit_append raises for an event whose seq-1 is missing.
const sqlStateOutOfOrder = "CF001"

// maxAppendBatch bounds the events one audit_append call carries.
const maxAppendBatch = 512

// appendTimeout bounds a batch flushed on behalf of several callers: no
// caller's context may cancel the others' append.
const appendTimeout = 30 * time.Second

// appendRow is one event as audit_append reads it (0021): the stored
// columns the chain head does not decide, and the receipt's canonical bytes
// split around what it does (audit.SealParts).
type appendRow struct {
	Group               int               `json:"g"`
	IntentID            string            `json:"intent_id"`
	Seq                 int64             `json:"seq"`
	ReceiptID           string            `json:"receipt_id"`
	CorrelationID       string            `json:"correlation_id"`
	PolicyBundleVersion string            `json:"policy_bundle_version"`
	Stage               string            `json:"stage"`
	EventType           string            `json:"event_type"`
	Outcome             string            `json:"outcome"`
	ActorID             string            `json:"actor_id"`
	ActorType           string            `json:"actor_type"`
	ActorAuthContext    string            `json:"actor_auth_context"`
	Action              string            `json:"action"`
	Targets             []string          `json:"targets"`
	Ts                  time.Time         `json:"ts"`
	Context             map[string]string `json:"context"`
	Details             json.RawMessage   `json:"details"`
	Head                []byte            `json:"head"`
	Tail                []byte            `json:"tail"`
}

// appendGroups appends groups (each one intent's consecutive events) in
// one audit_append call and returns each group's receipts or error. A
// group whose first event is already recorded is compared with what is
// stored, and the rest of it appended by a further call.
func appendGroups(ctx context.Context, q *dbsqlc.Queries, groups [][]audit.Event) ([][]audit.Receipt, []error) {
	out := make([][]audit.Receipt, len(groups))
	errs := make([]error, len(groups))
	pending := make([]int, 0, len(groups)) // groups with events left to append
	rest := make([][]audit.Event, len(groups))
	for i, g := range groups {
		rest[i] = make([]audit.Event, len(g))
		for j, e := range g {
			e.Timestamp = e.Timestamp.UTC().Truncate(time.Microsecond)
			rest[i][j] = e
		}
		pending = append(pending, i)
	}
	// Each round appends or compares at least one event of every pending
	// group, so it ends; the bound is a guard.
	for round := 0; len(pending) > 0; round++ {
		if round > maxAppendBatch+1 {
			for _, i := range pending {
				errs[i] = fmt.Errorf("append audit events of %s: no progress after %d rounds", rest[i][0].IntentID, round)
			}
			break
		}
		rows, index := appendRows(rest, pending, errs)
		if len(rows) == 0 {
			break
		}
		payload, err := json.Marshal(rows)
		if err != nil {
			for _, i := range pending {
				errs[i] = fmt.Errorf("encode audit events of %s: %w", rest[i][0].IntentID, err)
			}
			break
		}
		res, err := q.AppendAuditEvents(ctx, payload)
		if err != nil {
			if len(pending) > 1 && !isConnectionError(ctx, err) {
				// One group's error fails the whole call: give each its own.
				for _, i := range pending {
					if errs[i] == nil {
						o, e := appendGroups(ctx, q, [][]audit.Event{rest[i]})
						out[i], errs[i] = append(out[i], o[0]...), e[0]
					}
				}
				return out, errs
			}
			for _, i := range pending {
				if errs[i] == nil {
					errs[i] = appendError(rest[i], err)
				}
			}
			return out, errs
		}
		next := pending[:0]
		done := make(map[int]int, len(pending)) // group → events settled this round
		var existed []dbsqlc.AppendAuditEventsRow
		for _, r := range res {
			at := index[r.Ord-1]
			if r.Existed {
				existed = append(existed, r)
				continue
			}
			e := rest[at.group][at.event]
			rc, err := audit.Seal(e, r.Position, r.PrevHash)
			if err == nil && !bytes.Equal(rc.Integrity, r.Integrity) {
				err = fmt.Errorf("audit_append sealed %s at position %d as %x, the encoder as %x: the database function and audit.SealParts disagree; do not append until they are fixed",
					rc.ReceiptID, r.Position, r.Integrity, rc.Integrity)
			}
			if err != nil && errs[at.group] == nil {
				errs[at.group] = fmt.Errorf("seal audit event %s/%d: %w", e.IntentID, e.Seq, err)
			}
			out[at.group] = append(out[at.group], normalizeReceipt(rc))
			done[at.group]++
		}
		compareExisted(ctx, q, rest, index, existed, out, errs, done)
		for _, i := range pending {
			if errs[i] != nil {
				continue
			}
			rest[i] = rest[i][done[i]:]
			if len(rest[i]) > 0 {
				next = append(next, i)
			}
		}
		pending = next
	}
	return out, errs
}

type rowAt struct{ group, event int }

// appendRows lays out the pending groups' remaining events for one call;
// a group that cannot be sealed gets its error and is left out.
func appendRows(rest [][]audit.Event, pending []int, errs []error) ([]appendRow, []rowAt) {
	var rows []appendRow
	var index []rowAt
	for _, i := range pending {
		start := len(rows)
		for j, e := range rest[i] {
			parts, err := audit.SealParts(e)
			if err != nil {
				errs[i] = fmt.Errorf("seal audit event %s/%d: %w", e.IntentID, e.Seq, err)
				rows, index = rows[:start], index[:start]
				break
			}
			ctxMap, details, err := audit.StoredContext(e)
			if err != nil {
				errs[i] = fmt.Errorf("seal audit event %s/%d: %w", e.IntentID, e.Seq, err)
				rows, index = rows[:start], index[:start]
				break
			}
			rows = append(rows, appendRow{
				Group: i, IntentID: e.IntentID, Seq: e.Seq, ReceiptID: audit.ReceiptID(e.IntentID, e.Seq),
				CorrelationID: e.CorrelationID, PolicyBundleVersion: e.PolicyBundleVersion,
				Stage: e.Stage, EventType: e.EventType, Outcome: e.Outcome,
				ActorID: e.Actor.ID, ActorType: string(e.Actor.Type), ActorAuthContext: e.Actor.AuthContext,
				Action: string(e.Action), Targets: nonNil(e.Targets), Ts: e.Timestamp,
				Context: ctxMap, Details: json.RawMessage(details), Head: parts.Head, Tail: parts.Tail,
			})
			index = append(index, rowAt{group: i, event: j})
		}
	}
	return rows, index
}

// compareExisted checks the events a retry found recorded against what is
// stored: the stored receipt is the answer when its content is the same.
func compareExisted(ctx context.Context, q *dbsqlc.Queries, rest [][]audit.Event, index []rowAt, existed []dbsqlc.AppendAuditEventsRow,
	out [][]audit.Receipt, errs []error, done map[int]int) {
	for _, r := range existed {
		at := index[r.Ord-1]
		if errs[at.group] != nil {
			continue
		}
		e := rest[at.group][at.event]
		row, err := q.GetAuditEventByKey(ctx, dbsqlc.GetAuditEventByKeyParams{IntentID: e.IntentID, Seq: e.Seq})
		if err != nil {
			errs[at.group] = fmt.Errorf("read recorded audit event %s/%d: %w", e.IntentID, e.Seq, err)
			continue
		}
		stored, err := sameEvent(e, row)
		if err != nil {
			errs[at.group] = err
			continue
		}
		out[at.group] = append(out[at.group], stored)
		done[at.group]++
	}
}

// appendError says what a failed audit_append call means for one group.
func appendError(events []audit.Event, err error) error {
	e := events[0]
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlStateOutOfOrder {
		return fmt.Errorf("append audit event %s/%d: %s: %w: append an intent's events in seq order", e.IntentID, e.Seq, pgErr.Message, ErrAuditOutOfOrder)
	}
	return fmt.Errorf("append audit events %s/%d..%d: %w", e.IntentID, e.Seq, events[len(events)-1].Seq, err)
}

// isConnectionError reports errors that would fail every group alike.
func isConnectionError(ctx context.Context, err error) bool {
	var pgErr *pgconn.PgError
	return ctx.Err() != nil || !errors.As(err, &pgErr)
}

// groupAppender commits the appends of concurrent callers together: the
// first caller starts a flusher, which takes everything queued (up to
// maxAppendBatch events) into one audit_append call per round while the
// others wait, so the head lock and the commit are paid once per batch
// instead of once per caller (docs/adr/0143).
type groupAppender struct {
	store *Store

	mu      sync.Mutex
	queue   []*appendCall
	running bool
}

type appendCall struct {
	ctx    context.Context
	events []audit.Event
	done   chan struct{}
	out    []audit.Receipt
	err    error
}

func (s *Store) appender() *groupAppender {
	s.appendOnce.Do(func() { s.groupAppender = &groupAppender{store: s} })
	return s.groupAppender
}

func (a *groupAppender) append(ctx context.Context, events []audit.Event) ([]audit.Receipt, error) {
	c := &appendCall{ctx: ctx, events: events, done: make(chan struct{})}
	a.mu.Lock()
	a.queue = append(a.queue, c)
	if !a.running {
		a.running = true
		go a.flush()
	}
	a.mu.Unlock()
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		// The batch may still commit the events; a retry finds them.
		return nil, fmt.Errorf("append audit events of %s: %w", events[0].IntentID, ctx.Err())
	}
}

// flush runs batches until the queue is empty.
func (a *groupAppender) flush() {
	for {
		a.mu.Lock()
		var batch []*appendCall
		n := 0
		for len(a.queue) > 0 && (n == 0 || n+len(a.queue[0].events) <= maxAppendBatch) {
			c := a.queue[0]
			a.queue = a.queue[1:]
			if c.ctx.Err() != nil { // its caller has gone: do not append for it
				c.err = c.ctx.Err()
				close(c.done)
				continue
			}
			batch = append(batch, c)
			n += len(c.events)
		}
		if len(batch) == 0 {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		a.run(batch)
	}
}

func (a *groupAppender) run(batch []*appendCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), appendTimeout)
	defer cancel()
	groups := make([][]audit.Event, len(batch))
	for i, c := range batch {
		groups[i] = c.events
	}
	out, errs := appendGroups(ctx, a.store.q, groups)
	for i, c := range batch {
		c.out, c.err = out[i], errs[i]
		if c.err != nil {
			c.out = nil
		}
		close(c.done)
	}
}
