package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/workflows"
)

// scenario is one governed case the demo runs end to end.
type scenario struct {
	key, title, text string
	timeout          time.Duration // escalation timeout for this run
	costCeiling      float64       // cost_ceiling_dbu for this run; 0: 50
	before           func(ctx context.Context) error
	plan             func(ctx context.Context) (*planner.ExecutionPlan, error) // a supplied plan
	answer           func(ctx context.Context, id string) error                // nil: leave unanswered
	want             decision.State
	wantMode         string
	// check adds what the decision alone does not show (a replan, a rule).
	check func(res workflows.IntentResult) string
	// show prints the plan (and with code, the SQL) after the decision.
	show, code bool
	// dryRun stops after static validation (the planning scenarios).
	dryRun bool
	// asOf and retryBase run the intent on the demo's data plane.
	asOf      string
	retryBase int
	// during runs beside the intent once it was submitted (a fault to inject).
	during func(ctx context.Context, id string) error
	// submittedBy submits the intent as someone ("" is demo).
	submittedBy string
	// rowLimit caps a read's rows (0: the default 1000).
	rowLimit int
}

func (c *cli) runCmd() *cobra.Command {
	var exportPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the governed scenarios end to end against a running worker, on the demo's own database",
		Long: `Run the governed scenarios (a–p) end to end against a running cfa-worker,
then verify the audit chain, export it and show that an edited copy fails
offline verification; last (v), sign a checkpoint of the audit log, prove
the last decision is in it and sync the context plane into the demo's second
database (NAME_replica_demo, made by reset-database --replica). make demo
runs it under scripts/with-worker.sh.

It runs on the demo's own database (DATABASE_URL, a name ending in _demo),
which must be empty: run cfa-demo reset-database before the worker starts.
Where the demo shows an operator's command (cfa approve, cfa plan, cfa code,
cfa dataplane show) it runs the cfa CLI: $CFA_BIN, else cfa next to cfa-demo.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.output != "text" {
				return fmt.Errorf("run prints its scenarios as text; drop --output %s", c.output)
			}
			return c.runDemo(cmd.Context(), exportPath)
		},
	}
	cmd.Flags().StringVar(&exportPath, "export", filepath.Join(".data", "demo-audit.jsonl"), "where to export the audit chain for the tamper check; (v) exports it again after signing a checkpoint")
	return cmd
}

func (c *cli) runDemo(ctx context.Context, exportPath string) error {
	cfa, err := cfaBinary()
	if err != nil {
		return err
	}
	cat, err := app.LoadCatalog(c.cfg.CatalogDir)
	if err != nil {
		return err
	}
	svc, err := c.service(ctx)
	if err != nil {
		return err
	}
	if err := checkFresh(ctx, svc.Store, c.cfg.DatabaseURL); err != nil {
		return err
	}
	w := c.out
	// Seed: every dataset committed and publishable, so the scenarios start
	// from a known registry state.
	seed := make([]registry.DatasetState, 0, len(cat.Datasets))
	for _, d := range cat.Datasets {
		seed = append(seed, registry.DatasetState{Name: d.Name, State: registry.StateCommitted, PublishAllowed: true, UpdatedAt: time.Now().UTC()})
	}
	// The pre-cost feedback loop and the skills' evidence learn from every
	// execution; the demo runs on a database of its own, made fresh for
	// each run (cfa-demo reset-database, checked by checkFresh above), so
	// its figures are the same every time. Nothing here resets history.
	env, _, err := svc.Store.OverrideDatasetStates(ctx, seed, db.Operator{By: "cfa-demo", Reason: "demo seed: all datasets committed"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== CFA v2 governed scenarios (catalog %s, registry %s)\n\n", cat.SnapshotVersion, env.VersionID)

	approveBySignal := func(ctx context.Context, id string) error {
		fmt.Fprintf(w, "  -> approving by Temporal Update %q\n", workflows.SignalApprove)
		return svc.Confirm(ctx, id, workflows.SignalApprove, "data-steward", "reviewed the signature: anonymization and merge key are enforced by policy")
	}
	approveByCLI := func(ctx context.Context, id string) error {
		return c.runCFA(ctx, cfa, workflows.SignalApprove, id, "--by", "gold-owner", "--reason", "gold publication reviewed")
	}
	// The gold write is submitted by maria, who may not approve it herself
	// (separation of duties, policy bundle confirmation): her approval is
	// refused and audited, and the escalation stays open for gold-owner.
	var selfApprovedID string
	selfApprovalThenCLI := func(ctx context.Context, id string) error {
		if selfApprovedID == id { // its second escalation (the cost): answered as usual
			return approveByCLI(ctx, id)
		}
		selfApprovedID = id
		fmt.Fprintf(w, "  -> maria, who submitted it, approves (Temporal Update %q)\n", workflows.SignalApprove)
		err := svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "my own gold write, looks right")
		var refused *service.RefusedError
		if !errors.As(err, &refused) {
			return fmt.Errorf("maria's approval of her own intent %s was not refused (%v): check the bundle's confirmation.self_approval", id, err)
		}
		reason, err := c.refusalOf(ctx, svc, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "     refused and audited (CONFIRMATION_REFUSED): %s\n", reason)
		return approveByCLI(ctx, id)
	}
	markPartial := func(ctx context.Context) error {
		env, _, err := svc.Store.OverrideDatasetStates(ctx, []registry.DatasetState{{
			Name: "silver_documentos", State: registry.StatePartiallyCommitted, PublishAllowed: false,
			LastSuccessfulPartition: "2026-01-02", PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"},
			UpdatedAt: time.Now().UTC(),
		}}, db.Operator{By: "cfa-demo", Reason: "demo: projection of a partial execution (whitepaper 5.9 example)"})
		if err == nil {
			fmt.Fprintf(w, "  registry snapshot %s: silver_documentos.state = partially_committed, publish_allowed = false\n", env.VersionID)
		}
		return err
	}

	const reconcile = "reconcile nfe with clientes and persist to silver"
	var reconcileID string
	// craftedPlan takes scenario (b)'s approved plan and removes the FinOps
	// filter from the extract of nfe (4 TB, high_volume), as a hand-edited
	// plan from an external planner might: re-hashed, so only what the
	// code does can betray it.
	craftedPlan := func(ctx context.Context) (*planner.ExecutionPlan, error) {
		rec, err := svc.Store.GetPlan(ctx, reconcileID)
		if err != nil {
			return nil, err
		}
		var p planner.ExecutionPlan
		if err := json.Unmarshal(rec.Plan, &p); err != nil {
			return nil, fmt.Errorf("decode the plan of %s: %w", reconcileID, err)
		}
		for i := range p.Steps {
			if p.Steps[i].Kind == planner.KindExtract && p.Steps[i].Dataset == "nfe" {
				p.Steps[i].Params.Filter = nil
			}
		}
		if p.Hash, err = planner.HashPlan(p); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "  crafted plan %s: plan of %s with the processing_date filter removed from 01_extract_nfe\n", p.Hash[:16], reconcileID)
		return &p, nil
	}
	scenarios := []scenario{
		{key: "a", title: "a grouping column the dataset does not have: refused, naming the columns", text: "aggregate daily sales by store from vendas_diarias",
			want: decision.Blocked},
		{key: "a'", title: "aggregate of non-sensitive data by a real column (read-only: costed, governed result)", text: "aggregate daily sales by uf from vendas_diarias",
			want: decision.Approved, wantMode: "auto", show: true},
		{key: "b", title: "reconcile with PII into silver", text: reconcile,
			answer: approveBySignal, want: decision.Approved, wantMode: "human_escalation", show: true, code: true},
		{key: "c", title: "gold write, submitted by maria: her own approval is refused, gold-owner's taken", text: "aggregate revenue by state from silver_documentos into gold_faturamento_uf",
			submittedBy: "maria", answer: selfApprovalThenCLI, want: decision.Approved, wantMode: "human_escalation", show: true},
		{key: "d", title: "escalation left unanswered", text: "aggregate revenue by state from silver_documentos into gold_faturamento_uf",
			timeout: 4 * time.Second, want: decision.Blocked, wantMode: "human_escalation"},
		{key: "e", title: "over the cost ceiling (cost_ceiling_dbu 10): replanned with a filter", text: reconcile, costCeiling: 10,
			answer: approveBySignal, want: decision.Approved, wantMode: "human_escalation", show: true,
			check: func(res workflows.IntentResult) string {
				if res.PreCost == nil || res.Signature == nil || res.Signature.Constraints.TemporalFilter == nil || res.Signature.Constraints.TemporalFilter.LastDays >= 30 {
					return "the cost replan did not narrow the temporal filter"
				}
				return ""
			}},
		{key: "f", title: "crafted unsafe plan (supplied by an external planner)", text: reconcile, plan: craftedPlan,
			answer: approveBySignal, want: decision.Blocked, wantMode: "human_escalation", show: true,
			check: func(res workflows.IntentResult) string {
				if res.DecidedBy != string(decision.AuthorityStaticValidation) || res.Static == nil || !slices.Contains(res.Static.Violated, "unbounded_scan") {
					return "static validation did not block the crafted plan with unbounded_scan"
				}
				return ""
			}},
		{key: "g", title: "publish while partially_committed (I7)", text: "publish silver_documentos",
			before: markPartial, answer: approveBySignal, want: decision.Blocked},
		{key: "h", title: "intent that cannot be resolved", text: "make the numbers look better",
			want: decision.Blocked},
	}
	for i := range scenarios {
		// The kernel and planning scenarios stop after static validation;
		// execution on the data plane comes after them.
		scenarios[i].dryRun = true
	}
	var failures []string
	var timeoutID string
	for _, s := range scenarios {
		fmt.Fprintf(w, "-- (%s) %s\n  intent: %q\n", s.key, s.title, s.text)
		if s.before != nil {
			if err := s.before(ctx); err != nil {
				return err
			}
		}
		res, err := c.runScenario(ctx, svc, s)
		if err != nil {
			return fmt.Errorf("scenario (%s): %w", s.key, err)
		}
		switch s.key {
		case "b":
			reconcileID = res.IntentID
		case "d":
			timeoutID = res.IntentID
		}
		render.PrintResult(w, res)
		ok := res.DecisionState == s.want
		if s.wantMode != "" && (res.Resolution == nil || string(res.Resolution.ConfirmationMode) != s.wantMode) {
			ok = false
		}
		if !ok {
			failures = append(failures, fmt.Sprintf("(%s) got %s, want %s (mode %s)", s.key, res.DecisionState, s.want, s.wantMode))
		}
		if s.check != nil {
			if msg := s.check(res); msg != "" {
				failures = append(failures, fmt.Sprintf("(%s) %s", s.key, msg))
			}
		}
		if s.show && res.SignatureHash != "" {
			if err := c.demoShowPlan(ctx, cfa, res.IntentID, s.code); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
	}

	// (i) The whitepaper's composite intent, on a registry reseeded so that
	// (g)'s partial state does not constrain it.
	if _, _, err := svc.Store.OverrideDatasetStates(ctx, seed, db.Operator{By: "cfa-demo", Reason: "demo: reseed before the composite intent"}); err != nil {
		return err
	}
	if msg, err := c.demoProposedCycles(ctx, svc, reconcile, approveBySignal); err != nil {
		return err
	} else if msg != "" {
		failures = append(failures, "(e') "+msg)
	}
	if msg, err := c.demoComposite(ctx, svc); err != nil {
		return err
	} else if msg != "" {
		failures = append(failures, "(i) "+msg)
	}
	if _, _, err := svc.Store.OverrideDatasetStates(ctx, seed, db.Operator{By: "cfa-demo", Reason: "demo: reseed before execution"}); err != nil {
		return err
	}
	// (q) Through the API, while the first worker runs (the execution
	// scenarios end by replacing it).
	apiMsgs, err := c.demoAPI(ctx, cfa)
	if err != nil {
		return fmt.Errorf("scenario (q): %w", err)
	}
	failures = append(failures, apiMsgs...)
	msgs, err := c.demoExecution(ctx, svc, cat, cfa, approveBySignal)
	if err != nil {
		return err
	}
	failures = append(failures, msgs...)

	for _, trail := range []struct{ title, id string }{
		{"the gold write with the refused self-approval", selfApprovedID},
		{"the unanswered escalation", timeoutID},
	} {
		if trail.id == "" {
			continue
		}
		rs, err := svc.Store.AuditByIntent(ctx, trail.id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "-- audit trail of %s %s\n", trail.title, trail.id)
		for _, r := range rs {
			fmt.Fprintf(w, "  #%s %-32s %-12s %-26s %s\n", r.Context["seq"], r.Context["event_type"], r.Context["outcome"], r.Context["stage"], r.Actor.ID)
		}
		fmt.Fprintln(w)
	}
	chain, err := c.demoVerify(ctx, exportPath)
	if err != nil {
		return err
	}
	planeMsgs, err := c.demoContextPlane(ctx, cfa, exportPath, chain)
	if err != nil {
		return fmt.Errorf("scenario (v): %w", err)
	}
	failures = append(failures, planeMsgs...)
	if len(failures) > 0 {
		return fmt.Errorf("demo outcomes differ from what the scenarios expect: %s", strings.Join(failures, "; "))
	}
	fmt.Fprintln(w, "demo complete: every scenario reached its expected decision")
	return nil
}

// demoProposedCycles runs (e) in replan_mode propose: every replan ends its
// cycle as replanned with a proposed signature, and `submit
// --from-proposal` starts the next cycle with the same options. It returns
// what differs from the expectation: replanned by the policy engine, then
// by the pre-cost estimator, then approved with 2 replans.
func (c *cli) demoProposedCycles(ctx context.Context, svc *service.Service, text string, approve func(context.Context, string) error) (string, error) {
	w := c.out
	fmt.Fprintf(w, "-- (e') (e) with --replan-mode propose: each replan ends its cycle; submit --from-proposal starts the next\n  intent: %q\n", text)
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: text, SubmittedBy: "demo", CostCeilingDBU: 10, DryRun: true, ReplanMode: policy.ReplanPropose})
	if err != nil {
		return "", err
	}
	want := []decision.State{decision.Replanned, decision.Replanned, decision.Approved}
	var got []string
	for cycle := range want {
		fmt.Fprintf(w, "  cycle %d: intent_id %s\n", cycle+1, id)
		var answerErr error
		res, err := svc.Wait(ctx, id, 100*time.Millisecond, nil, func(workflows.PendingEscalation) { answerErr = approve(ctx, id) })
		if err = errors.Join(err, answerErr); err != nil {
			return "", fmt.Errorf("scenario (e') cycle %d: %w", cycle+1, err)
		}
		render.PrintResult(w, res)
		got = append(got, fmt.Sprintf("%s by %s", res.DecisionState, res.DecidedBy))
		if res.DecisionState != want[cycle] {
			return fmt.Sprintf("cycle %d got %s, want %s", cycle+1, res.DecisionState, want[cycle]), nil
		}
		if res.NextCycle == nil {
			if res.Replans != 2 {
				return fmt.Sprintf("the approved cycle counts %d replans, want 2", res.Replans), nil
			}
			break
		}
		next, err := svc.SubmitNextCycle(ctx, id, "", "demo")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(w, "  $ cfa submit --from-proposal %s  -> %s\n", id, next)
		id = next
	}
	fmt.Fprintf(w, "  cycles: %s\n\n", strings.Join(got, " -> "))
	if len(got) != len(want) {
		return fmt.Sprintf("%d cycles, want %d", len(got), len(want)), nil
	}
	return "", nil
}

