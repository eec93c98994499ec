package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/workflows"
)

// The demo's recurring pipeline: a fixed window, so that each run has data
// whatever day the schedule fires on (runs are resolved as of their
// scheduled time).
const (
	demoSchedule     = "daily-reconcile"
	demoScheduleText = "reconcile nfe with clientes and persist to silver between 2026-01-01 and 2026-01-03"
	// demoScheduleRuns is how many runs after the first go unattended.
	demoScheduleRuns = 3
)

// demoLifecycle is issue 13 end to end: (r) a schedule whose first run is
// approved as standing, then runs unattended and earns its skill's
// promotion; (s) a policy bundle that freezes silver is deployed: the new
// worker demotes the skill and pauses its schedule; (t) replay of an
// earlier intent prints identical. restart replaces the running worker by
// one on the bundle in dir. It returns what differs from the expectation.
func (c *cli) demoLifecycle(ctx context.Context, svc *service.Service, cat *catalog.Catalog, cfa, replayID string, restart func(dir string) error) ([]string, error) {
	w := c.out
	var failures []string
	expect := func(key string, ok bool, what string) {
		if !ok {
			failures = append(failures, fmt.Sprintf("(%s) %s", key, what))
		}
	}
	// Fresh data and registry: every run reads the three partitions.
	if err := svc.Store.SeedDataPlane(ctx, cat, dataplane.Options{}); err != nil {
		return nil, err
	}
	seed := make([]registry.DatasetState, 0, len(cat.Datasets))
	for _, d := range cat.Datasets {
		seed = append(seed, registry.DatasetState{Name: d.Name, State: registry.StateCommitted, PublishAllowed: true, UpdatedAt: time.Now().UTC()})
	}
	if _, _, err := svc.Store.OverrideDatasetStates(ctx, seed, db.Operator{By: "cfa-demo", Reason: "demo: reseed before the schedule"}); err != nil {
		return nil, err
	}
	// The dev server outlives the demo's database: a schedule left by an
	// earlier demo goes first.
	_ = svc.Temporal.ScheduleClient().GetHandle(ctx, service.ScheduleID(demoSchedule)).Delete(ctx)

	fmt.Fprintf(w, "-- (r) a recurring pipeline: a schedule, its first run approved as standing, the next ones unattended\n")
	if err := c.runCFA(ctx, cfa, "schedule", "create", demoSchedule, "--every", "6s", "--by", "ana", "--reason", "the fiscal reconciliation, every day",
		"--unit-retry-base", "1s", demoScheduleText); err != nil {
		return nil, err
	}
	defer func() {
		// The dev server keeps schedules: leave none running behind the demo.
		_ = svc.Temporal.ScheduleClient().GetHandle(context.Background(), service.ScheduleID(demoSchedule)).Delete(context.Background())
	}()
	first, err := waitScheduleRun(ctx, svc, 1)
	if err != nil {
		return nil, err
	}
	if err := waitPending(ctx, svc, first[0]); err != nil {
		return nil, err
	}
	if err := c.runCFA(ctx, cfa, "approve", first[0], "--by", "data-steward", "--reason", "reviewed the daily reconciliation: anonymized, merged on nfe_id",
		"--standing", "--standing-for", "24h"); err != nil {
		return nil, err
	}
	runs, err := waitScheduleRun(ctx, svc, 1+demoScheduleRuns)
	if err != nil {
		return nil, err
	}
	var skillID string
	for i, id := range runs[:1+demoScheduleRuns] {
		res, err := svc.Wait(ctx, id, 200*time.Millisecond, nil, nil)
		if err != nil {
			return nil, err
		}
		how := "approved by data-steward (standing)"
		if i > 0 {
			how = "unattended: " + confirmationOf(res.Confirmation)
		}
		fmt.Fprintf(w, "  run %d %s: %s (%s); %s\n", i+1, id, res.DecisionState, asOfOf(res), how)
		expect("r", res.DecisionState == decision.Approved || res.DecisionState == decision.PromotionCandidate,
			fmt.Sprintf("run %d %s was %s, want approved", i+1, id, res.DecisionState))
		if i > 0 {
			expect("r", res.Confirmation != nil && res.Confirmation.StandingApproval != "",
				fmt.Sprintf("run %d %s did not use the standing approval", i+1, id))
		}
		if res.Promotion != nil {
			skillID = res.Promotion.PromotionUnit
		}
	}
	if err := c.runCFA(ctx, cfa, "schedule", "describe", demoSchedule, "--runs", "4"); err != nil {
		return nil, err
	}
	sk, err := svc.Store.Skill(ctx, skillID)
	expect("r", err == nil && sk.State == skill.PersistedActive, "the schedule's skill was not promoted by its unattended runs")
	if err := c.runCFA(ctx, cfa, "skill", "history", shortID(skillID)); err != nil {
		return nil, err
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "-- (s) a policy change: a bundle that freezes writes to silver is deployed\n")
	dir := filepath.Join(".data", "policies-freeze")
	if err := writeFreezeBundle(dir); err != nil {
		return nil, err
	}
	if err := restart(dir); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if sk, err = svc.Store.Skill(ctx, skillID); err == nil && sk.State == skill.Demoted {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	expect("s", sk.State == skill.Demoted, fmt.Sprintf("the schedule's skill is %s, want demoted by the policy change", sk.State))
	if err := c.runCFA(ctx, cfa, "skill", "history", shortID(skillID)); err != nil {
		return nil, err
	}
	if err := c.runCFA(ctx, cfa, "schedule", "describe", demoSchedule, "--runs", "1"); err != nil {
		return nil, err
	}
	d, err := svc.Temporal.ScheduleClient().GetHandle(ctx, service.ScheduleID(demoSchedule)).Describe(ctx)
	expect("s", err == nil && d.Schedule.State.Paused, "the schedule was not paused with its skill")
	// A run the schedule started before the pause meets the new bundle: the
	// standing approval was given under the old one, so it asks a person.
	if err := c.settleScheduleRuns(ctx, svc, cfa, &failures); err != nil {
		return nil, err
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "-- (t) replay (I8): an earlier intent, re-run from its recorded inputs under the bundle it was signed with\n")
	if err := c.runCFA(ctx, cfa, "replay", replayID); err != nil {
		failures = append(failures, "(t) "+err.Error())
	}
	fmt.Fprintln(w)
	return failures, nil
}

func confirmationOf(r *workflows.ConfirmationRecord) string {
	switch {
	case r == nil:
		return "no confirmation"
	case r.StandingApproval != "":
		return fmt.Sprintf("%s by standing approval %s (%s)", r.Outcome, shortID(r.StandingApproval), r.By)
	}
	return fmt.Sprintf("%s (%s)", r.Outcome, r.Mode)
}

func asOfOf(res workflows.IntentResult) string {
	if res.Signature != nil && res.Signature.Constraints.TemporalFilter != nil {
		if f := res.Signature.Constraints.TemporalFilter; f.From != "" {
			return fmt.Sprintf("window %s..%s", f.From, f.To)
		}
	}
	return "-"
}

// settleScheduleRuns answers the schedule's runs still in flight: each
// escalates (no standing approval matches the new bundle) and is rejected.
func (c *cli) settleScheduleRuns(ctx context.Context, svc *service.Service, cfa string, failures *[]string) error {
	intents, err := svc.Store.ListIntents(ctx, 500)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.CorrelationID != "schedule:"+demoSchedule || in.Status != "running" {
			continue
		}
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if p, err := svc.Pending(ctx, in.IntentID); err == nil && p != nil {
				fmt.Fprintf(c.out, "  run %s, started before the pause, asks a person: %s\n", in.IntentID, oneLineOf(p.Reason))
				if err := c.runCFA(ctx, cfa, "reject", in.IntentID, "--by", "data-steward", "--reason", "silver is frozen for the audit"); err != nil {
					return err
				}
				break
			}
			if st, err := svc.Status(ctx, in.IntentID); err == nil && st.Result != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		res, err := svc.Wait(ctx, in.IntentID, 200*time.Millisecond, nil, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "  run %s: %s (%s)\n", in.IntentID, res.DecisionState, oneLineOf(res.Reason))
		if res.Confirmation != nil && res.Confirmation.StandingApproval != "" {
			*failures = append(*failures, "(s) a run under the new bundle used the old bundle's standing approval")
		}
	}
	return nil
}

