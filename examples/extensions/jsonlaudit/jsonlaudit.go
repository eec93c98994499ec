// Package jsonlaudit is an example audit_trail.storage_backend
// (extension.AuditStorage): it keeps the audit chain in another backend
// (normally the shipped Postgres store, which seals the events) and mirrors
// every receipt that backend returns as one JSON line to an io.Writer (a
// file, a pipe to a log shipper, a Kafka producer's writer...).
//
// The lines are the JSONL export format (extension.JSONL, the CFS JSON
// transport of a receipt, what `cfa audit verify --file` reads), so the
// mirror can be verified like an export.
//
// It uses only the public package extension, so a deployment can copy it
// into its own module.
package jsonlaudit

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/contextualflux/cfa/extension"
)

// Storage seals events in Next and mirrors the receipts to W. It is safe
// for concurrent use: lines of concurrent appends never interleave.
//
// The chain in the wrapped backend is the record; the mirror is a copy.
// Once the chain has sealed the events, Append does not fail (an activity
// retried after its events are sealed could record other content at the
// same seq): a mirror write that fails is reported to OnError, and the
// mirror can be refilled from `cfa audit export`. When an activity retries
// an append, Next returns the receipts it already sealed and they are
// written again: a consumer keeps the first line of each receipt_id (the
// copies are identical).
type Storage struct {
	next extension.AuditStorage

	// OnError hears of a mirror write that failed; nil ignores it.
	OnError func(error)

	mu sync.Mutex
	w  io.Writer
}

var _ extension.AuditStorage = (*Storage)(nil)

// New returns a Storage that seals events in next and mirrors their
// receipts to w.
func New(next extension.AuditStorage, w io.Writer) *Storage {
	return &Storage{next: next, w: w}
}

// Append seals events in the wrapped backend and, when it succeeds, writes
// each returned receipt, in order, as one JSON line.
func (s *Storage) Append(ctx context.Context, events ...extension.Event) ([]extension.Receipt, error) {
	receipts, err := s.next.Append(ctx, events...)
	if err != nil {
		return receipts, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := (extension.JSONL{}).Format(s.w, receipts); err != nil && s.OnError != nil {
		s.OnError(fmt.Errorf("jsonlaudit: mirror %d receipt(s): %w", len(receipts), err))
	}
	return receipts, nil
}
