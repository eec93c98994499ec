package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
)

// CancelRequestPrefix starts the audit id of a cancellation request.
const CancelRequestPrefix = "cancel-request-"

// RecordCancelRequest audits that by asked for intentID to be cancelled,
// and why, as a trail of its own (the intent's trail records how it then
// ended: blocked as cancelled). It is recorded before the cancellation is
// sent, so no cancellation happens unrecorded.
func (s *Store) RecordCancelRequest(ctx context.Context, intentID string, by audit.Principal, reason string) (string, error) {
	if strings.TrimSpace(intentID) == "" || strings.TrimSpace(reason) == "" || by.ID == "" {
		return "", fmt.Errorf("audit a cancellation: say which intent, who and why")
	}
	id := CancelRequestPrefix + uuid.NewString()
	details, err := audit.EncodeDetails(events.CancelRequested{IntentID: intentID, By: by.ID, Reason: clip(reason)})
	if err != nil {
		return "", err
	}
	if err := s.appendAPITrail(ctx, id, by, []string{"intent:" + clip(intentID)}, audit.EventCancelRequested, "requested", "requested", details); err != nil {
		return "", fmt.Errorf("audit the cancellation of intent %s: %w", intentID, err)
	}
	return id, nil
}

// appendAPITrail records an API action outside any intent as a trail of
// its own under id: INTENT_RECEIVED, the action's event, INTENT_COMPLETED
// with endOutcome (complete_per_intent), one timestamp, one actor.
func (s *Store) appendAPITrail(ctx context.Context, id string, actor audit.Principal, targets []string, eventType, outcome, endOutcome string, details json.RawMessage) error {
	evs := []audit.Event{
		{EventType: audit.EventIntentReceived, Outcome: "received"},
		{EventType: eventType, Outcome: outcome, Details: details},
		{EventType: audit.EventIntentCompleted, Outcome: endOutcome},
	}
	now := time.Now().UTC()
	for i := range evs {
		e := &evs[i]
		e.IntentID, e.Seq, e.CorrelationID, e.Stage = id, int64(i+1), id, StageAPI
		e.Actor, e.Action, e.Targets, e.Timestamp = actor, audit.ActionInvoke, targets, now
	}
	_, err := s.Append(ctx, evs...)
	return err
}
