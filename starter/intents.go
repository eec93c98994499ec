package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

func (c *cli) submitCmd() *cobra.Command {
	var (
		file         string
		planFile     string
		graphFile    string
		fromProposal string
		unitRetry    time.Duration
		wait         bool
		req          service.SubmitRequest
		timeout      time.Duration
	)
	cmd := &cobra.Command{
		Use:   `submit ["intent text"] [-f signature.yaml]`,
		Short: "Submit an intent (text or structured signature); prints the intent id",
		Long: `Submit an intent (text or a structured State Signature) and print its id,
or with --wait follow it to its decision.

With --wait and no worker polling task queue ` + workflows.TaskQueue + `, the intent is still
submitted and the command ends at once with error code no_worker.

` + exitCodesHelp(false),
		Example: `  cfa submit "aggregate revenue by state from vendas_diarias" --wait
  cfa submit "sum of valor_total by uf last 7 days" --wait     # a read: its rows as a table
  cfa submit "read clientes" --wait --row-limit 20 -o json     # the rows under result, PII masked
  cfa submit -f signature.yaml
  cat signature.yaml | cfa submit -f -
  cfa submit --from-proposal intent-0193... --wait   # the next cycle of a replanned intent`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fromProposal != "" {
				// The next cycle keeps the options of the cycle it
				// continues: only who submits, the id and --wait apply.
				var extra []string
				cmd.Flags().Visit(func(f *pflag.Flag) {
					if !slices.Contains([]string{"from-proposal", "wait", "id", "by", "output"}, f.Name) {
						extra = append(extra, "--"+f.Name)
					}
				})
				if len(args) == 1 || len(extra) > 0 {
					return usage(fmt.Errorf("submit: --from-proposal continues intent %s with its proposed signature and its options; drop %v", fromProposal, append(args, extra...)))
				}
				svc, err := c.service(cmd.Context(), false)
				if err != nil {
					return err
				}
				by := req.SubmittedBy
				id, err := svc.SubmitNextCycle(cmd.Context(), fromProposal, req.IntentID, by)
				if err != nil {
					return err
				}
				return c.followSubmitted(cmd, svc, id, wait)
			}
			if len(args) == 1 {
				req.Text = args[0]
			}
			if graphFile != "" {
				if len(args) == 1 || file != "" || planFile != "" {
					return usage(errors.New("submit: --graph takes the whole composite intent; give no text, -f or --plan with it"))
				}
				return c.submitGraph(cmd, graphFile, req, timeout, wait)
			}
			if file != "" {
				sig, err := readSignature(file, cmd.InOrStdin())
				if err != nil {
					return invalid(err)
				}
				req.Signature = sig
			}
			if planFile != "" {
				p, err := readPlan(planFile)
				if err != nil {
					return invalid(err)
				}
				req.Plan = p
			}
			if err := checkRunFlags(unitRetry, timeout, req.CostCeilingDBU, req.AsOf); err != nil {
				return err
			}
			if err := bounds.RowLimit(req.RowLimit); err != nil {
				return invalid(fmt.Errorf("submit: %w", err))
			}
			req.UnitRetryBaseSeconds = int(unitRetry / time.Second)
			req.EscalationTimeoutSeconds = int(timeout / time.Second)
			if req.SubmittedBy == "" {
				req.SubmittedBy = os.Getenv("USER")
			}
			if err := req.Validate(); err != nil {
				return err
			}
			svc, err := c.service(cmd.Context(), false)
			if err != nil {
				return err
			}
			id, err := svc.Submit(cmd.Context(), req)
			if err != nil {
				return err
			}
			return c.followSubmitted(cmd, svc, id, wait)
		},
	}
	cmd.Flags().StringVar(&fromProposal, "from-proposal", "", "start the next cycle of an intent decided replanned (--replan-mode propose): its proposed signature with its options")
	cmd.Flags().StringVarP(&file, "file", "f", "", "structured signature (YAML or JSON); - reads standard input")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the intent to its decision, printing each stage")
	cmd.Flags().StringVar(&req.IntentID, "id", "", "intent id (= workflow id); generated when empty")
	cmd.Flags().StringVar(&req.CorrelationID, "correlation-id", "", "correlation id shared by related intents")
	cmd.Flags().StringVar(&req.SubmittedBy, "by", "", "who submits (default $USER)")
	cmd.Flags().DurationVar(&timeout, "escalation-timeout", 0, "human escalation timeout for this run, 1s to 168h (default 300s)")
	cmd.Flags().StringVar(&req.AsOf, "as-of", "", "resolve relative windows (\"last 30 days\") against this date, YYYY-MM-DD (reprocessing)")
	cmd.Flags().StringVar(&req.PartialFailureMode, "partial-failure-mode", "", "selective_quarantine (default), full_rollback, partial_commit_no_publish or degraded_publish")
	cmd.Flags().StringVar(&req.OnConflict, "on-conflict", "", "when another intent holds the target scope: queue (default) or reject")
	cmd.Flags().DurationVar(&unitRetry, "unit-retry-base", 0, "backoff base before a failed consistency unit is retried, 1s to 1h (default 30s)")
	cmd.Flags().StringVar(&req.ReplanMode, "replan-mode", "", "auto (default: replans are applied and governed again, at most 3) or propose (the first replan ends the intent replanned with the proposed signature)")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "stop after static validation: cost, plan and code, nothing runs")
	cmd.Flags().Float64Var(&req.CostCeilingDBU, "cost-ceiling", 0, "cost_ceiling_dbu for this intent, at most 10000 (default 50)")
	cmd.Flags().IntVar(&req.RowLimit, "row-limit", 0, "the most rows a read returns, 1 to 10000 (default 1000); intents that write ignore it")
	cmd.Flags().StringVar(&graphFile, "graph", "", "composite intent: an intent_graph YAML (whitepaper 5.4), run as child workflows in dependency order")
	cmd.Flags().StringVar(&planFile, "plan", "", "execution plan JSON from an external planner (as `cfa plan ID -o json` prints it); its code must pass static validation")
	return cmd
}

