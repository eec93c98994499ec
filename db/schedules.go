package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/skill"
)

// The registry of `cfa schedule` (docs/adr/0124) and the standing
// approvals of their runs (docs/adr/0125). Temporal runs the schedules;
// Postgres keeps who made each, what it runs, the skill it is bound to and
// its standing approvals.

// Schedule sources: what each run of a schedule submits.
const (
	ScheduleSourceText      = "text"      // the intent in words
	ScheduleSourceSkill     = "skill"     // the keyed signature of a skill
	ScheduleSourceSignature = "signature" // a State Signature file
)

// A schedule change is audited as a trail of its own, like an operator
// action: INTENT_RECEIVED, SCHEDULE_CHANGED, INTENT_COMPLETED, under the
// id ScheduleActionPrefix<action>-<uuid>, with the correlation id the
// schedule's runs share (ScheduleCorrelation).
const (
	ScheduleActionPrefix = "schedule-"
	StageSchedule        = "schedule"
)

// Schedule actions, as SCHEDULE_CHANGED records them.
const (
	ScheduleCreated    = "created"
	SchedulePaused     = "paused"
	ScheduleUnpaused   = "unpaused"
	ScheduleTriggered  = "triggered"
	ScheduleBackfilled = "backfilled"
	ScheduleDeleted    = "deleted"
)

// ScheduleCorrelation is the correlation id of a schedule's runs and of
// its changes' trails.
func ScheduleCorrelation(name string) string { return "schedule:" + name }

// Sentinel errors of the schedule registry.
var (
	// ErrScheduleNotFound: no live schedule has that name.
	ErrScheduleNotFound = errors.New("schedule not found")
	// ErrScheduleExists: a live schedule has that name already.
	ErrScheduleExists = errors.New("schedule already exists")
)

// Schedule is one live schedule of the registry.
type Schedule struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// TemporalID is the Temporal Schedule's id (cfa-schedule-<name>).
	TemporalID string `json:"schedule_id"`
	Source     string `json:"source"`
	// Input is the text, the skill id or the signature's JSON.
	Input string `json:"input"`
	Cron  string `json:"cron,omitempty"`
	Every string `json:"every,omitempty"`
	// Options are the runs' options (an intent.Request without text or
	// signature), as JSON.
	Options json.RawMessage `json:"options"`
	// SkillID is the skill the schedule runs, "" until bound.
	SkillID      string    `json:"skill_id,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	Paused       bool      `json:"paused"`
	PausedReason string    `json:"paused_reason,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NewSchedule is a schedule to register.
type NewSchedule struct {
	Name, TemporalID, Source, Input, Cron, Every string
	// Options is encoded as a JSON object.
	Options any
	SkillID string
	// By created it; Reason is optional.
	By     audit.Principal
	Reason string
}

// CreateSchedule registers a schedule and audits it, in one transaction.
func (s *Store) CreateSchedule(ctx context.Context, n NewSchedule) (Schedule, error) {
	opts, err := json.Marshal(n.Options)
	if err != nil || len(opts) == 0 || opts[0] != '{' {
		return Schedule{}, fmt.Errorf("register schedule %s: its options must encode as a JSON object (%v)", n.Name, err)
	}
	if n.SkillID != "" && !skill.ValidKey(n.SkillID) {
		return Schedule{}, fmt.Errorf("register schedule %s: skill id %q is not a skill id (64 hex digits)", n.Name, n.SkillID)
	}
	if strings.TrimSpace(n.By.ID) == "" {
		return Schedule{}, fmt.Errorf("register schedule %s: say who creates it (--by): it is recorded in the audit trail", n.Name)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Schedule{}, fmt.Errorf("register schedule %s: %w", n.Name, err)
	}
	var out Schedule
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.InsertSchedule(ctx, dbsqlc.InsertScheduleParams{
			ID: id, Name: n.Name, ScheduleID: n.TemporalID, Source: n.Source, Input: n.Input, Cron: n.Cron, Every: n.Every,
			Options: opts, SkillID: optional(n.SkillID), CreatedBy: n.By.ID,
		})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("%w: %s: pick another name, or `cfa schedule delete %s` first", ErrScheduleExists, n.Name, n.Name)
		}
		if err != nil {
			return err
		}
		out = scheduleOf(row)
		spec, _ := json.Marshal(map[string]any{"cron": n.Cron, "every": n.Every, "source": n.Source, "input": n.Input, "options": json.RawMessage(opts)})
		return auditScheduleChange(ctx, q, n.By, events.ScheduleChanged{Schedule: n.Name, ScheduleID: n.TemporalID, Action: ScheduleCreated,
			Reason: n.Reason, SkillID: n.SkillID, Spec: spec})
	})
	if err != nil {
		return Schedule{}, fmt.Errorf("register schedule %s: %w", n.Name, err)
	}
	return out, nil
}

