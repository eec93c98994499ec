package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestScheduleRunsUnattendedWithAStandingApprovalOnTheDevServer (issue 13
// item 3): a schedule of a PII, silver-writing intent every 2 s; its first
// run waits for a person, maria approves it as standing; the next three
// runs are approved without anyone, each audited as approved by maria's
// standing approval; under a new policy bundle the next run asks again,
// saying why. Then a daily schedule backfilled over three days runs three
// times, each as of its own day.
func TestScheduleRunsUnattendedWithAStandingApprovalOnTheDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_schedule", nil)
	store := db.New(d.Worker)
	w := startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}
	ana := service.Caller{ID: "ana", AuthContext: "test"}

	const name = "nfe-every-2s"
	_, err := svc.CreateSchedule(ctx, service.ScheduleRequest{Name: name, Every: 2 * time.Second, Text: reconcileToSilver, DryRun: true,
		EscalationTimeoutSeconds: 120, By: ana, Reason: "e2e"})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = svc.DeleteSchedule(context.Background(), name, "test over", ana) })

	// The first run asks a person.
	first := waitForPending(ctx, t, svc, name, "")
	require.True(t, strings.HasPrefix(first, service.ScheduledIntentPrefix+name+"-"), first)
	p, err := svc.Pending(ctx, first)
	require.NoError(t, err)
	require.Contains(t, p.Reason, "no standing approval applies")
	require.NoError(t, svc.ConfirmWith(ctx, first, workflows.SignalApprove, service.Caller{ID: "maria", AuthContext: "test"}, "reviewed the anonymization",
		service.Standing{Standing: true, For: "1h"}))
	res := result(ctx, t, c, first)
	require.Equal(t, decision.Approved, res.DecisionState)
	granted := res.Confirmation.StandingGranted
	require.NotEmpty(t, granted)
	require.Equal(t, "schedule:"+name, res.CorrelationID)

	// Three later runs, nobody answering.
	var unattended []string
	testenv.WaitFor(t, 40*time.Second, "three runs approved by the standing approval", func() bool {
		runs, err := store.IntentsOfCorrelation(ctx, db.ScheduleCorrelation(name), 50)
		require.NoError(t, err)
		unattended = unattended[:0]
		for _, r := range runs {
			if r.IntentID != first && r.SubmittedAt.After(res.Stages[0].At) && r.Status == db.IntentStatusCompleted {
				unattended = append(unattended, r.IntentID)
			}
		}
		return len(unattended) >= 3
	})
	for _, id := range unattended[:3] {
		r := result(ctx, t, c, id)
		require.Equal(t, decision.Approved, r.DecisionState, id)
		require.Equal(t, granted, r.Confirmation.StandingApproval, id)
		require.Equal(t, "maria", r.Confirmation.By, id)
		rs, err := store.AuditByIntent(ctx, id)
		require.NoError(t, err)
		var approvals []audit.Receipt
		for _, x := range rs {
			require.NotEqual(t, audit.EventConfirmationRequested, x.EventType(), "%s asked nobody", id)
			if x.EventType() == audit.EventHumanApproved {
				approvals = append(approvals, x)
			}
		}
		require.Len(t, approvals, 1, id)
		require.Equal(t, "maria", approvals[0].Actor.ID)
		require.Equal(t, "standing_approval:"+granted, approvals[0].Actor.AuthContext)
		var details struct {
			StandingApproval string `json:"standing_approval"`
			GrantedByIntent  string `json:"granted_by_intent"`
		}
		require.NoError(t, json.Unmarshal([]byte(approvals[0].Context["details"]), &details))
		require.Equal(t, granted, details.StandingApproval)
		require.Equal(t, first, details.GrantedByIntent)
		require.NoError(t, audit.Verify(rs))
	}
	// Each run replays (I8): the standing approvals in force are the
	// environment's answer, taken from the record.
	for _, id := range append([]string{first}, unattended[:3]...) {
		v, err := replay.Check(ctx, store, id)
		require.NoError(t, err)
		require.True(t, v.Reproducible, "%s: %s", id, v.Reason)
	}

	// A new policy bundle: the standing approval no longer applies.
	_, err = svc.PauseSchedule(ctx, name, "deploying a new policy bundle", ana)
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "no run in progress", func() bool {
		desc, err := svc.DescribeSchedule(ctx, name, 1)
		require.NoError(t, err)
		return len(desc.Running) == 0
	})
	w.Stop()
	next, err := app.LoadBundle(ctx, nextBundle(t))
	require.NoError(t, err)
	startWorker(t, c, devActivities(t, c, store, cat, next))
	_, err = svc.UnpauseSchedule(ctx, name, "bundle deployed", ana)
	require.NoError(t, err)
	escalated := waitForPending(ctx, t, svc, name, first)
	p, err = svc.Pending(ctx, escalated)
	require.NoError(t, err)
	require.Contains(t, p.Reason, "the policy bundle is "+next.Version)
	require.NoError(t, c.CancelWorkflow(ctx, escalated, ""))

	desc, err := svc.DescribeSchedule(ctx, name, 20)
	require.NoError(t, err)
	require.Len(t, desc.Standing, 1)
	require.Equal(t, "maria", desc.Standing[0].ApprovedBy.ID)
	require.Equal(t, "SKIP", desc.Overlap)

	// Backfill: a daily schedule over three past days, each run as of its day.
	const daily = "daily-sales"
	_, err = svc.CreateSchedule(ctx, service.ScheduleRequest{Name: daily, Cron: "0 6 * * *", Text: autoAggregate, By: ana})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = svc.DeleteSchedule(context.Background(), daily, "test over", ana) })
	b, err := svc.BackfillSchedule(ctx, daily, "2026-01-01", "2026-01-03", ana)
	require.NoError(t, err)
	require.Equal(t, 3, b.Runs)
	var asOf []string
	testenv.WaitFor(t, 40*time.Second, "three backfilled runs decided", func() bool {
		runs, err := store.IntentsOfCorrelation(ctx, db.ScheduleCorrelation(daily), 10)
		require.NoError(t, err)
		done := 0
		for _, r := range runs {
			if r.Status == db.IntentStatusCompleted {
				done++
			}
		}
		return done == 3 && len(runs) == 3
	})
	runs, err := store.IntentsOfCorrelation(ctx, db.ScheduleCorrelation(daily), 10)
	require.NoError(t, err)
	for _, r := range runs {
		require.Equal(t, decision.Approved, result(ctx, t, c, r.IntentID).DecisionState, r.IntentID)
		rs, err := store.AuditByIntent(ctx, r.IntentID)
		require.NoError(t, err)
		var in struct {
			AsOf     string `json:"as_of"`
			Schedule string `json:"schedule"`
		}
		require.Equal(t, audit.EventIntentReceived, rs[0].EventType())
		require.NoError(t, json.Unmarshal([]byte(rs[0].Context["details"]), &in))
		require.Equal(t, daily, in.Schedule)
		require.Contains(t, r.IntentID, in.AsOf+"T06:00:00Z", "each run is resolved as of its scheduled day")
		asOf = append(asOf, in.AsOf)
	}
	slices.Sort(asOf)
	require.Equal(t, []string{"2026-01-01", "2026-01-02", "2026-01-03"}, asOf)
}