// followSubmitted prints a submitted intent's id or, with --wait, follows it
// to its decision and exits with the decision's status.
func (c *cli) followSubmitted(cmd *cobra.Command, svc *service.Service, id string, wait bool) error {
	if err := c.submitted(cmd, svc, id, wait); err != nil || !wait {
		return err
	}
	if !c.json() {
		fmt.Fprintf(c.out, "intent %s submitted\n", id)
	}
	res, err := svc.Wait(cmd.Context(), id, 250*time.Millisecond, func(s workflows.StageReport) {
		if !c.json() {
			fmt.Fprintf(c.out, "  %-26s %s\n", s.Stage, s.Summary)
		}
	}, func(p workflows.PendingEscalation) {
		if !c.json() {
			fmt.Fprintf(c.out, "  waiting for confirmation (%s) until %s: cfa approve %s --by NAME --reason TEXT\n", p.Mode, p.Deadline.Format(time.RFC3339), id)
			fmt.Fprintf(c.out, "    signature: %s\n", confirmation.Show(p.Signature))
			if len(p.Interpretations) > 0 {
				fmt.Fprintf(c.out, "    competing interpretations: %s (choose one with --interpretation NAME)\n", strings.Join(p.Interpretations, ", "))
			}
			render.PrintNarrowed(c.out, p.Narrowed, "    ")
		}
	})
	if err != nil {
		return withIntent(err, cmd, id)
	}
	if err := c.emit(res, func(w io.Writer) { render.PrintResult(w, res) }); err != nil {
		return err
	}
	return decisionResult(res.DecisionState)
}

// submitted asks whether a worker polls the task queue (one RPC): with
// --wait and none, the intent waits and the command ends at once with
// no_worker instead of hanging; without --wait it prints the id, and a
// warning when none polls.
func (c *cli) submitted(cmd *cobra.Command, svc *service.Service, id string, wait bool) error {
	polling, err := svc.WorkerPolling(cmd.Context())
	noWorker := err == nil && !polling // unknown: go on as before
	if noWorker && wait {
		return &failure{code: codeNoWorker, exit: exitNoWorker, intentID: id, err: service.NoWorkerError(id)}
	}
	if wait {
		return nil
	}
	out := map[string]string{"intent_id": id}
	if noWorker {
		warning := fmt.Sprintf("no worker polls task queue %s; intent %s waits until one starts (bin/cfa-worker, or make dev)", workflows.TaskQueue, id)
		if c.json() {
			out["warning"] = warning
		} else {
			fmt.Fprintln(c.stderr(), "warning: "+warning)
		}
	}
	return c.emit(out, func(w io.Writer) { fmt.Fprintln(w, id) })
}

