package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/policies"
	"github.com/contextualflux/cfa/workflows"
)

// demoExecution runs the whitepaper's fiscal reconciliation for real on the
// seeded data plane (issue 4): a partition fails runtime validation and is
// quarantined, the dataset is partially_committed and cannot be published,
// a fixed rerun commits it and it is published; then a panic rollback and
// two intents on one scope. It returns what differs from the expectation.
func (c *cli) demoExecution(ctx context.Context, svc *service.Service, cat *catalog.Catalog, cfa string, approve func(context.Context, string) error) ([]string, error) {
	w := c.out
	if err := svc.Store.EnsureDataPlane(ctx, cat); err != nil {
		return nil, err
	}
	seed := func(broken string) error {
		return svc.Store.SeedDataPlane(ctx, cat, dataplane.Options{BreakPartition: broken})
	}
	if err := seed("2026-01-03"); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "== execution on Postgres: bronze.nfe seeded with partitions %s; 2026-01-03 has 12%% null cliente_id (max_null_ratio is 5%%)\n\n",
		strings.Join(dataplane.DemoPartitions, ", "))
	const reconcile = "reconcile nfe with clientes and persist to silver"
	var failures []string
	expect := func(key string, ok bool, what string) {
		if !ok {
			failures = append(failures, fmt.Sprintf("(%s) %s", key, what))
		}
	}
	show := func() {
		if err := c.runCFA(ctx, cfa, "dataplane", "show", "silver_documentos"); err != nil {
			failures = append(failures, err.Error())
		}
		if env, err := svc.Store.LatestSnapshot(ctx); err == nil {
			if st, ok := env.Dataset("silver_documentos"); ok {
				fmt.Fprintf(w, "  registry %s: silver_documentos state=%s publish_allowed=%v pending=%v quarantined=%v\n",
					env.VersionID, st.State, st.PublishAllowed, st.PendingPartitions, st.QuarantinedUnits)
			}
		}
	}
	run := func(s scenario) (workflows.IntentResult, error) {
		fmt.Fprintf(w, "-- (%s) %s\n  intent: %q (as of %s)\n", s.key, s.title, s.text, s.asOf)
		res, err := c.runScenario(ctx, svc, s)
		if err != nil {
			return res, fmt.Errorf("scenario (%s): %w", s.key, err)
		}
		render.PrintResult(w, res)
		expect(s.key, res.DecisionState == s.want, fmt.Sprintf("got %s, want %s", res.DecisionState, s.want))
		return res, nil
	}

	// (j) three partitions, one breaks max_null_ratio: retried, quarantined.
	res, err := run(scenario{key: "j", title: "fiscal reconciliation, one partition fails runtime validation", text: reconcile,
		asOf: dataplane.DemoAsOf, retryBase: 1, answer: approve, want: decision.PartiallyCommitted})
	if err != nil {
		return nil, err
	}
	show()
	if env, err := svc.Store.LatestSnapshot(ctx); err == nil {
		st, _ := env.Dataset("silver_documentos")
		expect("j", st.State == registry.StatePartiallyCommitted && !st.PublishAllowed && slices.Contains(st.QuarantinedUnits, "2026-01-03"),
			"silver_documentos is not partially_committed with 2026-01-03 quarantined")
	}
	expect("j", unitAttempts(res, "2026-01-03") == 3, "the failed partition was not retried to 3 attempts")
	jID := res.IntentID
	fmt.Fprintln(w)

	// (k) the next intent reads the projected state.
	if _, err := run(scenario{key: "k", title: "publish silver_documentos right after (I7)", text: "publish silver_documentos",
		asOf: dataplane.DemoAsOf, answer: approve, want: decision.Blocked}); err != nil {
		return nil, err
	}
	fmt.Fprintln(w)

	// (u) governed reads on the data plane: confirmed (PII), run read-only
	// in the sandbox, rows returned with cpf hashed; the row limit cuts the
	// first one, which is a warning, not a silent cut.
	for _, r := range []struct {
		text     string
		rowLimit int
		want     decision.State
		masked   bool
	}{
		{"show me nfe for 2026-01-02", 5, decision.ApprovedWithWarnings, true},
		{"count invoices for 2026-01-02", 0, decision.Approved, false},
		{"sum of valor_total by uf from nfe between 2026-01-01 and 2026-01-03", 0, decision.Approved, false},
	} {
		res, err := run(scenario{key: "u", title: "governed read: planned, validated, run read-only, PII masked", text: r.text,
			asOf: dataplane.DemoAsOf, answer: approve, want: r.want, rowLimit: r.rowLimit})
		if err != nil {
			return nil, err
		}
		expect("u", res.Result != nil && res.Result.RowCount > 0, "the read returned no rows")
		expect("u", !r.masked || res.Result != nil && len(res.Result.MaskedColumns) > 0, "the read of nfe masked no PII column")
		fmt.Fprintln(w)
	}

	// (l) the upstream data is fixed; the rerun commits and is published.
	if err := seed(""); err != nil {
		return nil, err
	}
	fmt.Fprintln(w, "  bronze.nfe 2026-01-03 fixed upstream (reseeded without the nulls)")
	if _, err := run(scenario{key: "l", title: "rerun after the fix", text: reconcile, asOf: dataplane.DemoAsOf, retryBase: 1,
		answer: approve, want: decision.Approved}); err != nil {
		return nil, err
	}
	if _, err := run(scenario{key: "l", title: "publish silver_documentos", text: "publish silver_documentos",
		asOf: dataplane.DemoAsOf, answer: approve, want: decision.Approved}); err != nil {
		return nil, err
	}
	show()
	fmt.Fprintln(w)

	// (m) step 18: the reconcile skill gathers evidence in its window
	// (fiscal: last_3_days); the third success makes it a promotion
	// candidate.
	var skillID string
	// (l)'s rerun was its first success: the registry-injected
	// publish_blocked of (j)'s partial state does not split the skill (ADR
	// 0121), so two more make three.
	for i, want := range []decision.State{decision.Approved, decision.PromotionCandidate} {
		res, err := run(scenario{key: "m", title: fmt.Sprintf("the reconcile skill, clean run %d of 2", i+1),
			text: reconcile, asOf: dataplane.DemoAsOf, retryBase: 1, answer: approve, want: want})
		if err != nil {
			return nil, err
		}
		expect("m", res.Promotion != nil && res.Promotion.SuccessfulExecutions == i+2,
			fmt.Sprintf("promotion evaluation: want %d successful executions in the window", i+2))
		skillID = res.Promotion.PromotionUnit
	}
	// The skill moved with the third run (5.12): ephemeral →
	// promotion_candidate, then (promotion.mode automatic) persisted_active,
	// its artifact and skill_generation_metadata frozen.
	if err := c.runCFA(ctx, cfa, "skill", "list", "--state", "persisted_active"); err != nil {
		return nil, err
	}
	if err := c.runCFA(ctx, cfa, "skill", "show", shortID(skillID)); err != nil {
		return nil, err
	}
	sk, err := svc.Store.Skill(ctx, skillID)
	expect("m", err == nil && sk.State == skill.PersistedActive && len(sk.GenerationMetadata) > 0, "the reconcile skill was not persisted with its generation metadata")
	// A later intent of the skill reuses the frozen plan.
	res, err = run(scenario{key: "m", title: "the reconcile skill, served: a later run reuses its artifact",
		text: reconcile, asOf: dataplane.DemoAsOf, retryBase: 1, answer: approve, want: decision.Approved})
	if err != nil {
		return nil, err
	}
	expect("m", res.ServedBySkill != nil && res.ServedBySkill.SkillID == skillID, "the later run did not reuse the skill's artifact")
	fmt.Fprintln(w)

	// (n) panic rollback: the sandbox loses its permission mid-execution.
	if err := seed("2026-01-03"); err != nil {
		return nil, err
	}
	revoke := func(ctx context.Context, id string) error {
		if err := waitForStage(ctx, svc, id, workflows.StageExecution); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond) // the units are running or backing off
		nfe, _ := cat.Get("nfe")
		n, err := svc.Store.RevokeSandboxSelect(ctx, nfe)
		fmt.Fprintf(w, "  -> REVOKE SELECT ON bronze.nfe FROM the sandbox role (%d roles) while the units run\n", n)
		return err
	}
	res, err = run(scenario{key: "n", title: "panic rollback: permission revoked mid-execution", text: reconcile, asOf: dataplane.DemoAsOf,
		retryBase: 3, answer: approve, during: revoke, want: decision.Quarantined})
	if err != nil {
		return nil, err
	}
	expect("n", res.Execution != nil && res.Execution.Panic != nil, "no PANIC_ROLLBACK_TRIGGERED")
	show()
	fmt.Fprintln(w)

	// (o) two intents on one scope: the second waits for the first's
	// projection. The broken partition's retries keep the first busy.
	if err := seed("2026-01-03"); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "-- (o) two intents on one scope (silver_documentos), submitted together\n")
	var wg sync.WaitGroup
	results := make([]workflows.IntentResult, 2)
	errs := make([]error, 2)
	for i, text := range []string{reconcile, "ingest nfe into silver_documentos last 30 days"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := svc.Submit(ctx, service.SubmitRequest{Text: text, SubmittedBy: "demo", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 2})
			if err != nil {
				errs[i] = err
				return
			}
			var approveErr error
			res, err := svc.Wait(ctx, id, 100*time.Millisecond, nil, func(workflows.PendingEscalation) {
				approveErr = approve(ctx, id)
			})
			results[i], errs[i] = res, errors.Join(err, approveErr)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil {
			return nil, fmt.Errorf("scenario (o): %w", errs[i])
		}
		queued := "acquired the scope at once"
		if r.Execution != nil && r.Execution.Queued {
			queued = "waited in the queue, then acquired the scope"
		}
		if r.Execution != nil && r.Execution.StaleReplans > 0 {
			queued += fmt.Sprintf("; the other's projection made its environment stale: replanned %d time(s) (TOCTOU)", r.Execution.StaleReplans)
		}
		reg := "-"
		if r.Execution != nil {
			reg = r.Execution.RegistryVersionID
		}
		fmt.Fprintf(w, "  %s: %s; %s; projected registry %s\n", r.IntentID, r.DecisionState, queued, reg)
	}
	queued := 0
	for _, r := range results {
		if r.Execution != nil && r.Execution.Queued {
			queued++
		}
	}
	expect("o", queued == 1, fmt.Sprintf("%d of the two intents waited for the scope, want 1", queued))
	fmt.Fprintln(w)

	// (p) panic rollback: a new policy bundle is deployed while the broken
	// partition waits for its retry; the retry runs on the new worker.
	if pid, err := strconv.Atoi(os.Getenv("CFA_DEMO_WORKER_PID")); err == nil {
		stop, err := c.demoBundleChange(ctx, svc, cat, pid, approve, &failures)
		defer func() {
			if stop != nil {
				stop()
			}
		}()
		if err != nil {
			return nil, err
		}
		// (r)–(t) the skill lifecycle: a schedule, a policy change, replay.
		restart := func(dir string) error {
			stop()
			fmt.Fprintf(w, "  -> deploying policy bundle %s: stopping the worker, starting one with CFA_POLICY_DIR=%s\n", dir, dir)
			stop, err = c.startWorker(dir, "worker-freeze.log")
			return err
		}
		msgs, err := c.demoLifecycle(ctx, svc, cat, cfa, jID, restart)
		if err != nil {
			return nil, err
		}
		failures = append(failures, msgs...)
	} else {
		fmt.Fprintln(w, "-- (p), (r)–(t) skipped: run through `make demo` to deploy new policy bundles")
	}
	if p, q := results[0].Execution, results[1].Execution; p != nil && q != nil && p.RegistryVersionID == q.RegistryVersionID {
		failures = append(failures, "(o) both intents projected the same registry version")
	}
	fmt.Fprintln(w)
	return failures, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func unitAttempts(res workflows.IntentResult, key string) int {
	if res.Execution == nil {
		return 0
	}
	for _, u := range res.Execution.Units {
		if u.Key == key {
			return u.Attempts
		}
	}
	return 0
}