func oneLineOf(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}

// waitScheduleRun waits until the schedule has started n runs and returns
// their intent ids, oldest first.
func waitScheduleRun(ctx context.Context, svc *service.Service, n int) ([]string, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		intents, err := svc.Store.ListIntents(ctx, 500)
		if err != nil {
			return nil, err
		}
		var ids []string
		for i := len(intents) - 1; i >= 0; i-- { // newest first → oldest first
			if intents[i].CorrelationID == "schedule:"+demoSchedule {
				ids = append(ids, intents[i].IntentID)
			}
		}
		if len(ids) >= n {
			return ids, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return nil, fmt.Errorf("schedule %s did not start %d runs in 3 minutes; see `cfa schedule describe %s` and .data/worker.log", demoSchedule, n, demoSchedule)
}

func waitPending(ctx context.Context, svc *service.Service, id string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if p, err := svc.Pending(ctx, id); err == nil && p != nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the schedule's first run %s did not escalate in a minute", id)
}

// writeFreezeBundle is the shipped bundle with one more rule: writes to
// silver are blocked.
func writeFreezeBundle(dir string) error {
	return writeBundle(dir, func(name string, b []byte) []byte {
		switch name {
		case "bundle.yaml":
			return []byte(strings.Replace(string(b), "version: ", "version: freeze-", 1))
		case "contract_enforcement.yaml":
			return []byte(strings.Replace(string(b), "\ntests:", `
  - name: freeze_silver
    description: Silver is frozen while the fiscal audit runs.
    condition: silver_write
    action: block
    severity: high
    fault_code: CONTRACT_WRITE_OUTSIDE_LAYER
    remediation:
      - Wait for the audit to end

tests:`, 1))
		}
		return b
	})
}