// decisionResult ends the command with the exit status of decision s.
func decisionResult(s decision.State) error {
	if code := decisionExit(s); code != 0 {
		return exitError{code: code}
	}
	return nil
}

// withIntent gives an error about intent id its code and the id, for the
// error object.
func withIntent(err error, cmd *cobra.Command, id string) error {
	f := classify(err, cmd)
	f.intentID = id
	return f
}

// submitGraph starts a composite intent and, with --wait, follows it.
func (c *cli) submitGraph(cmd *cobra.Command, path string, req service.SubmitRequest, timeout time.Duration, wait bool) error {
	if err := checkRunFlags(0, timeout, req.CostCeilingDBU, ""); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return invalid(fmt.Errorf("read intent graph %s: %w", path, err))
	}
	g, err := composite.Parse(b)
	if err != nil {
		return invalid(fmt.Errorf("intent graph %s: %w", path, err))
	}
	by := req.SubmittedBy
	if by == "" {
		by = os.Getenv("USER")
	}
	if err := (service.SubmitRequest{Text: g.RootIntent, CostCeilingDBU: req.CostCeilingDBU, EscalationTimeoutSeconds: int(timeout / time.Second)}).Validate(); err != nil {
		return err
	}
	svc, err := c.service(cmd.Context(), false)
	if err != nil {
		return err
	}
	id, err := svc.SubmitComposite(cmd.Context(), service.CompositeRequest{
		Graph: g, IntentID: req.IntentID, CorrelationID: req.CorrelationID, SubmittedBy: by,
		EscalationTimeoutSeconds: int(timeout / time.Second), DryRun: req.DryRun, CostCeilingDBU: req.CostCeilingDBU,
	})
	if err != nil {
		return err
	}
	if err := c.submitted(cmd, svc, id, wait); err != nil || !wait {
		return err
	}
	if !c.json() {
		fmt.Fprintf(c.out, "composite intent %s submitted (%s)\n", id, g.RootIntent)
	}
	res, err := svc.WaitComposite(cmd.Context(), id, 250*time.Millisecond, func(s workflows.StageReport) {
		if !c.json() {
			fmt.Fprintf(c.out, "  %-26s %s\n", s.Stage, s.Summary)
		}
	})
	if err != nil {
		return withIntent(err, cmd, id)
	}
	if err := c.emit(res, func(w io.Writer) { render.PrintComposite(w, res) }); err != nil {
		return err
	}
	return decisionResult(res.DecisionState)
}

// checkRunFlags refuses an option outside its bounds before anything is
// sent, saying the allowed range (internal/bounds; the workflow checks
// them again for clients that bypass the CLI).
func checkRunFlags(unitRetry, timeout time.Duration, costCeiling float64, asOf string) error {
	for _, err := range []error{
		bounds.UnitRetryBase(unitRetry), bounds.EscalationTimeout(timeout),
		bounds.CostCeiling(costCeiling), bounds.AsOf(asOf),
	} {
		if err != nil {
			return invalid(fmt.Errorf("submit: %w", err))
		}
	}
	return nil
}

// readPlan parses a supplied execution plan strictly.
func readPlan(path string) (*planner.ExecutionPlan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	p, err := planner.ParsePlan(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// readSignature parses a structured signature strictly
// (signature.Parse): unknown fields are errors, so a typo never silently
// drops a constraint.
func readSignature(path string, stdin io.Reader) (*signature.Signature, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read signature %s: %w", path, err)
	}
	sig, err := signature.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w", path, err)
	}
	return sig, nil
}