// waitForStage polls the status query until the intent reports the stage.
func waitForStage(ctx context.Context, svc *service.Service, id, stage string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		st, err := svc.Status(ctx, id)
		if err == nil {
			for _, s := range st.Stages {
				if s.Stage == stage {
					return nil
				}
			}
			if st.Result != nil {
				return fmt.Errorf("intent %s ended before stage %s", id, stage)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("intent %s did not reach stage %s in 2 minutes", id, stage)
}

// demoBundleChange replaces the running worker by one that enforces a new
// policy bundle while an intent's failed unit waits for its retry: the
// retry meets a bundle the signature was not made under, which is a panic.
// It returns a function that stops the new worker.
func (c *cli) demoBundleChange(ctx context.Context, svc *service.Service, cat *catalog.Catalog, pid int, approve func(context.Context, string) error, failures *[]string) (func(), error) {
	w := c.out
	dir := filepath.Join(".data", "policies-next")
	if err := writeNextBundle(dir); err != nil {
		return nil, err
	}
	if err := svc.Store.SeedDataPlane(ctx, cat, dataplane.Options{BreakPartition: "2026-01-03"}); err != nil {
		return nil, err
	}
	var next *exec.Cmd
	deploy := func(ctx context.Context, id string) error {
		if err := waitForStage(ctx, svc, id, workflows.StageExecution); err != nil {
			return err
		}
		time.Sleep(time.Second) // 2026-01-03 failed its first attempt and waits 8 s
		fmt.Fprintf(w, "  -> deploying policy bundle %s: stopping worker %d, starting one with CFA_POLICY_DIR=%s\n", dir, pid, dir)
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(syscall.SIGTERM)
			for i := 0; i < 200 && p.Signal(syscall.Signal(0)) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		logPath := filepath.Join(".data", "worker-next.log")
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		next = exec.Command(filepath.Join(filepath.Dir(self), "cfa-worker"))
		next.Env = append(os.Environ(), "CFA_POLICY_DIR="+dir)
		next.Stdout, next.Stderr = logf, logf
		if err := next.Start(); err != nil {
			return fmt.Errorf("start the worker with the new bundle: %w", err)
		}
		for i := 0; i < 240; i++ {
			if b, _ := os.ReadFile(logPath); strings.Contains(string(b), `"worker started"`) {
				return nil
			}
			time.Sleep(250 * time.Millisecond)
		}
		return fmt.Errorf("the worker with the new bundle did not start; see %s", logPath)
	}
	stop := func() {
		if next != nil && next.Process != nil {
			_ = next.Process.Signal(syscall.SIGTERM)
			_ = next.Wait()
		}
	}
	fmt.Fprintf(w, "-- (p) panic rollback: the policy bundle changes mid-execution\n")
	res, err := c.runScenario(ctx, svc, scenario{key: "p", text: "reconcile nfe with clientes and persist to silver", asOf: dataplane.DemoAsOf,
		retryBase: 8, answer: approve, during: deploy, want: decision.Quarantined})
	if err != nil {
		return stop, fmt.Errorf("scenario (p): %w", err)
	}
	render.PrintResult(w, res)
	if res.Execution == nil || res.Execution.Panic == nil || res.Execution.Panic.Trigger != string(partialexecution.TriggerPolicyBundleChangedMidExec) {
		*failures = append(*failures, "(p) no PANIC_ROLLBACK_TRIGGERED for the policy bundle change")
	}
	fmt.Fprintln(w)
	return stop, nil
}

// startWorker starts a cfa-worker on the bundle in dir, logging to
// .data/logName, and waits until it polls; the function returned stops it.
func (c *cli) startWorker(dir, logName string) (func(), error) {
	self, err := os.Executable()
	if err != nil {
		return func() {}, err
	}
	logPath := filepath.Join(".data", logName)
	logf, err := os.Create(logPath)
	if err != nil {
		return func() {}, err
	}
	next := exec.Command(filepath.Join(filepath.Dir(self), "cfa-worker"))
	next.Env = append(os.Environ(), "CFA_POLICY_DIR="+dir)
	next.Stdout, next.Stderr = logf, logf
	if err := next.Start(); err != nil {
		return func() {}, fmt.Errorf("start the worker with bundle %s: %w", dir, err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = next.Process.Signal(syscall.SIGTERM)
			_ = next.Wait()
			_ = logf.Close()
		}
	}
	for i := 0; i < 240; i++ {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), `"worker started"`) {
			return stop, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return stop, fmt.Errorf("the worker with bundle %s did not start; see %s", dir, logPath)
}

// writeNextBundle copies the shipped bundle with a new declared version.
func writeNextBundle(dir string) error {
	return writeBundle(dir, func(name string, b []byte) []byte {
		if name == "bundle.yaml" {
			return []byte(strings.Replace(string(b), "version: ", "version: next-", 1))
		}
		return b
	})
}

// writeBundle writes the shipped bundle into dir, each file through edit.
func writeBundle(dir string, edit func(name string, b []byte) []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := fs.ReadDir(policies.FS, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := fs.ReadFile(policies.FS, e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), edit(e.Name(), b), 0o644); err != nil {
			return err
		}
	}
	return nil
}
