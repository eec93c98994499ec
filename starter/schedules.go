package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
)

// scheduleCmd is `cfa schedule`: recurring governed intents on Temporal
// Schedules (docs/adr/0124) and their standing approvals (0125).
func (c *cli) scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Scheduled recurring pipelines: one governed intent per period (docs/adr/0124)",
		Long: `A schedule is a Temporal Schedule (` + service.SchedulePrefix + `NAME) that starts one governed
intent per period: its own intent id (` + service.ScheduledIntentPrefix + `NAME-<scheduled time>), the
correlation id schedule:NAME, and as_of the scheduled day (a backfilled run is
resolved as of its own day). Every run goes through the whole flow: policies,
cost, plan, static validation, lock, revalidation, execution, decision.

A period whose previous run is still going is skipped (overlap SKIP): a run
never queues behind its own predecessor on the scope lock. A backfill runs
every period of its range, one after another.

A run that needs a person waits for one as any intent does. The first
approval may be given as standing (cfa approve ID --standing): later runs
whose signature, policy bundle and catalog snapshot are the same skip the
wait until it expires (docs/adr/0125); any difference asks again.`,
	}
	cmd.AddCommand(c.scheduleCreateCmd(), c.scheduleListCmd(), c.scheduleDescribeCmd(), c.schedulePauseCmd(true), c.schedulePauseCmd(false),
		c.scheduleTriggerCmd(), c.scheduleBackfillCmd(), c.scheduleDeleteCmd())
	return cmd
}

func (c *cli) scheduleService(ctx context.Context) (*service.Service, error) {
	return c.service(ctx, true)
}

func byOrUser(by string) string {
	if by == "" {
		return os.Getenv("USER")
	}
	return by
}