func (c *cli) confirmCmd(signal string) *cobra.Command {
	var by, reason string
	var opts service.AnswerOptions
	standing := &opts.Standing
	verb := map[string]string{workflows.SignalApprove: "Approve", workflows.SignalReject: "Reject"}[signal]
	cmd := &cobra.Command{
		Use:   signal + " INTENT_ID --by NAME --reason TEXT",
		Short: verb + " a pending escalation (sends the Temporal signal " + signal + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkInterpretationFlag(opts); err != nil {
				return invalid(fmt.Errorf("%s %s: %w", signal, args[0], err))
			}
			svc, err := c.service(cmd.Context(), false)
			if err != nil {
				return err
			}
			if err := svc.Answer(cmd.Context(), args[0], signal, service.Caller{ID: by, AuthContext: "cli"}, reason, opts); err != nil {
				var refused *service.RefusedError
				if errors.As(err, &refused) && (refused.Code == confirmation.RefusedStandingNotScheduled || refused.Code == confirmation.RefusedStandingReject) {
					return &failure{code: codeRefused, exit: exitFailure, intentID: args[0], err: err,
						fix: "the escalation is still open: answer it without --standing (a standing approval is given on a run a schedule started)"}
				}
				return err
			}
			out := map[string]any{"intent_id": args[0], "signal": signal, "by": by, "reason": reason}
			if standing.Standing {
				out["standing"], out["standing_for"] = true, standing.For
			}
			if opts.Interpretation != "" {
				out["interpretation"] = opts.Interpretation
			}
			return c.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s of %s accepted by the workflow\n", signal, args[0])
				if opts.Interpretation != "" {
					fmt.Fprintf(w, "interpretation %s chosen: the intent goes on with its signature (`cfa status %s` shows it)\n", opts.Interpretation, args[0])
				}
				if standing.Standing {
					fmt.Fprintf(w, "given as standing: the schedule's later runs with the same signature, bundle and catalog will not wait (`cfa schedule describe NAME` lists it)\n")
				}
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who confirms (recorded in the audit trail)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit trail)")
	if signal == workflows.SignalApprove {
		cmd.Flags().BoolVar(&standing.Standing, "standing", false, "approve a scheduled run for its schedule's later runs too, while signature, policy bundle and catalog stay the same (docs/adr/0125)")
		cmd.Flags().StringVar(&standing.For, "standing-for", "", "how long a standing approval stands, 1m to 2160h (default 720h)")
		cmd.Flags().StringVar(&opts.Interpretation, "interpretation", "", "go on with one of the escalation's competing interpretations, by name (`cfa status ID` lists them; docs/adr/0135)")
	}
	return cmd
}

// checkInterpretationFlag refuses, before anything is sent, an
// --interpretation no escalation could take: with --standing (a standing
// approval is bound to the signature asked), or not one line of at most
// confirmation.MaxAnswerField characters. Whether it is one of the
// escalation's competing interpretations is checked against the pending
// escalation (service.Answer), and again by the workflow.
func checkInterpretationFlag(opts service.AnswerOptions) error {
	name := opts.Interpretation
	switch {
	case name == "":
		return nil
	case opts.Standing.Standing:
		return errors.New("--interpretation cannot be combined with --standing: a standing approval is bound to the signature asked; choose the interpretation without --standing")
	case strings.TrimSpace(name) != name || strings.ContainsAny(name, "\x00\r\n") || len([]rune(name)) > confirmation.MaxAnswerField:
		return fmt.Errorf("--interpretation %q is not an interpretation's name: `cfa status ID` lists the competing interpretations", name)
	}
	return nil
}

