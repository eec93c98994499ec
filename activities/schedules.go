package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// The activities of scheduled runs (docs/adr/0124, 0125): the standing
// approval a run's question may be answered by, the one a human grants,
// and the hooks the skill lifecycle calls (BindSchedule,
// PauseSchedulesOfSkill).

// StandingInput is a scheduled run's question before anyone is asked.
type StandingInput struct {
	Schedule string                       `json:"schedule"`
	Question events.ConfirmationRequested `json:"question"`
	// The versions the question is asked under (the consultation of step
	// 2): a standing approval must have been given under the same.
	PolicyBundleVersion    string `json:"policy_bundle_version"`
	CatalogSnapshotVersion string `json:"catalog_snapshot_version"`
}

// StandingChecked says whether a standing approval answered the question.
type StandingChecked struct {
	Stage
	Found bool `json:"found"`
	// Record is the approval, when Found.
	Record confirmation.Record `json:"record"`
	// Why no standing approval applies, when not Found: the question
	// carries it to the approvers.
	Why string `json:"why,omitempty"`
}

// StandingApproval looks for a standing approval of the schedule that
// covers the question: same skill key of the asked signature, policy
// bundle and catalog snapshot, unexpired, unrevoked, for the question's
// mode and trigger categories (confirmation.Standing.Covers). Found, it
// records the approval with its reference (HUMAN_CONFIRMATION_APPROVED,
// by the approver who gave it, auth_context standing_approval:<id>) and
// the run goes on without a human wait; otherwise nothing is recorded and
// the question is asked as usual.
func (a *Activities) StandingApproval(ctx context.Context, st Step, in StandingInput) (StandingChecked, error) {
	q := in.Question
	log := a.log(st.IntentID, intent.StageConfirmation).With(zap.String("schedule", in.Schedule))
	key, err := skill.Key(q.Signature)
	if err != nil {
		return StandingChecked{Why: "the asked signature has no skill key: " + err.Error()}, nil
	}
	list, err := a.Store.StandingApprovals(ctx, in.Schedule, key)
	if errors.Is(err, db.ErrScheduleNotFound) {
		return StandingChecked{Why: "schedule " + in.Schedule + " is not registered (deleted?)"}, nil
	}
	if err != nil {
		return StandingChecked{}, fmt.Errorf("read the standing approvals of schedule %s for intent %s: %w", in.Schedule, st.IntentID, err)
	}
	byID := map[string]db.StandingApproval{}
	rules := make([]confirmation.Standing, len(list))
	for i, s := range list {
		rules[i], byID[s.ID] = s.Rule(), s
	}
	found, ok, why := confirmation.FindStanding(rules, confirmation.StandingAsk{
		SkillID: key, PolicyBundleVersion: in.PolicyBundleVersion, CatalogSnapshotVersion: in.CatalogSnapshotVersion,
		Mode: q.Mode, Triggers: q.Triggers, At: st.At,
	})
	if !ok {
		log.Info("no standing approval applies; a human is asked", zap.String("skill_id", key), zap.String("why", why))
		return StandingChecked{Why: why}, nil
	}
	sa := byID[found.ID]
	rec := confirmation.Record{Mode: q.Mode, Triggers: q.Triggers, Outcome: confirmation.OutcomeApproved, By: sa.ApprovedBy.ID,
		Reason: "standing approval " + sa.ID + ": " + sa.Reason, StandingApproval: sa.ID}
	by := sa.ApprovedBy
	by.AuthContext = "standing_approval:" + sa.ID
	t := newTrail(st)
	t.addBy(by, intent.StageConfirmation, "approved", audit.ActionApprove, []string{"intent:" + st.IntentID, "schedule:" + in.Schedule}, events.StandingApprovalApplied{
		HumanConfirmation: events.HumanConfirmation{Mode: rec.Mode, Triggers: rec.Triggers, Outcome: rec.Outcome, By: rec.By, Reason: rec.Reason},
		StandingApproval:  sa.ID, Schedule: in.Schedule, SkillID: key, PolicyBundleVersion: sa.PolicyBundleVersion,
		CatalogSnapshotVersion: sa.CatalogSnapshotVersion, GrantedByIntent: sa.GrantedByIntent, GrantedAt: sa.GrantedAt, ExpiresAt: sa.ExpiresAt,
	})
	out := StandingChecked{Found: true, Record: rec}
	out.Summary = fmt.Sprintf("%s: approved by %s's standing approval %s (until %s), no human wait", q.Mode, sa.ApprovedBy.ID, sa.ID, sa.ExpiresAt.Format(time.RFC3339))
	log.Info("question answered by a standing approval", zap.String("standing_approval", sa.ID), zap.String("by", sa.ApprovedBy.ID), zap.String("skill_id", key))
	return out, a.finish(ctx, t, &out.Stage)
}

