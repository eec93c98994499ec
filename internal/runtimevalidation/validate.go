package runtimevalidation

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/fault"
)

// ErrInvalidMetrics is wrapped by every error about a unit's metrics or the
// expected contract: the caller measured or passed something impossible.
var ErrInvalidMetrics = errors.New("invalid runtime metrics")

// Column is one column of a schema: the contract's (as the planner's load
// step declares it) or the unit's observed output.
type Column struct {
	Name string `json:"name" yaml:"name"`
	Type string `json:"type" yaml:"type"`
}

// UnitMetrics is what the Sandbox measured for one attempt of one
// consistency unit.
type UnitMetrics struct {
	// Dataset is the dataset the unit writes; with Key it identifies the unit.
	Dataset string `json:"dataset,omitempty" yaml:"dataset,omitempty"`
	// Key is the unit's key: a partition value ("2026-01-03"), a window
	// start, a branch id or the dataset name.
	Key string `json:"key" yaml:"key"`
	// Attempt counts from 1 (the first run).
	Attempt int   `json:"attempt" yaml:"attempt"`
	RowsOut int64 `json:"rows_out" yaml:"rows_out"`
	// NullRatio maps an output column to its share of NULLs, in [0, 1].
	NullRatio    map[string]float64 `json:"null_ratio,omitempty" yaml:"null_ratio,omitempty"`
	OutputSchema []Column           `json:"output_schema" yaml:"output_schema"`
	ShuffleMB    float64            `json:"shuffle_mb" yaml:"shuffle_mb"`
	CostDBU      float64            `json:"cost_dbu" yaml:"cost_dbu"`
	DurationMS   int64              `json:"duration_ms" yaml:"duration_ms"`
}

// UnitReport is the verdict on one attempt of one unit.
type UnitReport struct {
	Dataset string `json:"dataset,omitempty" yaml:"dataset,omitempty"`
	Key     string `json:"key" yaml:"key"`
	Attempt int    `json:"attempt" yaml:"attempt"`
	// Passed is true when no fault fails the unit (warnings may remain).
	Passed bool `json:"passed" yaml:"passed"`
	// Faults fail the unit; Warnings do not. Both most severe first.
	Faults   []fault.Fault `json:"faults,omitempty" yaml:"faults,omitempty"`
	Warnings []fault.Fault `json:"warnings,omitempty" yaml:"warnings,omitempty"`
	Metrics  UnitMetrics   `json:"metrics" yaml:"metrics"`
}

// Primary returns the fault that names the unit's failure (the
// error_code of failed_units in 5.8): the first, most severe one.
func (r UnitReport) Primary() (fault.Fault, bool) {
	if len(r.Faults) == 0 {
		return fault.Fault{}, false
	}
	return r.Faults[0], true
}

// Validate judges one attempt of one unit against l and the expected
// contract (the load's columns in order). It returns an error, not a
// report, when the limits, the contract or the metrics are malformed. The
// cost ceiling is an execution-wide budget and is checked by Aggregate.
func Validate(l Limits, expected []Column, m UnitMetrics) (UnitReport, error) {
	unit := unitName(m.Dataset, m.Key)
	if err := l.Validate(); err != nil {
		return UnitReport{}, fmt.Errorf("validate unit %s: %w", unit, err)
	}
	if err := checkMetrics(m); err != nil {
		return UnitReport{}, fmt.Errorf("validate unit %s: %w", unit, err)
	}
	if err := checkSchema("expected contract", expected); err != nil {
		return UnitReport{}, fmt.Errorf("validate unit %s: %w: %w", unit, ErrInvalidMetrics, err)
	}
	if l.SchemaDriftDetection && len(expected) == 0 {
		return UnitReport{}, fmt.Errorf("validate unit %s: %w: schema_drift_detection is on but the expected contract has no columns; pass the load step's columns or turn schema_drift_detection off", unit, ErrInvalidMetrics)
	}

	var fs []finding
	fs = append(fs, checkRows(l, m)...)
	fs = append(fs, checkNulls(l, m)...)
	if l.SchemaDriftDetection {
		fs = append(fs, drift(expected, m.OutputSchema)...)
	}
	if m.ShuffleMB > l.MaxShuffleSizeMB {
		fs = append(fs, newFinding(RuleMaxShuffleSizeMB, "",
			fmt.Sprintf("unit %s shuffled %g MB, above max_shuffle_size_mb %g", unit, m.ShuffleMB, l.MaxShuffleSizeMB)))
	}

	var failing, warning []finding
	for _, f := range fs {
		if Failing(Rule(f.fault.Rule)) {
			failing = append(failing, f)
		} else {
			warning = append(warning, f)
		}
	}
	m.NullRatio = maps.Clone(m.NullRatio)
	m.OutputSchema = slices.Clone(m.OutputSchema)
	return UnitReport{
		Dataset:  m.Dataset,
		Key:      m.Key,
		Attempt:  m.Attempt,
		Passed:   len(failing) == 0,
		Faults:   sortFindings(failing),
		Warnings: sortFindings(warning),
		Metrics:  m,
	}, nil
}