// Schedule returns the live schedule name, or ErrScheduleNotFound.
func (s *Store) Schedule(ctx context.Context, name string) (Schedule, error) {
	row, err := s.q.GetLiveSchedule(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return Schedule{}, fmt.Errorf("%w: %s: `cfa schedule list` shows the schedules", ErrScheduleNotFound, name)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("read schedule %s: %w", name, err)
	}
	return scheduleOf(row), nil
}

// Schedules returns up to limit live schedules (100 when limit <= 0), by name.
func (s *Store) Schedules(ctx context.Context, limit int) ([]Schedule, error) {
	rows, err := s.q.ListLiveSchedules(ctx, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return schedulesOf(rows), nil
}

// SetSchedulePaused records that a schedule was paused (with why) or
// unpaused, and audits it. Temporal holds the schedule's real state; this
// is its record.
func (s *Store) SetSchedulePaused(ctx context.Context, name string, paused bool, reason string, by audit.Principal) (Schedule, error) {
	action := SchedulePaused
	if !paused {
		action, reason = ScheduleUnpaused, strings.TrimSpace(reason)
	}
	var out Schedule
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		pausedReason := ""
		if paused {
			pausedReason = reason
		}
		row, err := q.SetSchedulePaused(ctx, dbsqlc.SetSchedulePausedParams{Paused: paused, PausedReason: pausedReason, Name: name})
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrScheduleNotFound, name)
		}
		if err != nil {
			return err
		}
		out = scheduleOf(row)
		return auditScheduleChange(ctx, q, by, events.ScheduleChanged{Schedule: name, ScheduleID: out.TemporalID, Action: action, Reason: reason, SkillID: out.SkillID})
	})
	if err != nil {
		return Schedule{}, fmt.Errorf("record schedule %s %s: %w", name, action, err)
	}
	return out, nil
}

// RecordScheduleAction audits a trigger or a backfill of a schedule.
func (s *Store) RecordScheduleAction(ctx context.Context, name, action, reason string, by audit.Principal) error {
	if action != ScheduleTriggered && action != ScheduleBackfilled {
		return fmt.Errorf("record schedule action %q: use %s or %s", action, ScheduleTriggered, ScheduleBackfilled)
	}
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.GetLiveSchedule(ctx, name)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrScheduleNotFound, name)
		}
		if err != nil {
			return err
		}
		return auditScheduleChange(ctx, q, by, events.ScheduleChanged{Schedule: name, ScheduleID: row.ScheduleID, Action: action, Reason: reason, SkillID: deref(row.SkillID)})
	})
	if err != nil {
		return fmt.Errorf("record schedule %s %s: %w", name, action, err)
	}
	return nil
}

// DeleteSchedule marks a schedule deleted and revokes its standing
// approvals, audited, in one transaction; it returns the revoked ones.
// The row stays: the audit trail and the standing approvals name it.
func (s *Store) DeleteSchedule(ctx context.Context, name, reason string, by audit.Principal) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		row, err := q.MarkScheduleDeleted(ctx, name)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrScheduleNotFound, name)
		}
		if err != nil {
			return err
		}
		why := "schedule deleted"
		if reason != "" {
			why += ": " + reason
		}
		if revoked, err = q.RevokeStandingApprovals(ctx, dbsqlc.RevokeStandingApprovalsParams{RevokedBy: &by.ID, RevokeReason: &why, ScheduleID: row.ID}); err != nil {
			return fmt.Errorf("revoke its standing approvals: %w", err)
		}
		return auditScheduleChange(ctx, q, by, events.ScheduleChanged{Schedule: name, ScheduleID: row.ScheduleID, Action: ScheduleDeleted,
			Reason: reason, SkillID: deref(row.SkillID), RevokedStanding: revoked})
	})
	if err != nil {
		return nil, fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return revoked, nil
}

// BindScheduleSkill binds a schedule to its skill, once: it reports true
// when this call bound it, false when the schedule was bound already (to
// any skill: the first binding stands) or is not live.
func (s *Store) BindScheduleSkill(ctx context.Context, name, skillID string) (bool, error) {
	if !skill.ValidKey(skillID) {
		return false, fmt.Errorf("bind schedule %s: skill id %q is not a skill id (64 hex digits): give skill.Key of the signature", name, skillID)
	}
	n, err := s.q.BindScheduleSkill(ctx, dbsqlc.BindScheduleSkillParams{SkillID: &skillID, Name: name})
	if err != nil {
		return false, fmt.Errorf("bind schedule %s to skill %s: %w", name, skillID, err)
	}
	return n == 1, nil
}