func (c *cli) runScenario(ctx context.Context, svc *service.Service, s scenario) (workflows.IntentResult, error) {
	by := s.submittedBy
	if by == "" {
		by = "demo"
	}
	req := service.SubmitRequest{Text: s.text, SubmittedBy: by, EscalationTimeoutSeconds: int(s.timeout / time.Second), CostCeilingDBU: s.costCeiling,
		AsOf: s.asOf, UnitRetryBaseSeconds: s.retryBase, DryRun: s.dryRun, RowLimit: s.rowLimit}
	if s.plan != nil {
		p, err := s.plan(ctx)
		if err != nil {
			return workflows.IntentResult{}, err
		}
		req.Plan = p
	}
	id, err := svc.Submit(ctx, req)
	if err != nil {
		return workflows.IntentResult{}, err
	}
	fmt.Fprintf(c.out, "  intent_id: %s\n", id)
	duringErr := make(chan error, 1)
	if s.during != nil {
		go func() { duringErr <- s.during(ctx, id) }()
	} else {
		duringErr <- nil
	}
	var answerErr error
	res, err := svc.Wait(ctx, id, 100*time.Millisecond, func(st workflows.StageReport) {
		fmt.Fprintf(c.out, "  [%s] %s\n", st.Stage, st.Summary)
	}, func(p workflows.PendingEscalation) {
		fmt.Fprintf(c.out, "  pending %s confirmation, deadline %s, triggers: %s\n", p.Mode, p.Deadline.Format(time.RFC3339), joinAny(p.Triggers))
		if s.answer != nil {
			answerErr = s.answer(ctx, id)
		} else {
			fmt.Fprintf(c.out, "  -> nobody answers; the %s timer runs out\n", workflows.EscalationTimerName)
		}
	})
	// The injector must have finished before the scenario's cleanup runs.
	derr := <-duringErr
	if answerErr != nil {
		return res, answerErr
	}
	if derr != nil {
		return res, derr
	}
	return res, err
}

