package db

import (
	"context"
	"fmt"
	"time"

	"github.com/contextualflux/cfa/internal/audit"
)

// openEscalations counts the running intents whose last escalation event
// is a question (CONFIRMATION_REQUESTED) not yet answered, timed out or
// cancelled, and when the oldest of them asked. Each running intent's
// last escalation event is read backwards on (intent_id, seq).
const openEscalations = `
SELECT count(*), min(q.ts)
FROM intents i
CROSS JOIN LATERAL (
    SELECT e.event_type, e.ts FROM audit_events e
    WHERE e.intent_id = i.intent_id AND e.event_type = ANY($1)
    ORDER BY e.seq DESC LIMIT 1
) q
WHERE i.status = 'running' AND q.event_type = $2`

// OpenEscalations returns how many escalations wait for an answer now,
// over every worker, and when the oldest was asked (zero when none): what
// /metrics reports as cfa_escalations_open. An intent whose workflow ended
// without completing (terminated) stays running in the index and counts
// until an operator resolves it.
func (s *Store) OpenEscalations(ctx context.Context) (int64, time.Time, error) {
	types := []string{audit.EventConfirmationRequested, audit.EventHumanApproved, audit.EventHumanRejected,
		audit.EventHumanEscalationTimeout, audit.EventConfirmationCancelled}
	var n int64
	var oldest *time.Time
	if err := s.pool.QueryRow(ctx, openEscalations, types, audit.EventConfirmationRequested).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("count open escalations: %w", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, oldest.UTC(), nil
}