// SchedulesOfSkill returns the live schedules bound to skillID, by name.
func (s *Store) SchedulesOfSkill(ctx context.Context, skillID string) ([]Schedule, error) {
	rows, err := s.q.SchedulesOfSkill(ctx, &skillID)
	if err != nil {
		return nil, fmt.Errorf("list the schedules of skill %s: %w", skillID, err)
	}
	return schedulesOf(rows), nil
}

// CountSchedules returns how many live schedules are active and paused
// (cfa_schedules).
func (s *Store) CountSchedules(ctx context.Context) (active, paused int64, err error) {
	row, err := s.q.CountSchedules(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("count schedules: %w", err)
	}
	return row.Active, row.Paused, nil
}

// IntentsOfCorrelation returns up to limit intents of one correlation id
// (a schedule's runs), newest first.
func (s *Store) IntentsOfCorrelation(ctx context.Context, correlationID string, limit int) ([]Intent, error) {
	rows, err := s.q.IntentsOfCorrelation(ctx, dbsqlc.IntentsOfCorrelationParams{CorrelationID: correlationID, MaxRows: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("list the intents of %s: %w", correlationID, err)
	}
	out := make([]Intent, len(rows))
	for i, r := range rows {
		out[i] = intent(r)
	}
	return out, nil
}

// StandingApproval is one standing approval (docs/adr/0125).
type StandingApproval struct {
	ID                     string                  `json:"id"`
	Schedule               string                  `json:"schedule"`
	SkillID                string                  `json:"skill_id"`
	PolicyBundleVersion    string                  `json:"policy_bundle_version"`
	CatalogSnapshotVersion string                  `json:"catalog_snapshot_version"`
	Mode                   confirmation.Mode       `json:"confirmation_mode"`
	Categories             []confirmation.Category `json:"categories"`
	ApprovedBy             audit.Principal         `json:"approved_by"`
	Reason                 string                  `json:"reason"`
	GrantedAt              time.Time               `json:"granted_at"`
	ExpiresAt              time.Time               `json:"expires_at"`
	GrantedByIntent        string                  `json:"granted_by_intent"`
	RevokedAt              *time.Time              `json:"revoked_at,omitempty"`
	RevokedBy              string                  `json:"revoked_by,omitempty"`
	RevokeReason           string                  `json:"revoke_reason,omitempty"`
}

// Rule is the approval as internal/confirmation's matching rules see it.
func (a StandingApproval) Rule() confirmation.Standing {
	return confirmation.Standing{ID: a.ID, SkillID: a.SkillID, PolicyBundleVersion: a.PolicyBundleVersion,
		CatalogSnapshotVersion: a.CatalogSnapshotVersion, Mode: a.Mode, Categories: a.Categories, ExpiresAt: a.ExpiresAt, Revoked: a.RevokedAt != nil}
}

// StandingGrant is a standing approval to record.
type StandingGrant struct {
	// ID is derived by the caller from the intent and the answer, so a
	// retried call finds its grant.
	ID                     string
	Schedule               string
	SkillID                string
	PolicyBundleVersion    string
	CatalogSnapshotVersion string
	Mode                   confirmation.Mode
	Categories             []confirmation.Category
	By                     audit.Principal
	Reason                 string
	GrantedAt              time.Time
	ExpiresAt              time.Time
	IntentID               string
}

// GrantStandingApproval records a standing approval for the live schedule
// g.Schedule (ErrScheduleNotFound when there is none) and returns it; the
// same ID again returns the approval recorded first.
func (s *Store) GrantStandingApproval(ctx context.Context, g StandingGrant) (StandingApproval, error) {
	cats := make([]string, len(g.Categories))
	for i, c := range g.Categories {
		cats[i] = string(c)
	}
	slices.Sort(cats)
	var out StandingApproval
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		sch, err := q.GetLiveSchedule(ctx, g.Schedule)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s (deleted meanwhile?)", ErrScheduleNotFound, g.Schedule)
		}
		if err != nil {
			return err
		}
		if _, err := q.InsertStandingApproval(ctx, dbsqlc.InsertStandingApprovalParams{
			ID: g.ID, ScheduleID: sch.ID, ScheduleName: g.Schedule, SkillID: g.SkillID, PolicyBundleVersion: g.PolicyBundleVersion,
			CatalogSnapshotVersion: g.CatalogSnapshotVersion, ConfirmationMode: string(g.Mode), Categories: cats,
			ApprovedBy: g.By.ID, PrincipalType: string(g.By.Type), AuthContext: g.By.AuthContext, Reason: g.Reason,
			GrantedAt: g.GrantedAt.UTC().Truncate(time.Microsecond), ExpiresAt: g.ExpiresAt.UTC().Truncate(time.Microsecond), GrantedByIntent: g.IntentID,
		}); err != nil {
			return err
		}
		row, err := q.GetStandingApproval(ctx, g.ID)
		if err != nil {
			return err
		}
		out = standingOf(row)
		return nil
	})
	if err != nil {
		return StandingApproval{}, fmt.Errorf("record standing approval %s of schedule %s: %w", g.ID, g.Schedule, err)
	}
	return out, nil
}