func (c *cli) scheduleCreateCmd() *cobra.Command {
	var (
		req       service.ScheduleRequest
		by        string
		file      string
		timeout   time.Duration
		unitRetry time.Duration
	)
	cmd := &cobra.Command{
		Use:   `create NAME (--cron EXPR | --every DURATION) ("intent text" | --skill ID | -f signature.yaml)`,
		Short: "Create a schedule that submits one governed intent per period",
		Example: `  cfa schedule create nightly-nfe --cron "0 6 * * *" "reconcile nfe with clientes and persist to silver"
  cfa schedule create hourly-sales --every 1h --skill 3f2a9c01
  cfa schedule create docs --every 24h -f signature.yaml --cost-ceiling 30`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if len(args) == 2 {
				req.Text = args[1]
			}
			if file != "" {
				sig, err := readSignature(file, cmd.InOrStdin())
				if err != nil {
					return invalid(err)
				}
				req.Signature = sig
			}
			if err := checkRunFlags(unitRetry, timeout, req.CostCeilingDBU, ""); err != nil {
				return err
			}
			req.EscalationTimeoutSeconds, req.UnitRetryBaseSeconds = int(timeout/time.Second), int(unitRetry/time.Second)
			req.By = service.Caller{ID: byOrUser(by), AuthContext: "cli"}
			if err := req.Validate(); err != nil {
				return err
			}
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			sch, err := svc.CreateSchedule(cmd.Context(), req)
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(sch, func(w io.Writer) {
				fmt.Fprintf(w, "schedule %s created (%s, Temporal Schedule %s)\n", sch.Name, specOf(sch), sch.TemporalID)
				if sch.SkillID != "" {
					fmt.Fprintf(w, "bound to skill %s\n", shortSkill(sch.SkillID))
				}
				fmt.Fprintf(w, "each run: correlation id schedule:%s, submitted by %s; `cfa schedule describe %s` shows the runs\n", sch.Name, sch.CreatedBy, sch.Name)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Cron, "cron", "", `cron expression, UTC ("0 6 * * *": daily at 06:00)`)
	f.DurationVar(&req.Every, "every", 0, "interval between runs (e.g. 24h, 15m)")
	f.StringVar(&req.Skill, "skill", "", "run the keyed signature of this skill (id or its first 8+ hex digits; `cfa skill list`)")
	f.StringVarP(&file, "file", "f", "", "run this structured signature (YAML or JSON); - reads standard input")
	f.StringVar(&by, "by", "", "who creates it (default $USER); every run is submitted as them")
	f.StringVar(&req.Reason, "reason", "", "why (recorded in the audit trail)")
	f.DurationVar(&timeout, "escalation-timeout", 0, "human escalation timeout of each run, 1s to 168h (default 300s)")
	f.Float64Var(&req.CostCeilingDBU, "cost-ceiling", 0, "cost_ceiling_dbu of each run, at most 10000 (default 50)")
	f.StringVar(&req.PartialFailureMode, "partial-failure-mode", "", "selective_quarantine (default), full_rollback, partial_commit_no_publish or degraded_publish")
	f.StringVar(&req.OnConflict, "on-conflict", "", "when another intent holds the target scope: queue (default) or reject")
	f.DurationVar(&unitRetry, "unit-retry-base", 0, "backoff base before a failed consistency unit is retried, 1s to 1h (default 30s)")
	f.StringVar(&req.ReplanMode, "replan-mode", "", "auto (default) or propose")
	f.BoolVar(&req.DryRun, "dry-run", false, "each run stops after static validation: cost, plan and code, nothing runs")
	return cmd
}

func specOf(s db.Schedule) string {
	if s.Cron != "" {
		return "cron " + s.Cron
	}
	return "every " + s.Every
}

func (c *cli) scheduleListCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:         "list [--limit N]",
		Annotations: receipt(audit.ActionRead, "schedules"),
		Short:       "List the schedules: state, spec, next and last run",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return invalid(fmt.Errorf("schedule list: --limit %d: give 1 to 1000", limit))
			}
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			list, err := svc.ListSchedules(cmd.Context(), limit)
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(list, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no schedule: `cfa schedule create --help` says how to make one")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTATE\tSPEC\tNEXT RUN\tLAST RUN\tSKILL\tINPUT")
				for _, s := range list {
					next, last := "-", "-"
					if s.NextRun != nil {
						next = s.NextRun.Format(time.RFC3339)
					}
					if s.LastRun != nil {
						last = s.LastRun.IntentID
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, specOf(s.Schedule), next, last,
						render.Dash(shortSkill(s.SkillID)), truncate(s.Source+": "+s.Input, 50))
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many schedules (1 to 1000)")
	return cmd
}

func (c *cli) scheduleDescribeCmd() *cobra.Command {
	var runs int
	cmd := &cobra.Command{
		Use:         "describe NAME [--runs N]",
		Annotations: receipt(audit.ActionRead, "schedule:{0}"),
		Short:       "Show a schedule: spec, state, next runs, the last runs with their decisions, standing approvals",
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 100 {
				return invalid(fmt.Errorf("schedule describe: --runs %d: give 1 to 100", runs))
			}
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			d, err := svc.DescribeSchedule(cmd.Context(), args[0], runs)
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(d, func(w io.Writer) { printSchedule(w, d) })
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 10, "how many of the last runs to show (1 to 100)")
	return cmd
}

func printSchedule(w io.Writer, d service.ScheduleDescription) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "schedule\t%s (Temporal Schedule %s)\n", d.Name, d.TemporalID)
	state := d.State
	if d.Note != "" && d.State != service.ScheduleActive {
		state += ": " + d.Note
	}
	fmt.Fprintf(tw, "state\t%s\n", state)
	fmt.Fprintf(tw, "spec\t%s, overlap %s, catch-up window %s\n", specOf(d.Schedule), render.Dash(d.Overlap), render.Dash(d.CatchupWindow))
	fmt.Fprintf(tw, "runs\t%s: %s\n", d.Source, truncate(d.Input, 80))
	fmt.Fprintf(tw, "options\t%s\n", string(d.Options))
	fmt.Fprintf(tw, "skill\t%s\n", render.Dash(d.SkillID))
	fmt.Fprintf(tw, "created\t%s by %s\n", d.CreatedAt.Format(time.RFC3339), d.CreatedBy)
	fmt.Fprintf(tw, "actions\t%d taken, %d skipped (overlap)\n", d.Actions, d.SkippedOverlap)
	_ = tw.Flush()
	if len(d.NextRuns) > 0 && d.State == service.ScheduleActive {
		fmt.Fprintln(w, "next runs:")
		for _, t := range d.NextRuns[:min(len(d.NextRuns), 5)] {
			fmt.Fprintf(w, "  %s\n", t.Format(time.RFC3339))
		}
	}
	if len(d.Running) > 0 {
		fmt.Fprintf(w, "running: %s\n", strings.Join(d.Running, ", "))
	}
	if len(d.Runs) == 0 {
		fmt.Fprintln(w, "no run yet")
	} else {
		fmt.Fprintln(w, "last runs (intents index):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  INTENT\tSUBMITTED\tSTATUS\tMODE\tDECISION")
		for _, r := range d.Runs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.IntentID, r.SubmittedAt.Format(time.RFC3339), r.Status, render.Dash(r.Mode), render.Dash(r.DecisionState))
		}
		_ = tw.Flush()
	}
	if len(d.Standing) > 0 {
		fmt.Fprintln(w, "standing approvals:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tBY\tSKILL\tBUNDLE\tCATALOG\tEXPIRES\tSTATE")
		for _, a := range d.Standing {
			st := "in force"
			switch {
			case a.RevokedAt != nil:
				st = "revoked: " + a.RevokeReason
			case !time.Now().Before(a.ExpiresAt):
				st = "expired"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.ApprovedBy.ID, shortSkill(a.SkillID), a.PolicyBundleVersion,
				a.CatalogSnapshotVersion, a.ExpiresAt.Format(time.RFC3339), st)
		}
		_ = tw.Flush()
	}
}

