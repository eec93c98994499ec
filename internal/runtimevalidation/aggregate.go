package runtimevalidation

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// Totals sums an execution's metrics. Rows count the latest attempt of each
// unit (what was written); shuffle, cost and duration count every attempt
// (what was spent, retries included).
type Totals struct {
	Units      int     `json:"units" yaml:"units"`
	Attempts   int     `json:"attempts" yaml:"attempts"`
	RowsOut    int64   `json:"rows_out" yaml:"rows_out"`
	ShuffleMB  float64 `json:"shuffle_mb" yaml:"shuffle_mb"`
	CostDBU    float64 `json:"cost_dbu" yaml:"cost_dbu"`
	DurationMS int64   `json:"duration_ms" yaml:"duration_ms"`
}

// Report is Runtime Validation's verdict on a whole execution.
type Report struct {
	// Passed is true when the latest attempt of every unit passed.
	Passed bool `json:"passed" yaml:"passed"`
	// Units holds the latest attempt of each unit, sorted by dataset and key.
	Units []UnitReport `json:"units" yaml:"units"`
	// Warnings are execution-wide (the cost ceiling); they fail no unit.
	Warnings []fault.Fault `json:"warnings,omitempty" yaml:"warnings,omitempty"`
	Totals   Totals        `json:"totals" yaml:"totals"`
}

// Failed returns the latest reports of the units that failed, in Units order.
func (r Report) Failed() []UnitReport {
	var out []UnitReport
	for _, u := range r.Units {
		if !u.Passed {
			out = append(out, u)
		}
	}
	return out
}

// Aggregate folds the reports of every attempt of every unit of one
// execution into a Report. Several reports of one unit must carry distinct
// attempts; the latest decides the unit. The order of reports does not
// matter. The execution-wide cost_ceiling_dbu is checked here against the
// cost of every attempt: exceeding it is a warning (docs/adr/0080).
func Aggregate(l Limits, reports []UnitReport) (Report, error) {
	if err := l.Validate(); err != nil {
		return Report{}, fmt.Errorf("aggregate runtime validation: %w", err)
	}
	if len(reports) == 0 {
		return Report{}, fmt.Errorf("aggregate runtime validation: %w: no unit reports; validate at least one unit", ErrInvalidMetrics)
	}
	all := slices.Clone(reports)
	slices.SortFunc(all, func(a, b UnitReport) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Attempt, b.Attempt))
	})
	var rep Report
	rep.Passed = true
	for i, r := range all {
		if r.Dataset != r.Metrics.Dataset || r.Key != r.Metrics.Key || r.Attempt != r.Metrics.Attempt {
			return Report{}, fmt.Errorf("aggregate runtime validation: %w: report %s attempt %d carries the metrics of %s attempt %d; pass reports from Validate unchanged",
				ErrInvalidMetrics, unitName(r.Dataset, r.Key), r.Attempt, unitName(r.Metrics.Dataset, r.Metrics.Key), r.Metrics.Attempt)
		}
		if i+1 < len(all) {
			next := all[i+1]
			if next.Dataset == r.Dataset && next.Key == r.Key {
				if next.Attempt == r.Attempt {
					return Report{}, fmt.Errorf("aggregate runtime validation: %w: unit %s has two reports for attempt %d; pass each attempt once",
						ErrInvalidMetrics, unitName(r.Dataset, r.Key), r.Attempt)
				}
				// not the latest attempt: it counts as spending only
				rep.Totals.add(r, false)
				continue
			}
		}
		rep.Totals.add(r, true)
		rep.Units = append(rep.Units, r)
		rep.Passed = rep.Passed && r.Passed
	}
	if rep.Totals.CostDBU > l.CostCeilingDBU {
		rep.Warnings = sortFindings([]finding{newFinding(RuleCostCeilingDBU, "",
			fmt.Sprintf("the execution cost %g DBU over %d attempts of %d units, above cost_ceiling_dbu %g",
				rep.Totals.CostDBU, rep.Totals.Attempts, rep.Totals.Units, l.CostCeilingDBU))})
	}
	return rep, nil
}

func (t *Totals) add(r UnitReport, latest bool) {
	t.Attempts++
	t.ShuffleMB += r.Metrics.ShuffleMB
	t.CostDBU += r.Metrics.CostDBU
	t.DurationMS += r.Metrics.DurationMS
	if latest {
		t.Units++
		t.RowsOut += r.Metrics.RowsOut
	}
}

// Vote is Runtime Validation's vote for the Decision Engine (5.14, second
// in ordered_authority): approved when nothing was found, else
// approved_with_warnings. Failed units do not make it vote stricter: which
// of quarantine, rollback or partial commit they lead to is the
// partial_failure_policy's vote, and strictest_outcome lets that one win
// (docs/adr/0081). The vote carries every fault of the latest attempts.
func (r Report) Vote() decision.Vote {
	var faults []fault.Fault
	var failed []string
	for _, u := range r.Units {
		faults = append(faults, u.Faults...)
		faults = append(faults, u.Warnings...)
		if !u.Passed {
			p, _ := u.Primary()
			failed = append(failed, unitName(u.Dataset, u.Key)+": "+p.Code)
		}
	}
	faults = append(faults, r.Warnings...)
	v := decision.Vote{Authority: decision.AuthorityRuntimeValidation, Outcome: decision.Approved, Faults: faults}
	switch {
	case len(failed) > 0:
		v.Outcome = decision.ApprovedWithWarnings
		v.Reason = fmt.Sprintf("%d of %d units failed runtime validation (%s); the partial failure policy decides their fate",
			len(failed), len(r.Units), strings.Join(failed, ", "))
	case len(faults) > 0:
		v.Outcome = decision.ApprovedWithWarnings
		v.Reason = fmt.Sprintf("every unit passed runtime validation with %d warnings", len(faults))
	default:
		v.Reason = fmt.Sprintf("every unit passed runtime validation (%d units)", len(r.Units))
	}
	return v
}
