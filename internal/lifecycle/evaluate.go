package lifecycle

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/contextualflux/cfa/internal/decision"
)

// Outcomes of a promotion_evaluation (the audit example's outcome: key).
const (
	OutcomeEligible    = "eligible"
	OutcomeNotEligible = "not_eligible"
)

// Reasons, in the order Evaluate checks them: the first that applies wins.
const (
	// I8: the execution cannot be re-run exactly, so the skill is
	// permanently blocked from promotion.
	ReasonNotReproducible = "not_reproducible"
	// The current execution ran no unit: there is nothing to promote.
	ReasonNotExecuted = "not_executed"
	// The current execution is not complete (the whitepaper's audit
	// example gives this reason for a partially_committed run).
	ReasonPartialExecution = "partial_execution"
	// The current execution is complete with warnings: evidence for the
	// window, never labelled (the label would hide its alerts).
	ReasonApprovedWithWarnings = "approved_with_warnings"
	// IFg < 1 in the window: one violation is enough.
	ReasonGovernanceViolation = "governance_violation"
	// IDI below the watchlist limit: the domain moved under the skill.
	ReasonIntentDrift = "intent_drift"
	// Fewer successful executions in the window than min_executions.
	ReasonInsufficientExecutions = "insufficient_executions"
	ReasonIFoBelowThreshold      = "ifo_below_threshold"
	ReasonIFsBelowThreshold      = "ifs_below_threshold"
	// The gate holds.
	ReasonThresholdsMet = "thresholds_met"
)

// Lifecycle signals from IDI (whitepaper 5.11); Evaluate only reports them,
// the transition is the caller's.
const (
	LifecycleWatchlist = "watchlist"
	LifecycleDemoted   = "demoted"
)

// Evaluation is the Promotion Engine's verdict on one execution's unit.
type Evaluation struct {
	PromotionUnit string    `json:"promotion_unit"`
	Domain        string    `json:"domain"`
	Window        string    `json:"window"` // e.g. last_3_days
	WindowStart   time.Time `json:"window_start"`
	WindowEnd     time.Time `json:"window_end"`

	Executions           int `json:"executions"`            // of the unit in the window, the current one included
	SuccessfulExecutions int `json:"successful_executions"` // approved, approved_with_warnings or promotion_candidate

	IFo float64 `json:"ifo"`
	IFs float64 `json:"ifs"`
	IFg float64 `json:"ifg"`
	IDI float64 `json:"idi"`

	Current Scores `json:"current"`

	Eligible  bool   `json:"eligible"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason"`
	Lifecycle string `json:"lifecycle,omitempty"`
	// Signals are the custom_promotion_signal answers (whitepaper 9).
	Signals []Signal `json:"signals,omitempty"`
}

