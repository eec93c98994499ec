package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/internal/skill/skilltest"
	"github.com/contextualflux/cfa/tests/testenv"
)

// TestBundleChangeDemotesASkillAndPausesItsSchedule (issue 13): an active
// skill with a schedule on the dev server; a bundle that blocks writes to
// silver is re-evaluated against it (as a worker does at start): the skill
// is demoted (policy_change) and its Temporal Schedule paused with a note.
func TestBundleChangeDemotesASkillAndPausesItsSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_skill_demotion", nil)
	store := db.New(d.Worker)
	svc := &service.Service{Temporal: c, Store: store}

	// A persisted_active skill: the reconciliation into silver.
	sig := plannertest.Reconciliation(cat)
	sk, _, err := store.EnsureSkill(ctx, sig)
	require.NoError(t, err)
	engine := audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem}
	_, err = store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.GatePassed, Actor: engine})
	require.NoError(t, err)
	_, err = store.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.Promoted, Actor: engine, Promotion: skilltest.Promotion("intent-1", sig)})
	require.NoError(t, err)

	const name = "silver-hourly"
	_, err = svc.CreateSchedule(ctx, service.ScheduleRequest{Name: name, Every: time.Hour, Skill: sk.ID, DryRun: true,
		By: service.Caller{ID: "ana", AuthContext: "test"}, Reason: "e2e"})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = svc.DeleteSchedule(context.Background(), name, "test over", service.Caller{ID: "ana"}) })

	// The shipped bundle still approves it: nothing moves, nothing pauses.
	shipped, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	env, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	pause := func(ctx context.Context, id, reason string) ([]string, error) {
		return activities.PauseSchedulesOfSkill(ctx, c, store, id, reason)
	}
	done, err := service.ReevaluateSkills(ctx, store, shipped, cat, env, pause)
	require.NoError(t, err)
	require.Empty(t, done)

	frozen := freezeSilverBundle(t)
	done, err = service.ReevaluateSkills(ctx, store, frozen, cat, env, pause)
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, skill.Demoted, done[0].To)
	require.Equal(t, skill.PolicyChange, done[0].Trigger)
	require.Equal(t, []string{name}, done[0].Paused)

	desc, err := c.ScheduleClient().GetHandle(ctx, service.ScheduleID(name)).Describe(ctx)
	require.NoError(t, err)
	require.True(t, desc.Schedule.State.Paused)
	require.Contains(t, desc.Schedule.State.Note, "demoted (policy_change)")
	got, err := store.Skill(ctx, sk.ID)
	require.NoError(t, err)
	require.Equal(t, skill.Demoted, got.State)
}

// freezeSilverBundle is the shipped bundle with a rule blocking every
// write to silver.
func freezeSilverBundle(t *testing.T) *policy.Bundle {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "policies")
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		if e.Name() == "contract_enforcement.yaml" {
			b = []byte(strings.Replace(string(b), "\ntests:", `
  - name: freeze_silver
    description: Silver is frozen during the fiscal audit.
    condition: silver_write
    action: block
    severity: high
    fault_code: CONTRACT_WRITE_OUTSIDE_LAYER
    remediation:
      - Wait for the audit to end

tests:`, 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600))
	}
	b, err := app.LoadBundle(context.Background(), dir)
	require.NoError(t, err)
	return b
}