// StandingGrantInput is an approval of a scheduled run given as standing.
type StandingGrantInput struct {
	Schedule               string                       `json:"schedule"`
	Question               events.ConfirmationRequested `json:"question"`
	PolicyBundleVersion    string                       `json:"policy_bundle_version"`
	CatalogSnapshotVersion string                       `json:"catalog_snapshot_version"`
	// The answer: who, how authenticated, why, and for how long.
	By            string        `json:"by"`
	PrincipalType string        `json:"principal_type,omitempty"`
	AuthContext   string        `json:"auth_context,omitempty"`
	Reason        string        `json:"reason"`
	For           time.Duration `json:"standing_for"`
}

// StandingGranted is the standing approval recorded ("" when the schedule
// is gone and none was).
type StandingGranted struct {
	Stage
	StandingApproval string    `json:"standing_approval,omitempty"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// standingNamespace derives a standing approval's id from its intent and
// the seq of its grant, so a retried activity records one approval.
var standingNamespace = uuid.MustParse("2b0c7e5e-4f0e-4d4e-9a51-5a0f3c2d7e11")

// StandingApprovalID is the id of the standing approval granted by intent
// intentID's stage whose first audit event is seq.
func StandingApprovalID(intentID string, seq int64) string {
	return "sa-" + uuid.NewSHA1(standingNamespace, []byte(intentID+"\x00"+strconv.FormatInt(seq, 10))).String()
}

// RecordStandingApproval records an approval given as standing for the
// schedule's later runs, bound to the skill key of the asked signature,
// the bundle and catalog it was asked under, the question's mode and
// trigger categories, until now + For (STANDING_APPROVAL_GRANTED). A
// schedule deleted meanwhile gets none; the approval itself stands.
func (a *Activities) RecordStandingApproval(ctx context.Context, st Step, in StandingGrantInput) (StandingGranted, error) {
	q := in.Question
	key, err := skill.Key(q.Signature)
	if err != nil {
		return StandingGranted{}, invalid(fmt.Errorf("standing approval of intent %s: the asked signature has no skill key: %w", st.IntentID, err))
	}
	if in.For < confirmation.MinStandingFor || in.For > confirmation.MaxStandingFor {
		return StandingGranted{}, invalid(fmt.Errorf("standing approval of intent %s: it stands for %s; give %s to %s", st.IntentID, in.For, confirmation.MinStandingFor, confirmation.MaxStandingFor))
	}
	by := human(in.By, in.PrincipalType, in.AuthContext)
	g := db.StandingGrant{
		ID: StandingApprovalID(st.IntentID, st.Seq), Schedule: in.Schedule, SkillID: key,
		PolicyBundleVersion: in.PolicyBundleVersion, CatalogSnapshotVersion: in.CatalogSnapshotVersion,
		Mode: q.Mode, Categories: confirmation.CategoriesOf(q.Triggers), By: by, Reason: in.Reason,
		GrantedAt: st.At, ExpiresAt: st.At.Add(in.For), IntentID: st.IntentID,
	}
	log := a.log(st.IntentID, intent.StageConfirmation).With(zap.String("schedule", in.Schedule))
	sa, err := a.Store.GrantStandingApproval(ctx, g)
	if errors.Is(err, db.ErrScheduleNotFound) {
		log.Warn("standing approval not recorded: the schedule is gone; this run's approval stands", zap.Error(err))
		return StandingGranted{Stage: Stage{Summary: "standing approval not recorded: schedule " + in.Schedule + " is gone"}}, nil
	}
	if err != nil {
		return StandingGranted{}, err
	}
	t := newTrail(st)
	t.addBy(by, intent.StageConfirmation, "granted", audit.ActionApprove, []string{"intent:" + st.IntentID, "schedule:" + in.Schedule}, events.StandingApprovalGranted{
		StandingApproval: sa.ID, Schedule: in.Schedule, SkillID: key, PolicyBundleVersion: sa.PolicyBundleVersion,
		CatalogSnapshotVersion: sa.CatalogSnapshotVersion, Mode: sa.Mode, Categories: sa.Categories, By: sa.ApprovedBy.ID,
		Reason: sa.Reason, ExpiresAt: sa.ExpiresAt,
	})
	out := StandingGranted{StandingApproval: sa.ID, ExpiresAt: sa.ExpiresAt}
	out.Summary = fmt.Sprintf("standing approval %s by %s for schedule %s until %s", sa.ID, sa.ApprovedBy.ID, in.Schedule, sa.ExpiresAt.Format(time.RFC3339))
	log.Info("standing approval granted", zap.String("standing_approval", sa.ID), zap.String("by", sa.ApprovedBy.ID),
		zap.String("skill_id", key), zap.Time("expires_at", sa.ExpiresAt))
	return out, a.finish(ctx, t, &out.Stage)
}

// BindSchedule binds schedule name to the skill of sig (skill.Key of the
// governed signature), once: the first decided run of a text schedule
// names its skill, so that demoting or retiring the skill pauses it
// (PauseSchedulesOfSkill). A schedule bound already keeps its skill. It
// is the decision activity's hook: it logs a failure and returns it, and
// the caller lets the decision stand. A run no schedule started (name "")
// does nothing. (It returns an error so that Temporal can register the
// struct's methods; it is not meant to run as an activity of its own.)
func (a *Activities) BindSchedule(ctx context.Context, st Step, name string, sig signature.Signature) error {
	if name == "" || sig.Intent == "" {
		return nil
	}
	log := a.log(st.IntentID, intent.StageDecision).With(zap.String("schedule", name))
	key, err := skill.Key(sig)
	if err != nil {
		log.Error("schedule not bound to its skill; the decision stands", zap.Error(err))
		return fmt.Errorf("bind schedule %s: %w", name, err)
	}
	bound, err := a.Store.BindScheduleSkill(ctx, name, key)
	if err != nil {
		log.Error("schedule not bound to its skill; the decision stands", zap.String("skill_id", key), zap.Error(err))
		return err
	}
	if bound {
		log.Info("schedule bound to its skill", zap.String("skill_id", key))
	}
	return nil
}

// ScheduleStore is what PauseSchedulesOfSkill needs of the store.
type ScheduleStore interface {
	SchedulesOfSkill(ctx context.Context, skillID string) ([]db.Schedule, error)
	SetSchedulePaused(ctx context.Context, name string, paused bool, reason string, by audit.Principal) (db.Schedule, error)
}

// ScheduleSkillPauser is the principal of the pauses a skill's demotion or
// retirement causes.
var ScheduleSkillPauser = audit.Principal{ID: "skill_lifecycle", Type: audit.PrincipalSystem, AuthContext: "temporal"}

// PauseSchedulesOfSkill pauses every Temporal Schedule bound to skillID
// with the note reason, and records and audits each pause (SCHEDULE_CHANGED
// paused): call it when the skill is demoted or retired (5.12). It returns
// the names of the schedules it paused; one it could not pause is named in
// the error, the others are paused regardless. Pausing a paused schedule
// again is harmless (a retry).
func PauseSchedulesOfSkill(ctx context.Context, c client.Client, store ScheduleStore, skillID, reason string) ([]string, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("pause the schedules of skill %s: say why (the note Temporal and the audit trail show)", skillID)
	}
	list, err := store.SchedulesOfSkill(ctx, skillID)
	if err != nil {
		return nil, err
	}
	var paused []string
	var errs []error
	for _, s := range list {
		note := "skill " + short(skillID) + ": " + reason
		if err := c.ScheduleClient().GetHandle(ctx, s.TemporalID).Pause(ctx, client.SchedulePauseOptions{Note: note}); err != nil {
			errs = append(errs, fmt.Errorf("pause schedule %s (%s): %w", s.Name, s.TemporalID, err))
			continue
		}
		if _, err := store.SetSchedulePaused(ctx, s.Name, true, note, ScheduleSkillPauser); err != nil {
			errs = append(errs, fmt.Errorf("schedule %s paused in Temporal but not recorded: %w", s.Name, err))
			continue
		}
		paused = append(paused, s.Name)
	}
	if len(errs) > 0 {
		return paused, fmt.Errorf("pause the schedules of skill %s: %w; run `cfa schedule pause NAME --reason ...` for them", skillID, errors.Join(errs...))
	}
	return paused, nil
}

// PauseSchedulesOfSkill is the package function on the worker's client
// and store, with a notification (log and webhook) naming the paused
// schedules, for the skill lifecycle's caller in the worker.
func (a *Activities) PauseSchedulesOfSkill(ctx context.Context, st Step, skillID, reason string) ([]string, error) {
	if a.Temporal == nil {
		return nil, errors.New("pause the schedules of skill " + skillID + ": the activities have no Temporal client (set Activities.Temporal)")
	}
	paused, err := PauseSchedulesOfSkill(ctx, a.Temporal, a.Store, skillID, reason)
	if len(paused) > 0 {
		a.log(st.IntentID, intent.StagePromotion).Warn("schedules paused with their skill", zap.String("skill_id", skillID), zap.Strings("schedules", paused), zap.String("reason", reason))
		n := Notification{Notify: "governance_team", IntentID: st.IntentID, CorrelationID: st.CorrelationID, Reason: "schedules_paused",
			AuditEvent: audit.EventScheduleChanged, Text: "skill " + skillID + ": " + reason + "; paused: " + strings.Join(paused, ", ")}
		if nerr := a.NotifyGovernance(ctx, n); nerr != nil {
			a.log(st.IntentID, intent.StagePromotion).Error("schedule pause notification failed", zap.Error(nerr))
		}
	}
	return paused, err
}