// StandingApprovals returns the standing approvals of the live schedule
// name, newest first, those for skillID only unless it is "" (revoked and
// expired ones too: the caller applies the rules).
func (s *Store) StandingApprovals(ctx context.Context, name, skillID string) ([]StandingApproval, error) {
	var out []StandingApproval
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		sch, err := q.GetLiveSchedule(ctx, name)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrScheduleNotFound, name)
		}
		if err != nil {
			return err
		}
		var rows []dbsqlc.StandingApproval
		if skillID == "" {
			rows, err = q.ListStandingApprovals(ctx, sch.ID)
		} else {
			rows, err = q.StandingApprovalsOfSchedule(ctx, dbsqlc.StandingApprovalsOfScheduleParams{ScheduleID: sch.ID, SkillID: skillID})
		}
		if err != nil {
			return err
		}
		out = make([]StandingApproval, len(rows))
		for i, r := range rows {
			out[i] = standingOf(r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the standing approvals of schedule %s: %w", name, err)
	}
	return out, nil
}

// auditScheduleChange appends a schedule change's trail inside the
// transaction that records it.
func auditScheduleChange(ctx context.Context, q *dbsqlc.Queries, by audit.Principal, c events.ScheduleChanged) error {
	if by.Type == "" {
		by.Type = audit.PrincipalHuman
	}
	if by.AuthContext == "" {
		by.AuthContext = "cli"
	}
	received, err := audit.EncodeDetails(events.ScheduleActionReceived{Schedule: c.Schedule, Action: c.Action, By: by.ID, Reason: c.Reason})
	if err != nil {
		return err
	}
	changed, err := audit.EncodeDetails(c)
	if err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	trail := ScheduleActionPrefix + c.Action + "-" + id.String()
	now := time.Now().UTC()
	evs := []audit.Event{
		{EventType: audit.EventIntentReceived, Outcome: "received", Action: audit.ActionInvoke, Details: received},
		{EventType: audit.EventScheduleChanged, Outcome: c.Action, Action: audit.ActionWrite, Details: changed},
		{EventType: audit.EventIntentCompleted, Outcome: c.Action, Action: audit.ActionWrite},
	}
	for i := range evs {
		e := &evs[i]
		e.IntentID, e.Seq, e.CorrelationID, e.Stage = trail, int64(i+1), ScheduleCorrelation(c.Schedule), StageSchedule
		e.Actor, e.Targets, e.Timestamp = by, []string{"schedule:" + c.Schedule}, now
	}
	if _, err := appendEvents(ctx, q, evs); err != nil {
		return fmt.Errorf("audit schedule %s %s: %w", c.Schedule, c.Action, err)
	}
	return nil
}

func scheduleOf(r dbsqlc.Schedule) Schedule {
	return Schedule{
		ID: r.ID, Name: r.Name, TemporalID: r.ScheduleID, Source: r.Source, Input: r.Input, Cron: r.Cron, Every: r.Every,
		Options: r.Options, SkillID: deref(r.SkillID), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		Paused: r.Paused, PausedReason: r.PausedReason, UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func schedulesOf(rows []dbsqlc.Schedule) []Schedule {
	out := make([]Schedule, len(rows))
	for i, r := range rows {
		out[i] = scheduleOf(r)
	}
	return out
}

func standingOf(r dbsqlc.StandingApproval) StandingApproval {
	cats := make([]confirmation.Category, len(r.Categories))
	for i, c := range r.Categories {
		cats[i] = confirmation.Category(c)
	}
	out := StandingApproval{
		ID: r.ID, Schedule: r.ScheduleName, SkillID: r.SkillID, PolicyBundleVersion: r.PolicyBundleVersion,
		CatalogSnapshotVersion: r.CatalogSnapshotVersion, Mode: confirmation.Mode(r.ConfirmationMode), Categories: cats,
		ApprovedBy: audit.Principal{ID: r.ApprovedBy, Type: audit.PrincipalType(r.PrincipalType), AuthContext: r.AuthContext},
		Reason:     r.Reason, GrantedAt: r.GrantedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), GrantedByIntent: r.GrantedByIntent,
		RevokedAt: r.RevokedAt, RevokedBy: deref(r.RevokedBy), RevokeReason: deref(r.RevokeReason),
	}
	if out.RevokedAt != nil {
		t := out.RevokedAt.UTC()
		out.RevokedAt = &t
	}
	return out
}