// checkRows yields at most one fault for rows_out: the hard limit first,
// then the expected range. With the whitepaper's values both maxima are 10M,
// and one over-full unit should not be reported twice.
func checkRows(l Limits, m UnitMetrics) []finding {
	unit := unitName(m.Dataset, m.Key)
	r := l.ExpectedOutputRange
	switch {
	case m.RowsOut > l.MaxRowsOutput:
		return []finding{newFinding(RuleMaxRowsOutput, "",
			fmt.Sprintf("unit %s wrote %d rows, above max_rows_output %d", unit, m.RowsOut, l.MaxRowsOutput))}
	case m.RowsOut > r.Max:
		return []finding{newFinding(RuleExpectedOutputRangeMax, "",
			fmt.Sprintf("unit %s wrote %d rows, above expected_output_range.max %d", unit, m.RowsOut, r.Max))}
	case m.RowsOut < r.Min:
		return []finding{newFinding(RuleExpectedOutputRangeMin, "",
			fmt.Sprintf("unit %s wrote %d rows, below expected_output_range.min %d", unit, m.RowsOut, r.Min))}
	}
	return nil
}

func checkNulls(l Limits, m UnitMetrics) []finding {
	unit := unitName(m.Dataset, m.Key)
	var out []finding
	for _, col := range sortedKeys(m.NullRatio) {
		if ratio := m.NullRatio[col]; ratio > l.MaxNullRatio {
			out = append(out, newFinding(RuleMaxNullRatio, col,
				fmt.Sprintf("unit %s: column %q is %.4g%% null, above max_null_ratio %.4g%%", unit, col, ratio*100, l.MaxNullRatio*100)))
		}
	}
	return out
}

func checkMetrics(m UnitMetrics) error {
	var problems []string
	if strings.TrimSpace(m.Key) == "" {
		problems = append(problems, "the unit key is empty; pass the partition value, window, branch or dataset the unit covers")
	}
	if m.Attempt < 1 {
		problems = append(problems, fmt.Sprintf("attempt must be >= 1 (the first run is 1), got %d", m.Attempt))
	}
	if m.RowsOut < 0 {
		problems = append(problems, fmt.Sprintf("rows_out must be >= 0, got %d", m.RowsOut))
	}
	for _, col := range sortedKeys(m.NullRatio) {
		if r := m.NullRatio[col]; math.IsNaN(r) || r < 0 || r > 1 {
			problems = append(problems, fmt.Sprintf("null_ratio of %q must be within [0, 1], got %g", col, r))
		}
	}
	if math.IsNaN(m.ShuffleMB) || math.IsInf(m.ShuffleMB, 0) || m.ShuffleMB < 0 {
		problems = append(problems, fmt.Sprintf("shuffle_mb must be a finite number >= 0, got %g", m.ShuffleMB))
	}
	if math.IsNaN(m.CostDBU) || math.IsInf(m.CostDBU, 0) || m.CostDBU < 0 {
		problems = append(problems, fmt.Sprintf("cost_dbu must be a finite number >= 0, got %g", m.CostDBU))
	}
	if m.DurationMS < 0 {
		problems = append(problems, fmt.Sprintf("duration_ms must be >= 0, got %d", m.DurationMS))
	}
	if err := checkSchema("output_schema", m.OutputSchema); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidMetrics, strings.Join(problems, "; "))
	}
	return nil
}

// checkSchema refuses empty and duplicate column names: a table has neither.
func checkSchema(what string, cols []Column) error {
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if strings.TrimSpace(c.Name) == "" {
			return fmt.Errorf("%s column %d has no name", what, i)
		}
		if strings.TrimSpace(c.Type) == "" {
			return fmt.Errorf("%s column %q has no type", what, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s lists column %q twice", what, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

func unitName(dataset, key string) string {
	if dataset == "" {
		return key
	}
	return dataset + "/" + key
}

// sortedKeys returns m's keys in order, so nothing depends on map order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
