package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
)

// A read or write of the context plane through the CLI or the API, outside
// any intent, is audited under an id of its own (AccessPrefix and a UUIDv7,
// so ids sort by time), as one ACCESS_RECORDED event with the stage
// StageAccess (MUST-005, docs/adr/0146). The intent it is about, if any, is
// among its targets: appending to that intent's own trail from outside its
// workflow would take a seq the workflow is about to use.
const (
	// AccessPrefix is under the API's reserved "cfa-": no intent can
	// be submitted with such an id.
	AccessPrefix = "cfa-access-"
	StageAccess  = "access"
)

// How a recorded access ended.
const (
	AccessOK     = "ok"
	AccessDenied = "denied" // refused: not allowed, or not a valid request
	AccessFailed = "failed" // allowed, but it did not complete (not found, an error)
)

// Access is one read or write of the context plane to record.
type Access struct {
	Actor  audit.Principal
	Action audit.Action
	// Targets are what was read or written: "intent:<id>",
	// "registry:version/<id>", "audit:intent/<id>"…
	Targets []string
	// Via is "cli" or "api"; Operation the command or the procedure.
	Via, Operation string
	// Outcome is AccessOK, AccessDenied or AccessFailed; Code says why
	// one that is not ok.
	Outcome, Code string
	// TraceID is the call's OpenTelemetry trace, when it has one.
	TraceID string
}

// maxAccessTargets bounds the targets of one access receipt.
const maxAccessTargets = 32

// RecordAccess seals the receipt of one access into the chain, as a trail
// of its own, and returns it. The append goes through the group appender:
// concurrent calls share one round trip (docs/adr/0143).
func (s *Store) RecordAccess(ctx context.Context, a Access) (audit.Receipt, error) {
	e, err := accessEvent(a, time.Now())
	if err != nil {
		return audit.Receipt{}, err
	}
	r, err := s.AppendAudit(ctx, e)
	if err != nil {
		return audit.Receipt{}, fmt.Errorf("record the receipt of %s %q: %w", a.Via, a.Operation, err)
	}
	return r, nil
}

// accessEvent is the ACCESS_RECORDED event of a, at now.
func accessEvent(a Access, now time.Time) (audit.Event, error) {
	if a.Actor.ID == "" || a.Actor.Type == "" {
		return audit.Event{}, fmt.Errorf("record an access to the context plane: say who (actor id and type), got %q %q", a.Actor.ID, a.Actor.Type)
	}
	if !slices.Contains([]string{AccessOK, AccessDenied, AccessFailed}, a.Outcome) {
		return audit.Event{}, fmt.Errorf("record an access to the context plane: outcome %q: use %s, %s or %s", a.Outcome, AccessOK, AccessDenied, AccessFailed)
	}
	var targets []string
	for _, t := range a.Targets {
		if t = clip(t); t != "" && !slices.Contains(targets, t) && len(targets) < maxAccessTargets {
			targets = append(targets, t)
		}
	}
	op := clip(a.Operation)
	if len(targets) == 0 { // what was asked is still a target
		targets = []string{a.Via + ":" + op}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return audit.Event{}, fmt.Errorf("record an access to the context plane: %w", err)
	}
	trail := AccessPrefix + id.String()
	details, err := audit.EncodeDetails(events.AccessRecorded{Via: a.Via, Operation: op, Code: clip(a.Code)})
	if err != nil {
		return audit.Event{}, err
	}
	return audit.Event{
		IntentID: trail, Seq: 1, CorrelationID: trail, Stage: StageAccess, EventType: audit.EventAccessRecorded,
		Outcome: a.Outcome, Actor: a.Actor, Action: a.Action, Targets: targets, Timestamp: now.UTC(),
		Details: details, TraceID: a.TraceID,
	}, nil
}
