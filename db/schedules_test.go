package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/skill"
)

// newSchedule registers a schedule of a name of its own on the worker's
// login, as the CLI does.
func newSchedule(t *testing.T, s *db.Store, skillID string) db.Schedule {
	t.Helper()
	name := "sched-" + uuid.NewString()[:8]
	sch, err := s.CreateSchedule(context.Background(), db.NewSchedule{
		Name: name, TemporalID: "cfa-schedule-" + name, Source: db.ScheduleSourceText, Input: "reconcile nfe with clientes and persist to silver",
		Every: "24h0m0s", Options: map[string]any{"dry_run": true}, SkillID: skillID, By: maria,
	})
	require.NoError(t, err)
	return sch
}

func grant(t *testing.T, s *db.Store, schedule, intentID string, at time.Time) db.StandingApproval {
	t.Helper()
	key, err := skill.Key(skillSignature("reconcile"))
	require.NoError(t, err)
	sa, err := s.GrantStandingApproval(context.Background(), db.StandingGrant{
		ID: "sa-" + uuid.NewSHA1(uuid.Nil, []byte(intentID)).String(), Schedule: schedule, SkillID: key, PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1",
		Mode: confirmation.ModeHardRequired, Categories: []confirmation.Category{confirmation.CategorySilverWrite, confirmation.CategoryPII},
		By: maria, Reason: "reviewed the anonymization", GrantedAt: at, ExpiresAt: at.Add(time.Hour), IntentID: intentID,
	})
	require.NoError(t, err)
	return sa
}

func TestScheduleRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)
	sch := newSchedule(t, s, "")
	got, err := s.Schedule(ctx, sch.Name)
	require.NoError(t, err)
	require.Equal(t, sch.ID, got.ID)
	require.JSONEq(t, `{"dry_run": true}`, string(got.Options))

	_, err = s.CreateSchedule(ctx, db.NewSchedule{Name: sch.Name, TemporalID: sch.TemporalID, Source: db.ScheduleSourceText, Input: "x", Every: "1h0m0s", Options: map[string]any{}, By: maria})
	require.ErrorIs(t, err, db.ErrScheduleExists)
	_, err = s.Schedule(ctx, "no-such-schedule")
	require.ErrorIs(t, err, db.ErrScheduleNotFound)

	// Bound once: the first decided run names the skill, later ones do not move it.
	key, err := skill.Key(skillSignature("reconcile"))
	require.NoError(t, err)
	bound, err := s.BindScheduleSkill(ctx, sch.Name, key)
	require.NoError(t, err)
	require.True(t, bound)
	other, err := skill.Key(skillSignature("other"))
	require.NoError(t, err)
	bound, err = s.BindScheduleSkill(ctx, sch.Name, other)
	require.NoError(t, err)
	require.False(t, bound)
	of, err := s.SchedulesOfSkill(ctx, key)
	require.NoError(t, err)
	require.Contains(t, names(of), sch.Name)

	paused, err := s.SetSchedulePaused(ctx, sch.Name, true, "skill demoted", activitiesPauser)
	require.NoError(t, err)
	require.True(t, paused.Paused)
	require.Equal(t, "skill demoted", paused.PausedReason)
	unpaused, err := s.SetSchedulePaused(ctx, sch.Name, false, "", maria)
	require.NoError(t, err)
	require.False(t, unpaused.Paused)
	require.Empty(t, unpaused.PausedReason)

	// Every change is audited under the schedule's correlation id.
	rs, err := s.AuditByCorrelation(ctx, db.ScheduleCorrelation(sch.Name), 100)
	require.NoError(t, err)
	var actions []string
	for _, r := range rs {
		if r.EventType() == audit.EventScheduleChanged {
			actions = append(actions, r.Context[audit.CtxOutcome])
		}
	}
	require.Equal(t, []string{db.ScheduleCreated, db.SchedulePaused, db.ScheduleUnpaused}, actions)
	require.NoError(t, audit.CompletePerIntent(rs))
}

var activitiesPauser = audit.Principal{ID: "skill_lifecycle", Type: audit.PrincipalSystem, AuthContext: "temporal"}