func (c *cli) statusCmd() *cobra.Command {
	var proposed bool
	cmd := &cobra.Command{
		Use:   "status INTENT_ID [--proposed]",
		Short: "Show an intent's stage, pending escalation and decision",
		Long: `Show an intent's stages, its pending escalation and its decision.

A running intent is asked by query, which a worker answers: with no worker
polling task queue ` + workflows.TaskQueue + ` the command says so at once (error code
no_worker). A finished intent's decision is read from its history, with or
without a worker. With --proposed the command exits 0 when it prints the
proposed signature.

` + exitCodesHelp(true),
		Example: `  cfa status intent-0193...
  cfa status intent-0193... --proposed   # the signature a replanned intent proposes, as YAML`,
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "intent:{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := c.service(cmd.Context(), false)
			if err != nil {
				return err
			}
			st, exec, err := svc.StatusDetail(cmd.Context(), args[0])
			if err != nil {
				return withIntent(err, cmd, args[0])
			}
			running := exec == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			if proposed {
				if st.Result == nil || st.Result.Proposed == nil {
					return invalid(fmt.Errorf("status: intent %s proposed no signature; only an intent decided replanned with --replan-mode propose has one", args[0]))
				}
				out, err := yaml.Marshal(st.Result.Proposed)
				if err != nil {
					return fmt.Errorf("status: encode the proposed signature: %w", err)
				}
				_, err = c.out.Write(out)
				return err
			}
			err = c.emit(st, func(w io.Writer) {
				fmt.Fprintf(w, "intent %s: stage %s\n", st.IntentID, st.Stage)
				for _, s := range st.Stages {
					fmt.Fprintf(w, "  %-26s %s\n", s.Stage, s.Summary)
				}
				if p := st.Pending; p != nil {
					who := strings.Join(p.Allowed.Approvers, ", ")
					if who == "" {
						who = "nobody is declared for these triggers (policy bundle confirmation.approvers)"
					}
					if p.Allowed.Submitter != "" && !p.Allowed.SelfApproval {
						who += " (not " + p.Allowed.Submitter + ", who submitted it)"
					}
					fmt.Fprintf(w, "pending %s confirmation until %s\n  signature: %s\n  triggers: %v\n  may answer: %s\n  answer: cfa approve %s --by NAME --reason TEXT (or reject)\n",
						p.Mode, p.Deadline.Format(time.RFC3339), confirmation.Show(p.Signature), p.Triggers, who, st.IntentID)
					if len(p.Interpretations) > 0 {
						fmt.Fprintf(w, "  competing interpretations: %s\n  choose one: cfa approve %s --by NAME --reason TEXT --interpretation NAME\n",
							strings.Join(p.Interpretations, ", "), st.IntentID)
					}
					render.PrintNarrowed(w, p.Narrowed, "  ")
				}
				if st.Result != nil {
					render.PrintResult(w, *st.Result)
				} else if len(st.Units) > 0 {
					fmt.Fprintln(w, "consistency units:")
					render.PrintUnits(w, st.Units, "  ")
				}
				if st.Result == nil && !running {
					fmt.Fprintf(w, "the intent's workflow ended %s without a decision; `cfa audit show %s` shows how far it got\n",
						strings.ToLower(exec.String()), st.IntentID)
				}
			})
			switch {
			case err != nil:
				return err
			case st.Result != nil:
				return decisionResult(st.Result.DecisionState)
			case running:
				return exitError{code: exitRunning}
			default:
				return exitError{code: exitNoDecision}
			}
		},
	}
	cmd.Flags().BoolVar(&proposed, "proposed", false, "print only the proposed signature (YAML) of a replanned intent, for cfa submit -f -")
	return cmd
}

func (c *cli) listCmd() *cobra.Command {
	var limit int
	var pending bool
	cmd := &cobra.Command{
		Use:         "list",
		Short:       "List recent intents and their decisions (--pending: open escalations)",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "intents"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bounds.ListLimit(limit); err != nil {
				return invalid(fmt.Errorf("list: %w", err))
			}
			if pending {
				return c.listPending(cmd, limit)
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			rows, err := store.ListIntents(cmd.Context(), limit)
			if err != nil {
				return err
			}
			return c.emit(rows, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "INTENT\tSUBMITTED\tSTATUS\tMODE\tDECISION\tINPUT")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.IntentID, r.SubmittedAt.Format(time.DateTime), r.Status,
						r.ConfirmationMode, render.Dash(r.DecisionState), truncate(r.Input, 60))
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many intents, 1 to 1000")
	cmd.Flags().BoolVar(&pending, "pending", false, "only intents waiting for an answer, with who may answer and the deadline (from Temporal)")
	return cmd
}

// listPending prints the open escalations, soonest deadline first.
func (c *cli) listPending(cmd *cobra.Command, limit int) error {
	svc, err := c.service(cmd.Context(), false)
	if err != nil {
		return err
	}
	rows, err := svc.PendingEscalations(cmd.Context(), limit)
	if err != nil {
		return err
	}
	return c.emit(rows, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "INTENT\tMODE\tDEADLINE\tTRIGGERS\tMAY ANSWER")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.IntentID, r.Mode, r.Deadline.Format(time.RFC3339),
				truncate(fmt.Sprint(r.Triggers), 50), render.Dash(strings.Join(r.Allowed.Approvers, ",")))
		}
		_ = tw.Flush()
		for _, r := range rows { // after the table: what replans narrowed (ADR 0136)
			if len(r.Narrowed) > 0 {
				fmt.Fprintf(w, "%s ", r.IntentID)
				render.PrintNarrowed(w, r.Narrowed, "")
			}
		}
	})
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
