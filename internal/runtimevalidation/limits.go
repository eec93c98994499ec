package runtimevalidation

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalidLimits is wrapped by every error about a Limits value.
var ErrInvalidLimits = errors.New("invalid runtime_metrics limits")

// Range is expected_output_range: the rows a unit is expected to write,
// both bounds inclusive.
type Range struct {
	Min int64 `json:"min" yaml:"min"`
	Max int64 `json:"max" yaml:"max"`
}

// Limits is the runtime_metrics block of whitepaper 5.7. Row, null-ratio,
// range, shuffle and schema limits apply to each consistency unit; the cost
// ceiling applies to the whole execution (docs/adr/0080).
type Limits struct {
	MaxRowsOutput        int64   `json:"max_rows_output" yaml:"max_rows_output"`
	MaxShuffleSizeMB     float64 `json:"max_shuffle_size_mb" yaml:"max_shuffle_size_mb"`
	MaxNullRatio         float64 `json:"max_null_ratio" yaml:"max_null_ratio"`
	ExpectedOutputRange  Range   `json:"expected_output_range" yaml:"expected_output_range"`
	SchemaDriftDetection bool    `json:"schema_drift_detection" yaml:"schema_drift_detection"`
	CostCeilingDBU       float64 `json:"cost_ceiling_dbu" yaml:"cost_ceiling_dbu"`
}

// DefaultLimits returns the whitepaper's runtime_metrics values.
func DefaultLimits() Limits {
	return Limits{
		MaxRowsOutput:        10_000_000,
		MaxShuffleSizeMB:     500,
		MaxNullRatio:         0.05,
		ExpectedOutputRange:  Range{Min: 1_000, Max: 10_000_000},
		SchemaDriftDetection: true,
		CostCeilingDBU:       50,
	}
}

// Validate reports every problem of l in one error wrapping ErrInvalidLimits.
func (l Limits) Validate() error {
	var problems []string
	if l.MaxRowsOutput <= 0 {
		problems = append(problems, fmt.Sprintf("max_rows_output must be > 0, got %d", l.MaxRowsOutput))
	}
	if !positiveFinite(l.MaxShuffleSizeMB) {
		problems = append(problems, fmt.Sprintf("max_shuffle_size_mb must be a finite number > 0, got %g", l.MaxShuffleSizeMB))
	}
	if math.IsNaN(l.MaxNullRatio) || l.MaxNullRatio < 0 || l.MaxNullRatio > 1 {
		problems = append(problems, fmt.Sprintf("max_null_ratio must be within [0, 1] (0.05 is 5%%), got %g", l.MaxNullRatio))
	}
	r := l.ExpectedOutputRange
	switch {
	case r.Min < 0:
		problems = append(problems, fmt.Sprintf("expected_output_range.min must be >= 0, got %d", r.Min))
	case r.Max < r.Min || r.Max <= 0:
		problems = append(problems, fmt.Sprintf("expected_output_range.max must be > 0 and >= min (%d), got %d", r.Min, r.Max))
	case l.MaxRowsOutput > 0 && r.Max > l.MaxRowsOutput:
		// Above max_rows_output the row limit fires first, so such a max
		// could never be reached: the configuration is contradictory.
		problems = append(problems, fmt.Sprintf("expected_output_range.max (%d) exceeds max_rows_output (%d); lower the range or raise the limit", r.Max, l.MaxRowsOutput))
	}
	if !positiveFinite(l.CostCeilingDBU) {
		problems = append(problems, fmt.Sprintf("cost_ceiling_dbu must be a finite number > 0, got %g", l.CostCeilingDBU))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidLimits, strings.Join(problems, "; "))
	}
	return nil
}

// RangeOverride overrides one or both bounds of expected_output_range.
type RangeOverride struct {
	Min *int64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *int64 `json:"max,omitempty" yaml:"max,omitempty"`
}

// Overrides holds the runtime_metrics keys a bundle or an intent sets; a nil
// field keeps the base value. It decodes from the same snake_case keys.
type Overrides struct {
	MaxRowsOutput        *int64         `json:"max_rows_output,omitempty" yaml:"max_rows_output,omitempty"`
	MaxShuffleSizeMB     *float64       `json:"max_shuffle_size_mb,omitempty" yaml:"max_shuffle_size_mb,omitempty"`
	MaxNullRatio         *float64       `json:"max_null_ratio,omitempty" yaml:"max_null_ratio,omitempty"`
	ExpectedOutputRange  *RangeOverride `json:"expected_output_range,omitempty" yaml:"expected_output_range,omitempty"`
	SchemaDriftDetection *bool          `json:"schema_drift_detection,omitempty" yaml:"schema_drift_detection,omitempty"`
	CostCeilingDBU       *float64       `json:"cost_ceiling_dbu,omitempty" yaml:"cost_ceiling_dbu,omitempty"`
}

// With returns l with o applied, validated. l is not modified.
func (l Limits) With(o Overrides) (Limits, error) {
	if o.MaxRowsOutput != nil {
		l.MaxRowsOutput = *o.MaxRowsOutput
	}
	if o.MaxShuffleSizeMB != nil {
		l.MaxShuffleSizeMB = *o.MaxShuffleSizeMB
	}
	if o.MaxNullRatio != nil {
		l.MaxNullRatio = *o.MaxNullRatio
	}
	if o.ExpectedOutputRange != nil {
		if o.ExpectedOutputRange.Min != nil {
			l.ExpectedOutputRange.Min = *o.ExpectedOutputRange.Min
		}
		if o.ExpectedOutputRange.Max != nil {
			l.ExpectedOutputRange.Max = *o.ExpectedOutputRange.Max
		}
	}
	if o.SchemaDriftDetection != nil {
		l.SchemaDriftDetection = *o.SchemaDriftDetection
	}
	if o.CostCeilingDBU != nil {
		l.CostCeilingDBU = *o.CostCeilingDBU
	}
	if err := l.Validate(); err != nil {
		return Limits{}, fmt.Errorf("apply runtime_metrics overrides: %w", err)
	}
	return l, nil
}

func positiveFinite(f float64) bool { return f > 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }
