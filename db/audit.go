package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
)

// AppendAudit seals e into the global chain and stores it. It is
// idempotent on (IntentID, Seq): a retry returns the receipt already
// stored, whatever its timestamp (the time of an event is fixed by its
// first append: a workflow task retried after a worker died runs its local
// activities again at a later workflow time, ADR 0110), or
// ErrAuditConflict if the retried event says something else.
//
// e.Timestamp is converted to UTC and truncated to microseconds before
// sealing, because Postgres stores microseconds: the receipt read back later
// must hash to the same integrity (ADR 0044).
func (s *Store) AppendAudit(ctx context.Context, e audit.Event) (audit.Receipt, error) {
	rs, err := s.Append(ctx, e)
	if err != nil {
		return audit.Receipt{}, err
	}
	return rs[0], nil
}

// Append seals events into the chain in order, atomically: the
// audit_trail.storage_backend of the shipped deployment. The events must
// be one intent's, with consecutive seqs; each is idempotent on
// (IntentID, Seq) as AppendAudit is.
//
// Concurrent callers are committed together (docs/adr/0143): one call of
// audit_append per batch, which extends the chain under the head lock,
// computes each integrity in the database and commits once; a lone caller
// costs one round trip.
func (s *Store) Append(ctx context.Context, events ...audit.Event) ([]audit.Receipt, error) {
	if err := checkGroup(events); err != nil || len(events) == 0 {
		return nil, err
	}
	return s.appender().append(ctx, events)
}

// checkGroup refuses events that are not one intent's consecutive seqs.
func checkGroup(events []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	first := events[0]
	for i, e := range events {
		if e.IntentID == "" || e.Seq < 1 {
			return fmt.Errorf("append audit event %q: intent_id %q seq %d: set intent_id and a seq from 1", e.EventType, e.IntentID, e.Seq)
		}
		if e.IntentID != first.IntentID || e.Seq != first.Seq+int64(i) {
			return fmt.Errorf("append audit events: %s/%d after %s/%d: append one intent's events with consecutive seqs", e.IntentID, e.Seq, first.IntentID, first.Seq)
		}
	}
	return nil
}

// appendEvents seals one intent's consecutive events at the head of the
// chain inside the caller's transaction, which then holds the chain head
// lock until it ends. An event already recorded is compared, not appended
// again.
func appendEvents(ctx context.Context, q *dbsqlc.Queries, events []audit.Event) ([]audit.Receipt, error) {
	if err := checkGroup(events); err != nil || len(events) == 0 {
		return nil, err
	}
	out, errs := appendGroups(ctx, q, [][]audit.Event{events})
	return out[0], errs[0]
}

// AuditByIntent returns the receipts of one intent in causal (seq) order.
func (s *Store) AuditByIntent(ctx context.Context, intentID string) ([]audit.Receipt, error) {
	rows, err := s.q.ListAuditByIntent(ctx, intentID)
	if err != nil {
		return nil, fmt.Errorf("read audit trail of intent %q: %w", intentID, err)
	}
	return receipts(rows)
}

// AuditByCorrelation returns up to limit receipts of every intent sharing
// a correlation id, in chain order.
func (s *Store) AuditByCorrelation(ctx context.Context, correlationID string, limit int) ([]audit.Receipt, error) {
	rows, err := s.q.ListAuditByCorrelation(ctx, dbsqlc.ListAuditByCorrelationParams{CorrelationID: correlationID, MaxRows: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("read audit trail of correlation id %q: %w", correlationID, err)
	}
	return receipts(rows)
}

// AuditChain returns up to limit receipts after afterPosition, in chain
// order; pass the last position returned to stream the whole chain.
func (s *Store) AuditChain(ctx context.Context, afterPosition int64, limit int) ([]audit.Receipt, error) {
	rows, err := s.q.ListAuditChain(ctx, dbsqlc.ListAuditChainParams{AfterPosition: afterPosition, MaxRows: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("read audit chain after position %d: %w", afterPosition, err)
	}
	return receipts(rows)
}

// WholeAuditChain reads the whole chain in position order, in pages.
func (s *Store) WholeAuditChain(ctx context.Context) ([]audit.Receipt, error) {
	const page = 5000
	var all []audit.Receipt
	var after int64
	for {
		rs, err := s.AuditChain(ctx, after, page)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
		if len(rs) < page {
			return all, nil
		}
		after = rs[len(rs)-1].Position
	}
}

// AuditHead returns the chain head: the last position and its integrity
// (position 0 and 32 zero bytes for an empty chain). A verifier compares it
// with the last receipt streamed, which detects a truncated tail.
func (s *Store) AuditHead(ctx context.Context) (position int64, integrity []byte, err error) {
	err = s.pool.QueryRow(ctx, "SELECT position, integrity FROM audit_chain_head WHERE id").Scan(&position, &integrity)
	if err != nil {
		return 0, nil, fmt.Errorf("read audit chain head: %w: run the migrations", err)
	}
	return position, integrity, nil
}

// sameEvent returns the stored receipt if e, sealed at the stored position
// and time, yields the stored integrity; otherwise the retry carries other
// content. The stored time wins: it was fixed when the event was first
// appended.
func sameEvent(e audit.Event, row dbsqlc.AuditEvent) (audit.Receipt, error) {
	stored, err := receipt(row)
	if err != nil {
		return audit.Receipt{}, err
	}
	e.Timestamp = stored.Timestamp
	again, err := audit.Seal(e, row.Position, row.PrevHash)
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("seal audit event %s/%d: %w", e.IntentID, e.Seq, err)
	}
	if !bytes.Equal(again.Integrity, row.Integrity) {
		return audit.Receipt{}, fmt.Errorf("append audit event %s/%d (%s): %w: give each event of an intent its own seq",
			e.IntentID, e.Seq, e.EventType, ErrAuditConflict)
	}
	return stored, nil
}

func receipts(rows []dbsqlc.AuditEvent) ([]audit.Receipt, error) {
	out := make([]audit.Receipt, 0, len(rows))
	for _, row := range rows {
		r, err := receipt(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// receipt rebuilds the sealed receipt from its stored columns.
func receipt(row dbsqlc.AuditEvent) (audit.Receipt, error) {
	var ctxMap map[string]string
	if err := json.Unmarshal(row.Context, &ctxMap); err != nil {
		return audit.Receipt{}, fmt.Errorf("decode context of audit event %s: %w", row.ReceiptID, err)
	}
	return normalizeReceipt(audit.Receipt{
		ReceiptID: row.ReceiptID,
		Position:  row.Position,
		Actor:     audit.Principal{ID: row.ActorID, Type: audit.PrincipalType(row.ActorType), AuthContext: row.ActorAuthContext},
		Action:    audit.Action(row.Action),
		Targets:   row.Targets,
		Timestamp: row.Ts.UTC(),
		Context:   ctxMap,
		PrevHash:  row.PrevHash,
		Integrity: row.Integrity,
	}), nil
}

// normalizeReceipt gives fresh and stored receipts one shape, so a receipt
// returned by AppendAudit equals the one read back later.
func normalizeReceipt(r audit.Receipt) audit.Receipt {
	r.Targets = nonNil(r.Targets)
	r.Context = nonNilMap(r.Context)
	r.Timestamp = r.Timestamp.UTC()
	return r
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