// demoVerify verifies the chain in Postgres, exports it, tampers with one
// line of a copy, and shows that offline verification names that event. It
// returns the chain it verified.
func (c *cli) demoVerify(ctx context.Context, exportPath string) ([]audit.Receipt, error) {
	w := c.out
	rs, err := c.svc.Store.WholeAuditChain(ctx)
	if err != nil {
		return nil, err
	}
	if err := audit.Verify(rs); err != nil {
		return nil, fmt.Errorf("audit chain in Postgres does not verify: %w", err)
	}
	if err := audit.CompletePerIntent(rs); err != nil {
		return nil, fmt.Errorf("audit chain in Postgres is incomplete: %w", err)
	}
	fmt.Fprintf(w, "-- audit verify: %d receipts in Postgres, chain intact, every intent has a start and an end\n", len(rs))

	if err := os.MkdirAll(filepath.Dir(exportPath), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(exportPath), err)
	}
	var buf bytes.Buffer
	if err := audit.WriteJSONL(&buf, rs); err != nil {
		return nil, err
	}
	if err := os.WriteFile(exportPath, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write export %s: %w", exportPath, err)
	}
	tampered, line, err := tamper(buf.Bytes())
	if err != nil {
		return nil, err
	}
	tamperedPath := strings.TrimSuffix(exportPath, ".jsonl") + ".tampered.jsonl"
	if err := os.WriteFile(tamperedPath, tampered, 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", tamperedPath, err)
	}
	back, err := audit.ReadJSONL(bytes.NewReader(tampered))
	if err != nil {
		return nil, err
	}
	verr := audit.Verify(back)
	var ce *audit.ChainError
	if !errors.As(verr, &ce) {
		return nil, fmt.Errorf("tampered export %s was not detected (err=%v)", tamperedPath, verr)
	}
	fmt.Fprintf(w, "-- exported to %s; edited line %d of a copy (%s)\n", exportPath, line, tamperedPath)
	fmt.Fprintf(w, "   cfa audit verify --file %s -> first bad event: position %d, receipt %s: %s\n\n", tamperedPath, ce.Position, ce.ReceiptID, ce.Reason)
	return rs, nil
}