// waitForPending waits for a run of schedule name other than not to wait
// for a person, and returns its intent id.
func waitForPending(ctx context.Context, t *testing.T, svc *service.Service, name, not string) string {
	t.Helper()
	var id string
	testenv.WaitFor(t, 30*time.Second, "a run of "+name+" waiting for a person", func() bool {
		desc, err := svc.DescribeSchedule(ctx, name, 1)
		require.NoError(t, err)
		for _, r := range desc.Running {
			if p, err := svc.Pending(ctx, r); r != not && err == nil && p != nil {
				id = r
				return true
			}
		}
		return false
	})
	return id
}

func result(ctx context.Context, t *testing.T, c client.Client, id string) workflows.IntentResult {
	t.Helper()
	var res workflows.IntentResult
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res), id)
	return res
}

// nextBundle is the shipped bundle under another declared version: a new
// policy_bundle_version, the same rules.
func nextBundle(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "policies")
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if filepath.Base(f) == "bundle.yaml" {
			s := string(b)
			i := strings.Index(s, "\nversion: ")
			require.Positive(t, i, "bundle.yaml declares its version")
			j := strings.Index(s[i+1:], "\n")
			s = s[:i+1] + "version: v9.9.9-schedule-e2e" + s[i+1+j:]
			b = []byte(s)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600))
	}
	return dir
}
