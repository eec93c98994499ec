package skill

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/lifecycle"
)

// Finding is one trigger an evaluation supports, and why.
type Finding struct {
	Trigger Trigger `json:"trigger"`
	Reason  string  `json:"reason"`
}

// precedence is the order Derive reports triggers in, most severe first:
// what takes a skill out of service before what puts it under observation,
// before what promotes it. Next applies the first the state allows, so
// when one evaluation supports several triggers the most severe wins.
var precedence = []Trigger{
	CriticalViolation, PolicyChange, IDISevereDrift, SchemaDrift,
	IDIDrift, DegradedIFs, HighCost, GateFailed, Recovered, GatePassed,
}

// Derive returns the triggers a step-18 evaluation supports under policy p,
// in precedence order, whatever the skill's state; Next picks the one that
// applies. Over the evaluation window (lifecycle.Evaluate):
//
//	critical_violation  the current execution exposed PII or wrote outside
//	                    its layer, or an earlier one in the window broke
//	                    governance (window IFg < 1 while the current's is 1)
//	policy_change       the policy in force does not approve the current
//	                    execution (policy_compliance 0: a changed bundle or
//	                    a governance invariant's veto)
//	idi_severe_drift    IDI < p.IDIDemotion (0.50)
//	schema_drift        the current execution's output diverged from the
//	                    declared contract (output_contract_adherence < 1)
//	idi_drift           IDI < p.IDIWatchlist (0.75)
//	degraded_ifs        IFs < T2 with at least min_executions in the window
//	                    ("recurring": one bad run is not)
//	high_cost           IFo < T1 with at least min_executions in the window
//	                    ("consistently")
//	gate_failed         the indices no longer meet the gate (IFo < T1, IFs
//	                    < T2, IFg < 1 or IDI < 0.75), the execution cannot
//	                    be reproduced (I8) or a custom signal vetoed it
//	recovered,          the evaluation is eligible: the promotion gate holds
//	gate_passed
//
// promoted, low_reuse, catalog_incompatibility and retire never come from
// an evaluation: promotion persists an artifact and its generation
// metadata, and the others are about time, the catalog or an operator.
func Derive(ev lifecycle.Evaluation, p lifecycle.Policy) ([]Finding, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("derive skill triggers: %w", err)
	}
	th := p.Thresholds
	cur := ev.Current
	window := fmt.Sprintf("over %d executions in %s", ev.Executions, ev.Window)
	enough := ev.Executions >= p.MinExecutions
	found := map[Trigger]string{}

	var contract []string
	if cur.AbsenceOfPIIExposure < 1 {
		contract = append(contract, "absence_of_pii_exposure 0")
	}
	if cur.LayerAdherence < 1 {
		contract = append(contract, "layer_adherence 0")
	}
	switch {
	case len(contract) > 0:
		found[CriticalViolation] = "the current execution violated its contract: " + strings.Join(contract, ", ")
	case ev.IFg < th.IFg && cur.IFg >= th.IFg:
		found[CriticalViolation] = fmt.Sprintf("IFg %s %s: an earlier execution broke governance", num(ev.IFg), window)
	}
	if cur.PolicyCompliance < 1 {
		found[PolicyChange] = "policy_compliance 0: the policy in force does not approve the current execution"
	}
	if ev.IDI < p.IDIDemotion {
		found[IDISevereDrift] = fmt.Sprintf("IDI %s < %s %s", num(ev.IDI), num(p.IDIDemotion), window)
	}
	if cur.OutputContractAdherence < 1 {
		found[SchemaDrift] = fmt.Sprintf("output_contract_adherence %s: the output diverged from the declared contract", num(cur.OutputContractAdherence))
	}
	if ev.IDI < p.IDIWatchlist {
		found[IDIDrift] = fmt.Sprintf("IDI %s < %s %s", num(ev.IDI), num(p.IDIWatchlist), window)
	}
	if enough && ev.IFs < th.IFs {
		found[DegradedIFs] = fmt.Sprintf("IFs %s < %s %s", num(ev.IFs), num(th.IFs), window)
	}
	if enough && ev.IFo < th.IFo {
		found[HighCost] = fmt.Sprintf("IFo %s < %s %s", num(ev.IFo), num(th.IFo), window)
	}
	if r := gateFailure(ev, p); r != "" {
		found[GateFailed] = r
	}
	if ev.Eligible {
		r := fmt.Sprintf("%s: IFo %s >= %s, IFs %s >= %s, IFg %s, IDI %s, %d successful executions in %s",
			ev.Reason, num(ev.IFo), num(th.IFo), num(ev.IFs), num(th.IFs), num(ev.IFg), num(ev.IDI), ev.SuccessfulExecutions, ev.Window)
		found[Recovered], found[GatePassed] = r, r
	}

	out := make([]Finding, 0, len(found))
	for _, t := range precedence {
		if r, ok := found[t]; ok {
			out = append(out, Finding{Trigger: t, Reason: r})
		}
	}
	return out, nil
}

// gateFailure says why a candidate's evidence no longer meets the gate, or
// "". Too few executions in the window is not a failure: the candidate
// proved itself, and disuse is low_reuse's.
func gateFailure(ev lifecycle.Evaluation, p lifecycle.Policy) string {
	th := p.Thresholds
	var why []string
	if ev.Reason == lifecycle.ReasonNotReproducible {
		why = append(why, "the execution cannot be reproduced (I8)")
	}
	if strings.HasPrefix(ev.Reason, lifecycle.ReasonSignalVeto) {
		why = append(why, ev.Reason)
	}
	if ev.IFo < th.IFo {
		why = append(why, fmt.Sprintf("IFo %s < %s", num(ev.IFo), num(th.IFo)))
	}
	if ev.IFs < th.IFs {
		why = append(why, fmt.Sprintf("IFs %s < %s", num(ev.IFs), num(th.IFs)))
	}
	if ev.IFg < th.IFg {
		why = append(why, fmt.Sprintf("IFg %s < %s", num(ev.IFg), num(th.IFg)))
	}
	if ev.IDI < p.IDIWatchlist {
		why = append(why, fmt.Sprintf("IDI %s < %s", num(ev.IDI), num(p.IDIWatchlist)))
	}
	if len(why) == 0 {
		return ""
	}
	return strings.Join(why, ", ") + fmt.Sprintf(" over %d executions in %s", ev.Executions, ev.Window)
}

// Next returns the first finding whose trigger applies to a skill in state
// from, and the state it leads to; false when none applies (the skill stays
// where it is). Given Derive's order, the most severe applicable trigger
// wins and one evaluation moves a skill at most once.
func Next(from State, fs []Finding) (Finding, State, bool) {
	for _, f := range fs {
		if to, err := Transition(from, f.Trigger); err == nil {
			return f, to, true
		}
	}
	return Finding{}, "", false
}

// num prints a score as the evaluation rounds it (at most four decimals),
// without trailing zeros: 0.9, 0.8667, 1.
func num(v float64) string { return fmt.Sprintf("%.4g", v) }