// Signal is one external business-value signal on an execution.
type Signal struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Veto   bool    `json:"veto,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// ReasonSignalVeto: a custom_promotion_signal vetoed an execution the
// gate found eligible.
const ReasonSignalVeto = "custom_promotion_signal_veto"

// WithSignal records s on the evaluation. A veto makes an eligible
// execution not eligible; no signal makes an ineligible one eligible: the
// gate (IFo, IFs, IFg, executions) still decides promotion.
func (ev Evaluation) WithSignal(s Signal) Evaluation {
	ev.Signals = append(ev.Signals, s)
	if s.Veto && ev.Eligible {
		ev.Eligible, ev.Outcome = false, OutcomeNotEligible
		ev.Reason = ReasonSignalVeto + ": " + s.Name
		if s.Reason != "" {
			ev.Reason += ": " + s.Reason
		}
	}
	return ev
}

// State is the decision_state to record for the current execution:
// promotion_candidate when eligible, the decided state otherwise.
func (ev Evaluation) State(decided decision.State) decision.State {
	if ev.Eligible {
		return decision.PromotionCandidate
	}
	return decided
}

// Evaluate applies p to current, the execution the Decision Engine just
// decided, given history (any executions, in any order: other units and
// entries outside the window are skipped, an entry with the current's
// intent_id is ignored because the current is counted from its argument).
//
// The window is the closed interval [decided_at - window, decided_at] of the
// current's domain; entries decided after the current are left out, so
// replaying an old evaluation against today's history gives the old answer.
//
// Over the window, ordered by (decided_at, intent_id):
//
//	IFo = mean of the executions' IFo    IFs = mean of their IFs
//	IFg = min of their IFg (binary)      IDI = 1 - drifted/executions
//
// where drifted counts executions with drift_replans > 0. The gate is
// IFo >= T1 AND IFs >= T2 AND IFg = 1 AND successful executions >=
// min_executions, compared on the rounded scores.
func Evaluate(p Policy, current Execution, history []Execution) (Evaluation, error) {
	if err := p.Validate(); err != nil {
		return Evaluation{}, fmt.Errorf("lifecycle evaluation: %w", err)
	}
	if err := current.Validate(); err != nil {
		return Evaluation{}, fmt.Errorf("lifecycle evaluation: current execution: %w", err)
	}
	name, d, err := p.Window(current.Domain)
	if err != nil {
		return Evaluation{}, fmt.Errorf("lifecycle evaluation: %w", err)
	}
	end := current.DecidedAt
	start := end.Add(-d)
	window, err := inWindow(current, history, start, end)
	if err != nil {
		return Evaluation{}, fmt.Errorf("lifecycle evaluation of promotion_unit %s: %w", current.PromotionUnit, err)
	}

	ev := Evaluation{
		PromotionUnit: current.PromotionUnit,
		Domain:        current.Domain,
		Window:        name,
		WindowStart:   start.UTC(),
		WindowEnd:     end.UTC(),
		Executions:    len(window),
		IFg:           1,
	}
	var b baseline
	var sumIFo, sumIFs float64
	drifted := 0
	for _, e := range window {
		s := score(e, &b)
		b.add(e)
		if e.IntentID == current.IntentID {
			ev.Current = s
		}
		sumIFo += s.IFo
		sumIFs += s.IFs
		ev.IFg = math.Min(ev.IFg, s.IFg)
		if successful(e.DecisionState) {
			ev.SuccessfulExecutions++
		}
		if e.DriftReplans > 0 {
			drifted++
		}
	}
	n := float64(len(window))
	ev.IFo = round(sumIFo / n)
	ev.IFs = round(sumIFs / n)
	ev.IDI = round(1 - float64(drifted)/n)

	switch {
	case ev.IDI < p.IDIDemotion:
		ev.Lifecycle = LifecycleDemoted
	case ev.IDI < p.IDIWatchlist:
		ev.Lifecycle = LifecycleWatchlist
	}
	ev.Reason = reason(p, current, ev)
	ev.Eligible = ev.Reason == ReasonThresholdsMet
	ev.Outcome = OutcomeNotEligible
	if ev.Eligible {
		ev.Outcome = OutcomeEligible
	}
	return ev, nil
}

// reason is the first failing check, or thresholds_met.
//
// Only an approved current execution can be eligible: approved_with_warnings
// counts as evidence in the window, but labelling it promotion_candidate
// would replace the state that carries its alerts, hiding them.
func reason(p Policy, current Execution, ev Evaluation) string {
	switch {
	case !current.Reproducible:
		return ReasonNotReproducible
	case ev.IFg < 1:
		// Before partial_execution: a PII exposure in a quarantined run
		// must be reported as what it is.
		return ReasonGovernanceViolation
	case current.Units == 0:
		return ReasonNotExecuted
	case current.DecisionState == decision.ApprovedWithWarnings:
		return ReasonApprovedWithWarnings
	case !approved(current.DecisionState):
		return ReasonPartialExecution
	case ev.IDI < p.IDIWatchlist:
		return ReasonIntentDrift
	case ev.SuccessfulExecutions < p.MinExecutions:
		return ReasonInsufficientExecutions
	case ev.IFo < p.Thresholds.IFo:
		return ReasonIFoBelowThreshold
	case ev.IFs < p.Thresholds.IFs:
		return ReasonIFsBelowThreshold
	}
	return ReasonThresholdsMet
}

// inWindow returns the executions of current's unit decided in [start, end],
// current included once, in (decided_at, intent_id) order, every one
// validated. Errors name executions by intent_id, in that order, so they do
// not depend on the order of history either.
func inWindow(current Execution, history []Execution, start, end time.Time) ([]Execution, error) {
	window := make([]Execution, 0, len(history)+1)
	window = append(window, current)
	for _, e := range history {
		if e.PromotionUnit != current.PromotionUnit || e.IntentID == current.IntentID {
			continue
		}
		if e.DecidedAt.Before(start) || e.DecidedAt.After(end) {
			continue
		}
		window = append(window, e)
	}
	slices.SortFunc(window, before)

	var errs []error
	seen := make(map[string]bool, len(window))
	for _, e := range window {
		if e.IntentID == current.IntentID {
			continue
		}
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("history execution decided at %s: %w", e.DecidedAt.UTC().Format(time.RFC3339Nano), err))
		}
		// One intent has one decision; two records of it mean the caller's
		// query joined or retried, and would count the evidence twice.
		if seen[e.IntentID] {
			errs = append(errs, fmt.Errorf("%w %q: it appears more than once in the history; give one execution per intent", ErrInvalidExecution, e.IntentID))
		}
		seen[e.IntentID] = true
	}
	return window, errors.Join(errs...)
}

// Label applies the evaluation to the Decision Engine's decision: an
// eligible execution becomes promotion_candidate, decided by the Promotion
// Engine with the thresholds it met; any other decision stands.
func Label(d decision.Decision, ev Evaluation, th Thresholds) decision.Decision {
	s := ev.State(d.State)
	if s == d.State {
		return d
	}
	d.State, d.DecidedBy = s, StagePromotionEngine
	d.Reason = fmt.Sprintf("%s: IFo %.2f >= %.2f, IFs %.2f >= %.2f, IFg %.0f over %d successful executions in %s",
		ev.Reason, ev.IFo, th.IFo, ev.IFs, th.IFs, ev.IFg, ev.SuccessfulExecutions, ev.Window)
	return d
}

// StagePromotionEngine is the stage (and decided_by) of step 18.
const StagePromotionEngine = "promotion_engine"