func (c *cli) schedulePauseCmd(pause bool) *cobra.Command {
	var by, reason string
	use, short := "unpause NAME", "Resume a paused schedule"
	if pause {
		use, short = "pause NAME [--reason TEXT]", "Pause a schedule: no period runs until it is unpaused (runs in progress go on)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			caller := service.Caller{ID: byOrUser(by), AuthContext: "cli"}
			var sch db.Schedule
			if pause {
				sch, err = svc.PauseSchedule(cmd.Context(), args[0], reason, caller)
			} else {
				sch, err = svc.UnpauseSchedule(cmd.Context(), args[0], reason, caller)
			}
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(sch, func(w io.Writer) {
				if pause {
					fmt.Fprintf(w, "schedule %s paused: %s\n", sch.Name, sch.PausedReason)
				} else {
					fmt.Fprintf(w, "schedule %s unpaused\n", sch.Name)
				}
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who does it (default $USER; recorded in the audit trail)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (Temporal's note on the schedule, and the audit trail)")
	return cmd
}

func (c *cli) scheduleTriggerCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Start one run now (after the running one, if one runs), as of today",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.TriggerSchedule(cmd.Context(), args[0], reason, service.Caller{ID: byOrUser(by), AuthContext: "cli"}); err != nil {
				return scheduleError(err)
			}
			return c.emit(map[string]string{"schedule": args[0], "triggered": "true"}, func(w io.Writer) {
				fmt.Fprintf(w, "schedule %s triggered: `cfa schedule describe %s` shows the run\n", args[0], args[0])
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who does it (default $USER; recorded in the audit trail)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit trail)")
	return cmd
}

func (c *cli) scheduleBackfillCmd() *cobra.Command {
	var by, from, to string
	cmd := &cobra.Command{
		Use:   "backfill NAME --from DATE --to DATE",
		Short: "Run one governed intent per period of the schedule in the days from..to (UTC, inclusive), each as of its day",
		Example: `  cfa schedule backfill nightly-nfe --from 2026-01-01 --to 2026-01-03   # a daily schedule: three runs,
                                                                    # as of 2026-01-01, -02 and -03`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := service.ParseBackfill(from, to); err != nil {
				return err
			}
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			b, err := svc.BackfillSchedule(cmd.Context(), args[0], from, to, service.Caller{ID: byOrUser(by), AuthContext: "cli"})
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(map[string]any{"schedule": args[0], "from": from, "to": to, "runs": b.Runs}, func(w io.Writer) {
				fmt.Fprintf(w, "schedule %s backfilled from %s to %s: up to %d runs, one after another; `cfa schedule describe %s` shows them\n",
					args[0], from, to, b.Runs, args[0])
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who does it (default $USER; recorded in the audit trail)")
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (UTC)")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD (UTC), inclusive")
	return cmd
}

func (c *cli) scheduleDeleteCmd() *cobra.Command {
	var by, reason string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a schedule and revoke its standing approvals (runs in progress go on to their decision)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := c.scheduleService(cmd.Context())
			if err != nil {
				return err
			}
			revoked, err := svc.DeleteSchedule(cmd.Context(), args[0], reason, service.Caller{ID: byOrUser(by), AuthContext: "cli"})
			if err != nil {
				return scheduleError(err)
			}
			return c.emit(map[string]any{"schedule": args[0], "deleted": true, "revoked_standing_approvals": revoked}, func(w io.Writer) {
				fmt.Fprintf(w, "schedule %s deleted", args[0])
				if len(revoked) > 0 {
					fmt.Fprintf(w, "; standing approvals revoked: %s", strings.Join(revoked, ", "))
				}
				fmt.Fprintln(w)
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who does it (default $USER; recorded in the audit trail)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit trail)")
	return cmd
}

// scheduleError gives a schedule error its code and what to do.
func scheduleError(err error) error {
	switch {
	case errors.Is(err, db.ErrScheduleNotFound):
		return &failure{code: codeNotFound, exit: exitFailure, err: err, fix: "check the name: `cfa schedule list` shows the schedules"}
	case errors.Is(err, db.ErrScheduleExists):
		return &failure{code: codeInvalidInput, exit: exitFailure, err: err, fix: "pick another name, or delete the schedule first (`cfa schedule delete NAME`)"}
	case errors.Is(err, db.ErrSkillNotFound):
		return &failure{code: codeNotFound, exit: exitFailure, err: err, fix: "check the skill id: `cfa skill list` shows the skills"}
	}
	return err
}
