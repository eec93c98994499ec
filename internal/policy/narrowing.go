package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/signature"
)

// Nothing narrowed silently (docs/adr/0136): a replan that changes what
// the user explicitly asked (what the confirmed signature carried) makes
// an approved intent approved_with_warnings, each change named in words.

// CodeIntentNarrowed is the advisory fault of a change a replan made to
// what the user asked.
const CodeIntentNarrowed = "INTENT_NARROWED_BY_REPLAN"

// ReasonNarrowedByReplan is the reason of the narrowing vote.
const ReasonNarrowedByReplan = "narrowed_by_replan"

// Replanning is one replan: the replan number it produced, the authority
// that asked for it (the Policy Engine's rules, or the Pre-cost
// Estimator's threshold_policy through ReplanWith), why (the rules as
// "policy_type.rule", or "pre_cost_estimator.threshold_policy"), and what
// it changed of the signature it replanned (signature.Diff).
type Replanning struct {
	Replan  int                `json:"replan"`
	By      decision.Authority `json:"by"`
	Cause   string             `json:"cause"`
	Changes []signature.Change `json:"changes,omitempty"`
}

// Replannings are the run's replans, in order.
func (g Governance) Replannings() []Replanning {
	var out []Replanning
	for _, at := range g.Attempts {
		if at.Replanned != nil {
			out = append(out, *at.Replanned)
		}
	}
	return out
}

// ruleReplanning is the replan a governance loop made of cur after ev.
func ruleReplanning(cur, next signature.Signature, ev Evaluation) *Replanning {
	var rules []string
	for _, r := range ev.Fired {
		if r.Action == Replan {
			rules = append(rules, string(r.PolicyType)+"."+r.Name)
		}
	}
	return &Replanning{Replan: next.Replan, By: decision.AuthorityPolicyEngine, Cause: strings.Join(rules, ", "), Changes: signature.Diff(cur, next)}
}

// requestedReplanning is the replan ReplanWith made for a stage after the
// Policy Engine: cause's stage asked for it, under cause's rule (the text
// before a colon: "threshold_policy").
func requestedReplanning(sig, next signature.Signature, cause fault.Fault) *Replanning {
	by := decision.AuthorityPolicyEngine
	if cause.Stage == fault.StagePreCostEstimator {
		by = decision.AuthorityPreCostEstimator
	}
	rule, _, _ := strings.Cut(cause.Rule, ":")
	name := string(by)
	if rule = strings.TrimSpace(rule); rule != "" {
		name += "." + rule
	} else if cause.Code != "" {
		name += "." + cause.Code
	}
	return &Replanning{Replan: next.Replan, By: by, Cause: name, Changes: signature.Diff(sig, next)}
}

// Narrowing is one change of what the user asked, from the confirmed
// signature to the one governed last, with the replans that made it.
type Narrowing struct {
	signature.Change
	// Replans and Causes are the replans that changed the field and why;
	// By is the authority of the first of them.
	Replans []int              `json:"replans,omitempty"`
	Causes  []string           `json:"causes,omitempty"`
	By      decision.Authority `json:"by"`
	// Warning is the change as the decision and the escalation say it.
	Warning string `json:"warning"`
}

// Narrowed compares what the user asked (the signature step 5 confirmed)
// with the final one (signature.Diff) and attributes each change to the
// replans whose own changes touched the same field. Nothing the user left
// to the defaults is reported (docs/adr/0136). Pure: the workflow and the
// replay compute the same narrowings from the same inputs (I8).
func Narrowed(asked, final signature.Signature, replans []Replanning) []Narrowing {
	changes := signature.Diff(asked, final)
	if len(changes) == 0 {
		return nil
	}
	out := make([]Narrowing, 0, len(changes))
	for _, c := range changes {
		n := Narrowing{Change: c}
		for _, r := range replans {
			if !slices.ContainsFunc(r.Changes, func(x signature.Change) bool { return x.Field == c.Field }) || slices.Contains(n.Replans, r.Replan) {
				continue
			}
			n.Replans = append(n.Replans, r.Replan)
			if r.Cause != "" && !slices.Contains(n.Causes, r.Cause) {
				n.Causes = append(n.Causes, r.Cause)
			}
			if n.By == "" {
				n.By = r.By
			}
		}
		if n.By == "" {
			n.By = decision.AuthorityPolicyEngine
		}
		n.Warning = n.text()
		out = append(out, n)
	}
	return out
}

// text: "temporal window narrowed by replan 2
// (pre_cost_estimator.threshold_policy): last 400 days → last 60 days".
func (n Narrowing) text() string {
	by := "by a replan"
	if len(n.Replans) > 0 {
		nums := make([]string, len(n.Replans))
		for i, r := range n.Replans {
			nums[i] = fmt.Sprint(r)
		}
		by = "by replan " + strings.Join(nums, " and ")
		if len(nums) > 1 {
			by = "by replans " + strings.Join(nums, " and ")
		}
	}
	if len(n.Causes) > 0 {
		by += " (" + strings.Join(n.Causes, "; ") + ")"
	}
	return fmt.Sprintf("%s %s %s: %s → %s", n.What(), n.Change.Change, by, n.Before, n.After)
}

// NarrowingVote is the vote of the replans that narrowed what the user
// asked: approved_with_warnings, one advisory INTENT_NARROWED_BY_REPLAN
// fault per change, cast by the authority of the earliest of them. ok is
// false when nothing was narrowed. Under strictest_outcome it turns an
// approved intent approved_with_warnings and leaves a stricter outcome
// as it is, its faults still listed.
func NarrowingVote(ns []Narrowing) (v decision.Vote, ok bool) {
	if len(ns) == 0 {
		return decision.Vote{}, false
	}
	first := ns[0]
	for _, n := range ns[1:] {
		if len(n.Replans) > 0 && (len(first.Replans) == 0 || slices.Min(n.Replans) < slices.Min(first.Replans)) {
			first = n
		}
	}
	v = decision.Vote{Authority: first.By, Outcome: decision.ApprovedWithWarnings, Reason: ReasonNarrowedByReplan}
	for _, n := range ns {
		v.Faults = append(v.Faults, fault.Fault{
			Code: CodeIntentNarrowed, Family: fault.SemanticFaults, Severity: fault.SeverityLow, Stage: fault.Stage(n.By),
			DetectedBeforeExecution: true, MandatoryAction: MandatoryNone, Rule: strings.Join(n.Causes, ", "), Message: n.Warning,
			Remediation: []string{
				"If the narrower request is what you want, resubmit it stating it (the warning then goes away)",
				"If it is not, split the intent or ask the owner of " + orReplan(n.Causes) + " to allow it (for cost: cost_ceiling_dbu through the FinOps owner)",
			},
		})
	}
	return v, true
}

func orReplan(causes []string) string {
	if len(causes) == 0 {
		return "the replan"
	}
	return strings.Join(causes, ", ")
}