func names(ss []db.Schedule) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func TestStandingApprovalsAreInsertOnlyButForTheirRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)
	sch := newSchedule(t, s, "")
	at := time.Now().UTC().Truncate(time.Microsecond)
	sa := grant(t, s, sch.Name, "intent-"+uuid.NewString(), at)
	again := grant(t, s, sch.Name, sa.GrantedByIntent, at.Add(time.Minute))
	require.Equal(t, sa, again, "the same id again finds the grant recorded first")
	require.Equal(t, []confirmation.Category{confirmation.CategoryPII, confirmation.CategorySilverWrite}, sa.Categories)

	for _, c := range []struct {
		name, sql string
	}{
		{"extend the expiry", "UPDATE standing_approvals SET expires_at = expires_at + interval '1 year' WHERE id = $1"},
		{"move to another bundle", "UPDATE standing_approvals SET policy_bundle_version = 'b2' WHERE id = $1"},
		{"change who approved", "UPDATE standing_approvals SET approved_by = 'joao' WHERE id = $1"},
		{"remove it", "DELETE FROM standing_approvals WHERE id = $1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// As the worker and as the owner's superuser: the trigger
			// refuses both, the grants refuse the worker first.
			for _, pool := range []struct {
				who  string
				exec func(context.Context, string, ...any) (pgconn.CommandTag, error)
			}{{"worker", testDB.Worker.Exec}, {"superuser", testDB.Pool.Exec}} {
				_, err := pool.exec(ctx, c.sql, sa.ID)
				require.Error(t, err, "%s as %s", c.name, pool.who)
			}
		})
	}
	_, err := testDB.Pool.Exec(ctx, "TRUNCATE standing_approvals")
	require.Error(t, err)

	// The revocation, once, all three columns together.
	_, err = testDB.Worker.Exec(ctx, "UPDATE standing_approvals SET revoked_at = now() WHERE id = $1", sa.ID)
	require.Error(t, err, "a revocation says who and why")
	_, err = testDB.Worker.Exec(ctx, "UPDATE standing_approvals SET revoked_at = now(), revoked_by = 'maria', revoke_reason = 'test' WHERE id = $1", sa.ID)
	require.NoError(t, err)
	_, err = testDB.Worker.Exec(ctx, "UPDATE standing_approvals SET revoke_reason = 'another' WHERE id = $1", sa.ID)
	require.Error(t, err, "a revoked approval never changes again")
	list, err := s.StandingApprovals(ctx, sch.Name, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].RevokedAt)
	require.True(t, list[0].Rule().Revoked)
}

func TestAScheduleKeepsWhatItRunsAndADeletedOneItsRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)
	sch := newSchedule(t, s, "")
	for _, stmt := range []string{
		"UPDATE schedules SET input = 'something else' WHERE id = $1",
		"UPDATE schedules SET every = '1h0m0s' WHERE id = $1",
		"UPDATE schedules SET created_by = 'joao' WHERE id = $1",
		"DELETE FROM schedules WHERE id = $1",
	} {
		_, err := testDB.Pool.Exec(ctx, stmt, sch.ID)
		require.Error(t, err, stmt)
	}
	sa := grant(t, s, sch.Name, "intent-"+uuid.NewString(), time.Now().UTC())
	revoked, err := s.DeleteSchedule(ctx, sch.Name, "no longer needed", maria)
	require.NoError(t, err)
	require.Equal(t, []string{sa.ID}, revoked)
	_, err = s.Schedule(ctx, sch.Name)
	require.ErrorIs(t, err, db.ErrScheduleNotFound)
	_, err = testDB.Pool.Exec(ctx, "UPDATE schedules SET deleted_at = NULL WHERE id = $1", sch.ID)
	require.Error(t, err, "a deleted schedule stays deleted")

	// The name again: a new schedule, without the old one's approvals.
	again, err := s.CreateSchedule(ctx, db.NewSchedule{Name: sch.Name, TemporalID: sch.TemporalID, Source: db.ScheduleSourceText, Input: "x",
		Cron: "0 6 * * *", Options: map[string]any{}, By: maria})
	require.NoError(t, err)
	require.NotEqual(t, sch.ID, again.ID)
	list, err := s.StandingApprovals(ctx, sch.Name, "")
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = s.GrantStandingApproval(ctx, db.StandingGrant{ID: "sa-" + uuid.NewString(), Schedule: "gone-" + uuid.NewString()[:6]})
	require.True(t, errors.Is(err, db.ErrScheduleNotFound), fmt.Sprint(err))
}
