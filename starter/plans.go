package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/internal/service"
)

func (c *cli) loadPlan(cmd *cobra.Command, intentID string) (service.PlanView, error) {
	store, err := c.openStore(cmd.Context())
	if err != nil {
		return service.PlanView{}, err
	}
	rec, err := store.GetPlan(cmd.Context(), intentID)
	if err != nil {
		return service.PlanView{}, err
	}
	return service.DecodePlan(rec)
}

func (c *cli) planCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plan INTENT_ID",
		Short: "Show an intent's pre-cost estimate, execution plan and static validation result",
		Long: `Show steps 8–10 of an intent: the Pre-cost Estimator's estimate and verdict,
the Execution Planner's DAG and the Static Validation report.
With -o json it prints the execution plan exactly as hashed, the form
submit --plan accepts.`,
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "plan:intent/{0}", "intent:{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			if c.json() {
				if v.Plan == nil {
					return fmt.Errorf("intent %s has no plan: the Execution Planner refused it (see `cfa audit show %s`)", args[0], args[0])
				}
				var out bytes.Buffer
				if err := json.Indent(&out, v.Record.Plan, "", "  "); err != nil {
					return fmt.Errorf("format plan of intent %s: %w", args[0], err)
				}
				out.WriteByte('\n')
				_, err := c.out.Write(out.Bytes())
				return err
			}
			printPlan(c.out, v)
			return nil
		},
	}
}

func printPlan(w io.Writer, v service.PlanView) {
	e, vd := v.PreCost.Estimate, v.PreCost.Verdict
	fmt.Fprintf(w, "intent_signature_hash: %s\n", v.Record.SignatureHash)
	fmt.Fprintf(w, "pre-cost: estimated_dbu %.2f (ceiling %.0f), estimated_shuffle_gb %.1f, cost_risk_score %.2f, confidence %.2f, basis %s, history_runs %d\n",
		e.EstimatedDBU, vd.CostCeilingDBU, e.EstimatedShuffleGB, e.CostRiskScore, e.Confidence, e.Basis, e.HistoryRuns)
	fmt.Fprintf(w, "  model: scan %.1f GiB, anonymize %.1f GiB, shuffle %.1f GiB, write %.1f GiB → %.2f DBU\n",
		e.Model.ScanGiB, e.Model.AnonymizeGiB, e.Model.ShuffleGiB, e.Model.WriteGiB, e.Model.DBU)
	fmt.Fprintf(w, "  verdict: %s: %s\n", vd.Action, vd.Reason)
	if v.Plan == nil {
		if v.Record.ReadOnly {
			fmt.Fprintln(w, "plan: none, a read-only intent writes nothing (docs/adr/0077)")
		} else {
			fmt.Fprintln(w, "plan: none, the Execution Planner refused the signature (see the audit trail)")
		}
		return
	}
	p := v.Plan
	target := fmt.Sprintf("%s (%s)", p.Target, p.TargetLayer)
	if q, ok := p.QueryStep(); ok && p.Read() {
		target = fmt.Sprintf("rows of a read (docs/adr/0132), at most %d", q.Params.Query.Limit)
	}
	fmt.Fprintf(w, "plan: %s\n  intent %s → %s, strategy %s, consistency_unit %s (%s)\n",
		p.Hash, p.Intent, target, p.Strategy, p.ConsistencyUnit, p.ConsistencyRule)
	if p.Window != nil {
		fmt.Fprintf(w, "  window: %s in [%s, %s)\n", p.Window.Column, render.Dash(p.Window.From), render.Dash(p.Window.To))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tKIND\tDATASET\tINPUTS\tIDEMPOTENCE")
	for _, s := range p.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.Dataset, render.Dash(strings.Join(s.Inputs, ",")), s.Idempotence)
	}
	_ = tw.Flush()
	if len(p.Contract.ExpectedColumns)+len(p.Contract.ForbiddenColumns) > 0 {
		fmt.Fprintf(w, "  contract: expected %v, forbidden %v\n", p.Contract.ExpectedColumns, p.Contract.ForbiddenColumns)
	}
	if v.Record.CodeHash != "" {
		fmt.Fprintf(w, "code: %s (cfa code %s)\n", v.Record.CodeHash, v.Record.IntentID)
	}
	switch st := v.Static; {
	case st == nil:
	case st.Passed:
		fmt.Fprintln(w, "static validation: passed")
	default:
		fmt.Fprintln(w, "static validation: blocked")
		for _, x := range st.Violations {
			fmt.Fprintf(w, "  %s at byte %d: %s\n", x.Rule, x.Location, x.Message)
		}
	}
	if v.Record.DryRun {
		fmt.Fprintln(w, "dry run: stopped after static validation")
	}
}

func (c *cli) codeCmd() *cobra.Command {
	var backend string
	cmd := &cobra.Command{
		Use:         "code INTENT_ID",
		Short:       "Show the code generated for an intent (Postgres SQL, or the dbt artifact)",
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "code:intent/{0}", "intent:{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.loadPlan(cmd, args[0])
			if err != nil {
				return err
			}
			if len(v.Code) == 0 {
				return fmt.Errorf("intent %s has no generated code: planning stopped before code generation (see `cfa plan %s`)", args[0], args[0])
			}
			var names []string
			for _, art := range v.Code {
				names = append(names, art.Backend)
				if art.Backend != backend {
					continue
				}
				return c.emit(art, func(w io.Writer) {
					for _, f := range art.Files {
						fmt.Fprintf(w, "-- file: %s\n%s", f.Path, f.Content)
						if !strings.HasSuffix(f.Content, "\n") {
							fmt.Fprintln(w)
						}
					}
				})
			}
			return invalid(fmt.Errorf("no %q artifact for intent %s; --backend is one of %s", backend, args[0], strings.Join(names, ", ")))
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "postgres", "which artifact: postgres (the code that runs) or dbt")
	return cmd
}