// tamper flips an outcome in a line near the middle of an export.
func tamper(export []byte) ([]byte, int, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(export))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := len(lines) / 2; i < len(lines); i++ {
		for _, from := range []string{`blocked`, `approved`, `resolved`} {
			if strings.Contains(lines[i], from) {
				lines[i] = strings.Replace(lines[i], from, "tampered", 1)
				return []byte(strings.Join(lines, "\n") + "\n"), i + 1, nil
			}
		}
	}
	return nil, 0, errors.New("tamper check: no line with an outcome to edit in the export")
}

func joinAny[T ~string](ts []T) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, "; ")
}

// demoShowPlan runs `cfa plan ID` (and with code, `cfa code ID`) for an
// intent that has a plan record.
func (c *cli) demoShowPlan(ctx context.Context, cfa, id string, code bool) error {
	rec, err := c.svc.Store.GetPlan(ctx, id)
	if errors.Is(err, db.ErrPlanNotFound) {
		return nil // decided before step 8
	}
	if err != nil {
		return err
	}
	if err := c.runCFA(ctx, cfa, "plan", id); err != nil {
		return err
	}
	if code && rec.CodeHash != "" {
		return c.runCFA(ctx, cfa, "code", id)
	}
	return nil
}

// demoComposite runs examples/composite/fiscal_reconciliation_publish.yaml,
// approving each sub-intent's escalation as it opens, and returns what
// differs from the expected outcome.
func (c *cli) demoComposite(ctx context.Context, svc *service.Service) (string, error) {
	w := c.out
	path := filepath.Join("examples", "composite", "fiscal_reconciliation_publish.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s (run the demo from the repository root): %w", path, err)
	}
	g, err := composite.Parse(raw)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "-- (i) composite intent %s (%s), dry run: planned and validated\n", g.RootIntent, path)
	id, err := svc.SubmitComposite(ctx, service.CompositeRequest{Graph: g, SubmittedBy: "demo", DryRun: true})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "  intent_id: %s; sub-intents run as child workflows %s.<id>\n", id, id)
	// Approve each sub-intent's escalation as it opens, like a steward in
	// the Temporal UI would.
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		answered := map[string]time.Time{}
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- nil
				return
			case <-t.C:
			}
			for _, sub := range g.IDs() {
				child := workflows.SubIntentID(id, sub)
				p, err := svc.Pending(ctx, child)
				if err != nil || p == nil || answered[child].Equal(p.Deadline) {
					continue
				}
				answered[child] = p.Deadline
				if err := svc.Confirm(ctx, child, workflows.SignalApprove, "maria", "composite sub-intent reviewed"); err != nil && !errors.Is(err, service.ErrNotWaiting) {
					done <- err
					return
				}
				fmt.Fprintf(w, "  -> approved %s (%s) by Temporal Update\n", sub, p.Mode)
			}
		}
	}()
	res, err := svc.WaitComposite(ctx, id, 150*time.Millisecond, func(st workflows.StageReport) {
		fmt.Fprintf(w, "  [%s] %s\n", st.Stage, st.Summary)
	})
	close(stop)
	if aerr := <-done; aerr != nil {
		return "", aerr
	}
	if err != nil {
		return "", err
	}
	render.PrintComposite(w, res)
	fmt.Fprintln(w)
	if res.DecisionState != decision.Approved {
		return fmt.Sprintf("composite got %s, want approved", res.DecisionState), nil
	}
	for _, o := range res.SubIntents {
		if o.State != workflows.SubIntentDecided || o.Result.PlanHash == "" {
			return fmt.Sprintf("sub-intent %s was not planned", o.ID), nil
		}
	}
	return "", nil
}

// refusalOf reads the refusal the intent's trail records: the workflow
// records it before it answers the Update, so it is there when Confirm
// returns.
func (c *cli) refusalOf(ctx context.Context, svc *service.Service, id string) (string, error) {
	rs, err := svc.Store.AuditByIntent(ctx, id)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Context["event_type"] == audit.EventConfirmationRefused {
			var d events.ConfirmationRefused
			if err := json.Unmarshal([]byte(r.Context["details"]), &d); err != nil {
				return "", fmt.Errorf("read the refusal of intent %s: %w", id, err)
			}
			return d.Code + ": " + d.Reason, nil
		}
	}
	return "", fmt.Errorf("intent %s refused maria's approval but its audit trail has no CONFIRMATION_REFUSED: is the worker running this build?", id)
}
