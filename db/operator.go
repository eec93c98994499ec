package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/registry"
)

// Operator is who changes the context plane by hand, and why. Every such
// change is recorded in the audit trail in the same transaction as the
// change: an operator action is a decision too (I5).
type Operator struct {
	By     string
	Reason string
	// AuthContext says how the operator was identified (cli, api, demo).
	AuthContext string
}

func (o Operator) check(op string) error {
	if strings.TrimSpace(o.By) == "" || strings.TrimSpace(o.Reason) == "" {
		return fmt.Errorf("%s: say who makes the change and why (--by and --reason): it is recorded in the audit trail", op)
	}
	return nil
}

func (o Operator) principal() audit.Principal {
	ctx := o.AuthContext
	if ctx == "" {
		ctx = "cli"
	}
	return audit.Principal{ID: o.By, Type: audit.PrincipalHuman, AuthContext: ctx}
}

// Operator actions are audited under an id of their own, with a start and
// an end event like an intent (complete_per_intent), and the change
// between them.
const (
	OperatorOverridePrefix = "registry-override-"
	OperatorResolvePrefix  = "registry-resolve-"
	// StageOperator is the stage of an operator action's events.
	StageOperator = "context_registry_operator"
)

// OverrideDatasetStates commits a snapshot on top of the latest one with
// the given datasets overridden by an operator, and records who and why in
// the audit trail, in one transaction. It is not idempotent: each call is a
// new version. It returns the new snapshot and the audit id of the action.
func (s *Store) OverrideDatasetStates(ctx context.Context, changes []registry.DatasetState, op Operator) (registry.EnvironmentState, string, error) {
	if err := op.check("override the registry"); err != nil {
		return registry.EnvironmentState{}, "", err
	}
	if err := checkDatasets(changes); err != nil {
		return registry.EnvironmentState{}, "", err
	}
	var (
		env      registry.EnvironmentState
		actionID string
	)
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		var err error
		env, actionID, err = overrideInTx(ctx, q, changes, op)
		return err
	})
	if err != nil {
		return registry.EnvironmentState{}, "", fmt.Errorf("override registry datasets: %w", err)
	}
	return env, actionID, nil
}

// overrideInTx commits the override's snapshot and its operator trail in
// the caller's transaction (OverrideDatasetStates, and Apply of a proposal
// that changes dataset records).
func overrideInTx(ctx context.Context, q *dbsqlc.Queries, changes []registry.DatasetState, op Operator) (registry.EnvironmentState, string, error) {
	id := uuid.New()
	actionID := OperatorOverridePrefix + id.String()
	if err := q.LockSnapshotWriters(ctx); err != nil {
		return registry.EnvironmentState{}, "", fmt.Errorf("lock registry for writing: %w", err)
	}
	latest, err := q.LatestCommittedSnapshot(ctx)
	if err != nil {
		return registry.EnvironmentState{}, "", fmt.Errorf("read latest registry snapshot: %w", err)
	}
	env, err := commitSnapshot(ctx, q, id, latest.VersionID, changes, nil, "operator override: "+op.Reason, "")
	if err != nil {
		return registry.EnvironmentState{}, "", err
	}
	names := make([]string, len(changes))
	targets := make([]string, len(changes))
	for i, d := range changes {
		names[i], targets[i] = d.Name, "dataset:"+d.Name
	}
	err = appendOperatorAction(ctx, q, actionID, op, audit.EventRegistrySnapshot, "committed", targets, events.RegistryOverride{
		By: op.By, Reason: op.Reason, VersionID: env.VersionID, ParentVersionID: latest.VersionID.String(), Datasets: changes,
	})
	return env, actionID, err
}

// ResolveProjectionFailure records that an operator checked the registry
// against the data (or redid the projection) after intentID's projection
// failed, and audits it, in one transaction. It reports false when the
// intent had no open marker (nothing is recorded then).
func (s *Store) ResolveProjectionFailure(ctx context.Context, intentID string, op Operator) (bool, error) {
	if err := op.check("resolve a failed projection"); err != nil {
		return false, err
	}
	actionID := OperatorResolvePrefix + intentID + "-" + uuid.NewString()[:8]
	resolved := false
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		n, err := q.ResolveProjectionFailure(ctx, dbsqlc.ResolveProjectionFailureParams{IntentID: intentID, ResolvedBy: &op.By, Resolution: &op.Reason})
		if err != nil || n == 0 {
			return err
		}
		resolved = true
		if err := appendOperatorAction(ctx, q, actionID, op, audit.EventProjectionFailureResolved, "resolved", []string{"intent:" + intentID},
			events.ProjectionFailureResolved{By: op.By, Reason: op.Reason, IntentID: intentID}); err != nil {
			return err
		}
		// The marker's CFS gate unlocks on the resolution's receipt, the
		// action's second (docs/adr/0150).
		return resolveProjectionFailureGate(ctx, q, intentID, audit.ReceiptID(actionID, 2), nowMicro())
	})
	if err != nil {
		return false, fmt.Errorf("resolve the failed projection of intent %s: %w", intentID, err)
	}
	return resolved, nil
}

// appendOperatorAction records an operator action as three events: its
// start, the change, its end.
func appendOperatorAction(ctx context.Context, q *dbsqlc.Queries, id string, op Operator, eventType, outcome string, targets []string, details any) error {
	now := time.Now().UTC()
	ev := func(seq int64, typ, outcome string, action audit.Action, details any) (audit.Event, error) {
		e := audit.Event{IntentID: id, Seq: seq, CorrelationID: id, Stage: StageOperator, EventType: typ, Outcome: outcome,
			Actor: op.principal(), Action: action, Targets: targets, Timestamp: now}
		if details == nil {
			return e, nil
		}
		b, err := audit.EncodeDetails(details)
		if err != nil {
			return e, err
		}
		e.Details = b
		return e, nil
	}
	steps := []struct {
		typ, outcome string
		action       audit.Action
		details      any
	}{
		{audit.EventIntentReceived, "received", audit.ActionInvoke, events.OperatorAction{By: op.By, Reason: op.Reason, Action: eventType}},
		{eventType, outcome, audit.ActionWrite, details},
		{audit.EventIntentCompleted, outcome, audit.ActionWrite, nil},
	}
	evs := make([]audit.Event, 0, len(steps))
	for i, st := range steps {
		e, err := ev(int64(i+1), st.typ, st.outcome, st.action, st.details)
		if err != nil {
			return err
		}
		evs = append(evs, e)
	}
	if _, err := appendEvents(ctx, q, evs); err != nil {
		return fmt.Errorf("audit operator action %s: %w", id, err)
	}
	return nil
}
