// Package render prints the results of intents for people: what `cfa
// status`, `cfa submit --wait` and `cfa-demo run` show.
package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/contextualflux/cfa/workflows"
)

// PrintComposite prints a composite intent's decision and its sub-intents.
func PrintComposite(w io.Writer, r workflows.CompositeResult) {
	fmt.Fprintf(w, "composite %s: %s (decided by %s)\n", r.RootIntent, r.DecisionState, r.DecidedBy)
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	for i, l := range r.Levels {
		fmt.Fprintf(w, "  level %d: %s\n", i, strings.Join(l, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SUB-INTENT\tORDER\tSTATE\tDECISION\tPLAN\tCODE")
	for _, o := range r.SubIntents {
		dec, plan, code := "-", "-", "-"
		if o.Result != nil {
			dec = string(o.Result.DecisionState)
			plan, code = Short(o.Result.PlanHash), Short(o.Result.CodeHash)
		}
		order := "-"
		if o.Order > 0 {
			order = fmt.Sprint(o.Order)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", o.ID, order, o.State, dec, plan, code)
	}
	_ = tw.Flush()
	for _, o := range r.SubIntents {
		if o.Reason != "" {
			fmt.Fprintf(w, "  %s: %s\n", o.ID, o.Reason)
		}
	}
}

// Short is the first 12 characters of a hash, "-" for none.
func Short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return Dash(h)
}

// PrintResult prints an intent's decision and what led to it.
func PrintResult(w io.Writer, r workflows.IntentResult) {
	fmt.Fprintf(w, "decision: %s (decided by %s)\n", r.DecisionState, r.DecidedBy)
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	if r.SignatureHash != "" {
		fmt.Fprintf(w, "  intent_signature_hash: %s\n", r.SignatureHash)
	}
	if res := r.Resolution; res != nil && res.Resolved {
		fmt.Fprintf(w, "  confidence %.2f, ambiguity %s, confirmation %s\n", res.ConfidenceScore, res.AmbiguityLevel, res.ConfirmationMode)
		for _, c := range res.EnvironmentConstraintsInjected {
			fmt.Fprintf(w, "  constraint injected: %s\n", c)
		}
	}
	if cf := r.Confirmation; cf != nil && cf.Outcome != workflows.ConfirmationNotRequired {
		fmt.Fprintf(w, "  confirmation: %s %s %s\n", cf.Outcome, cf.By, cf.Reason)
		if cf.Interpretation != "" {
			fmt.Fprintf(w, "  interpretation chosen by %s: %s\n", cf.By, cf.Interpretation)
		}
		for _, c := range cf.Conflicts {
			fmt.Fprintf(w, "  soft confirmation escalated by: %s\n", c)
		}
		if cf.Shown != "" {
			fmt.Fprintf(w, "  signature shown: %s\n", cf.Shown)
		}
	}
	for _, at := range r.PolicyAttempts {
		codes := make([]string, 0, len(at.Faults))
		for _, f := range at.Faults {
			codes = append(codes, f.Code)
		}
		fmt.Fprintf(w, "  policy attempt %d: %s %s", at.Replan, at.Outcome, strings.Join(codes, ","))
		if len(at.Interventions) > 0 {
			fmt.Fprintf(w, " -> interventions %s", strings.Join(at.Interventions, ","))
		}
		fmt.Fprintln(w)
	}
	if r.Replans > 0 {
		fmt.Fprintf(w, "  replans: %d\n", r.Replans)
	}
	if r.Proposed != nil {
		fmt.Fprintf(w, "  proposed signature (replan %d): %s (cfa status %s --proposed)\n  next cycle: cfa submit --from-proposal %s\n",
			r.Proposed.Replan, r.ProposedHash, r.IntentID, r.IntentID)
	}
	if pc := r.PreCost; pc != nil {
		fmt.Fprintf(w, "  pre-cost: %.2f DBU of a %.0f DBU ceiling, shuffle %.1f GB, risk %.2f, confidence %.2f (%s): %s\n",
			pc.Estimate.EstimatedDBU, pc.Verdict.CostCeilingDBU, pc.Estimate.EstimatedShuffleGB, pc.Estimate.CostRiskScore,
			pc.Estimate.Confidence, pc.Estimate.Basis, pc.Verdict.Action)
	}
	if cf := r.CostConfirmation; cf != nil {
		fmt.Fprintf(w, "  cost confirmation: %s %s %s\n", cf.Outcome, cf.By, cf.Reason)
	}
	if r.PlanHash != "" {
		fmt.Fprintf(w, "  plan: %s (consistency_unit %s)\n", r.PlanHash, r.ConsistencyUnit)
	}
	if r.CodeHash != "" {
		fmt.Fprintf(w, "  code: %s\n", r.CodeHash)
	}
	if st := r.Static; st != nil {
		if st.Passed {
			fmt.Fprintln(w, "  static validation: passed")
		} else {
			fmt.Fprintf(w, "  static validation: blocked by %s\n", strings.Join(st.Violated, ", "))
		}
	}
	if r.PlanHash != "" {
		fmt.Fprintf(w, "  see: cfa plan %s · cfa code %s\n", r.IntentID, r.IntentID)
	}
	if ex := r.Execution; ex != nil {
		PrintExecution(w, *ex)
	}
	if rd := r.Result; rd != nil {
		PrintRead(w, *rd)
	}
	if pr := r.Promotion; pr != nil {
		fmt.Fprintf(w, "  promotion: %s (%s): IFo %.2f, IFs %.2f, IFg %.0f, IDI %.2f; %d of %d executions of the skill successful in %s\n",
			pr.Outcome, pr.Reason, pr.IFo, pr.IFs, pr.IFg, pr.IDI, pr.SuccessfulExecutions, pr.Executions, pr.Window)
	}
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  fault %s (%s, %s): %s\n", f.Code, f.Family, f.Severity, f.Message)
	}
}

// PrintExecution prints steps 11–16 of an executed intent.
func PrintExecution(w io.Writer, ex workflows.ExecutionSummary) {
	queued := ""
	if ex.Queued {
		queued = ", after waiting in the queue"
	}
	if ex.StaleReplans > 0 {
		queued += fmt.Sprintf(", after %d stale_environment_state replan(s)", ex.StaleReplans)
	}
	fmt.Fprintf(w, "  execution: %d scopes locked (%s … )%s\n", len(ex.Scopes), FirstOf(ex.Scopes), queued)
	PrintUnits(w, ex.Units, "  ")
	if st := ex.PartialExecutionState; st != nil {
		fmt.Fprintf(w, "  partial_execution_state: %s, mode %s, publish_allowed %v\n", st.OverallState, st.ConsistencyPolicy.Mode, st.ConsistencyPolicy.PublishAllowed)
	}
	if ex.Panic != nil {
		fmt.Fprintf(w, "  PANIC_ROLLBACK_TRIGGERED (%s): %s; nothing projected\n", ex.Panic.Trigger, ex.Panic.Reason)
	}
	if ex.RegistryVersionID != "" {
		fmt.Fprintf(w, "  projected: registry %s\n", ex.RegistryVersionID)
	}
}

// PrintUnits prints the consistency units as a table.
func PrintUnits(w io.Writer, units []workflows.UnitState, indent string) {
	if len(units) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%sUNIT\tSTATE\tATTEMPTS\tROWS\tERROR\n", indent)
	for _, u := range units {
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%d\t%s\n", indent, u.Key, u.State, u.Attempts, u.RowsOut, Dash(u.ErrorCode))
	}
	_ = tw.Flush()
}

// FirstOf is the first element, "-" for none.
func FirstOf(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return s[0]
}

// Dash is s, or "-" when empty.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
