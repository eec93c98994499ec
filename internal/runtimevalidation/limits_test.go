package runtimevalidation_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

// whitepaperRuntimeMetrics is the 5.7 block verbatim.
const whitepaperRuntimeMetrics = `
runtime_metrics:
  max_rows_output: 10_000_000
  max_shuffle_size_mb: 500
  max_null_ratio: 0.05 # 5%
  expected_output_range:
    min: 1_000
    max: 10_000_000
  schema_drift_detection: true
  cost_ceiling_dbu: 50
`

func TestDefaultLimitsAreTheWhitepapers(t *testing.T) {
	t.Parallel()
	var doc struct {
		RuntimeMetrics runtimevalidation.Limits `yaml:"runtime_metrics"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperRuntimeMetrics), &doc))
	require.Equal(t, runtimevalidation.DefaultLimits(), doc.RuntimeMetrics)
	require.NoError(t, runtimevalidation.DefaultLimits().Validate())
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*runtimevalidation.Limits)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*runtimevalidation.Limits) {}, ""},
		{"drift detection off is valid", func(l *runtimevalidation.Limits) { l.SchemaDriftDetection = false }, ""},
		{"zero null ratio is valid", func(l *runtimevalidation.Limits) { l.MaxNullRatio = 0 }, ""},
		{"range min 0 is valid", func(l *runtimevalidation.Limits) { l.ExpectedOutputRange.Min = 0 }, ""},
		{"zero row limit", func(l *runtimevalidation.Limits) { l.MaxRowsOutput = 0 }, "max_rows_output must be > 0"},
		{"negative shuffle", func(l *runtimevalidation.Limits) { l.MaxShuffleSizeMB = -1 }, "max_shuffle_size_mb"},
		{"NaN shuffle", func(l *runtimevalidation.Limits) { l.MaxShuffleSizeMB = math.NaN() }, "max_shuffle_size_mb"},
		{"null ratio as percent", func(l *runtimevalidation.Limits) { l.MaxNullRatio = 5 }, "max_null_ratio must be within [0, 1]"},
		{"negative range min", func(l *runtimevalidation.Limits) { l.ExpectedOutputRange.Min = -1 }, "expected_output_range.min"},
		{"range max below min", func(l *runtimevalidation.Limits) { l.ExpectedOutputRange = runtimevalidation.Range{Min: 10, Max: 5} }, "expected_output_range.max must be > 0 and >= min"},
		{"range max above row limit", func(l *runtimevalidation.Limits) { l.ExpectedOutputRange.Max = 20_000_000 }, "exceeds max_rows_output"},
		{"infinite cost ceiling", func(l *runtimevalidation.Limits) { l.CostCeilingDBU = math.Inf(1) }, "cost_ceiling_dbu"},
		{"zero cost ceiling", func(l *runtimevalidation.Limits) { l.CostCeilingDBU = 0 }, "cost_ceiling_dbu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := runtimevalidation.DefaultLimits()
			tc.mutate(&l)
			err := l.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, runtimevalidation.ErrInvalidLimits)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLimitsValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := runtimevalidation.Limits{}.Validate()
	require.ErrorIs(t, err, runtimevalidation.ErrInvalidLimits)
	for _, key := range []string{"max_rows_output", "max_shuffle_size_mb", "expected_output_range.max", "cost_ceiling_dbu"} {
		require.ErrorContains(t, err, key)
	}
}

func TestLimitsWithOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		override string // JSON with the whitepaper's keys
		want     func(*runtimevalidation.Limits)
		err      string
	}{
		{"empty keeps the defaults", `{}`, func(*runtimevalidation.Limits) {}, ""},
		{"null ratio", `{"max_null_ratio": 0.1}`, func(l *runtimevalidation.Limits) { l.MaxNullRatio = 0.1 }, ""},
		{"only the range min", `{"expected_output_range": {"min": 0}}`, func(l *runtimevalidation.Limits) { l.ExpectedOutputRange.Min = 0 }, ""},
		{"drift detection off", `{"schema_drift_detection": false}`, func(l *runtimevalidation.Limits) { l.SchemaDriftDetection = false }, ""},
		{"every key", `{"max_rows_output": 100, "max_shuffle_size_mb": 1, "max_null_ratio": 0, "expected_output_range": {"min": 1, "max": 100}, "schema_drift_detection": false, "cost_ceiling_dbu": 2}`,
			func(l *runtimevalidation.Limits) {
				*l = runtimevalidation.Limits{MaxRowsOutput: 100, MaxShuffleSizeMB: 1, ExpectedOutputRange: runtimevalidation.Range{Min: 1, Max: 100}, CostCeilingDBU: 2}
			}, ""},
		{"a row limit under the range max is refused", `{"max_rows_output": 100}`, nil, "exceeds max_rows_output"},
		{"an invalid ratio is refused", `{"max_null_ratio": 1.5}`, nil, "max_null_ratio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var o runtimevalidation.Overrides
			require.NoError(t, json.Unmarshal([]byte(tc.override), &o))
			base := runtimevalidation.DefaultLimits()
			got, err := base.With(o)
			require.Equal(t, runtimevalidation.DefaultLimits(), base, "With must not modify its receiver")
			if tc.err != "" {
				require.ErrorIs(t, err, runtimevalidation.ErrInvalidLimits)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			want := runtimevalidation.DefaultLimits()
			tc.want(&want)
			require.Equal(t, want, got)
		})
	}
}

func TestLimitsJSONKeysAreTheWhitepapers(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(runtimevalidation.DefaultLimits())
	require.NoError(t, err)
	require.JSONEq(t, `{"max_rows_output":10000000,"max_shuffle_size_mb":500,"max_null_ratio":0.05,
		"expected_output_range":{"min":1000,"max":10000000},"schema_drift_detection":true,"cost_ceiling_dbu":50}`, string(b))
}
