package runtimevalidation_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/fault"
	rv "github.com/contextualflux/cfa/internal/runtimevalidation"
)

// contract is 5.6's schema_contract.expected_columns with catalog types, as
// the planner's load step of silver_documentos declares them.
var contract = []rv.Column{
	{Name: "nfe_id", Type: "string"},
	{Name: "cpf_hash", Type: "string"},
	{Name: "processing_date", Type: "date"},
}

// observed is the same schema as Postgres' format_type() prints it.
func observed() []rv.Column {
	return []rv.Column{{Name: "nfe_id", Type: "text"}, {Name: "cpf_hash", Type: "text"}, {Name: "processing_date", Type: "date"}}
}

// healthy is one clean partition of the whitepaper's fiscal reconciliation.
func healthy(key string) rv.UnitMetrics {
	return rv.UnitMetrics{
		Dataset: "silver_documentos", Key: key, Attempt: 1,
		RowsOut:      120_000,
		NullRatio:    map[string]float64{"nfe_id": 0, "cpf_hash": 0.01, "processing_date": 0},
		OutputSchema: observed(),
		ShuffleMB:    120, CostDBU: 4.5, DurationMS: 42_000,
	}
}

type want struct {
	code, rule string
	severity   fault.Severity
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limits   func(*rv.Limits)
		mutate   func(*rv.UnitMetrics)
		faults   []want // fail the unit, in report order
		warnings []want
	}{
		{name: "a healthy partition passes", mutate: func(*rv.UnitMetrics) {}},
		{name: "5.8 example: 2026-01-03 shuffles 730 MB",
			mutate: func(m *rv.UnitMetrics) { m.Key = "2026-01-03"; m.ShuffleMB = 730 },
			faults: []want{{rv.CodeShuffleLimitExceeded, "max_shuffle_size_mb", fault.SeverityHigh}}},
		{name: "shuffle exactly at the limit passes", mutate: func(m *rv.UnitMetrics) { m.ShuffleMB = 500 }},
		{name: "rows above max_rows_output report the hard limit only",
			mutate: func(m *rv.UnitMetrics) { m.RowsOut = 10_000_001 },
			faults: []want{{rv.CodeRowLimitExceeded, "max_rows_output", fault.SeverityHigh}}},
		{name: "rows exactly at max_rows_output pass", mutate: func(m *rv.UnitMetrics) { m.RowsOut = 10_000_000 }},
		{name: "rows above a narrower expected range",
			limits: func(l *rv.Limits) { l.ExpectedOutputRange.Max = 500_000 },
			mutate: func(m *rv.UnitMetrics) { m.RowsOut = 500_001 },
			faults: []want{{rv.CodeOutputAboveExpectedRange, "expected_output_range.max", fault.SeverityMedium}}},
		{name: "999 rows are below the range",
			mutate: func(m *rv.UnitMetrics) { m.RowsOut = 999 },
			faults: []want{{rv.CodeOutputBelowExpectedRange, "expected_output_range.min", fault.SeverityMedium}}},
		{name: "an empty partition is below the range",
			mutate: func(m *rv.UnitMetrics) { m.RowsOut = 0; m.NullRatio = nil },
			faults: []want{{rv.CodeOutputBelowExpectedRange, "expected_output_range.min", fault.SeverityMedium}}},
		{name: "1000 rows are inside the range", mutate: func(m *rv.UnitMetrics) { m.RowsOut = 1_000 }},
		{name: "issue 4's broken partition: cpf_hash 7% null",
			mutate: func(m *rv.UnitMetrics) { m.NullRatio["cpf_hash"] = 0.07 },
			faults: []want{{rv.CodeNullRatioExceeded, "max_null_ratio", fault.SeverityHigh}}},
		{name: "null ratio exactly 5% passes", mutate: func(m *rv.UnitMetrics) { m.NullRatio["cpf_hash"] = 0.05 }},
		{name: "two null columns are reported in column order",
			mutate: func(m *rv.UnitMetrics) { m.NullRatio["processing_date"] = 0.5; m.NullRatio["cpf_hash"] = 0.2 },
			faults: []want{{rv.CodeNullRatioExceeded, "max_null_ratio", fault.SeverityHigh}, {rv.CodeNullRatioExceeded, "max_null_ratio", fault.SeverityHigh}}},
		{name: "a missing contract column is drift",
			mutate: func(m *rv.UnitMetrics) { m.OutputSchema = m.OutputSchema[:2] },
			faults: []want{{rv.CodeSchemaDrift, "schema_drift_detection.missing_column", fault.SeverityHigh}}},
		{name: "a changed type is drift",
			mutate: func(m *rv.UnitMetrics) { m.OutputSchema[2].Type = "timestamp without time zone" },
			faults: []want{{rv.CodeSchemaDrift, "schema_drift_detection.type_changed", fault.SeverityHigh}}},
		{name: "an added column fails the unit even when it is nullable",
			mutate: func(m *rv.UnitMetrics) {
				m.OutputSchema = append(m.OutputSchema, rv.Column{Name: "email", Type: "text"})
			},
			faults: []want{{rv.CodeSchemaDrift, "schema_drift_detection.unexpected_column", fault.SeverityHigh}}},
		{name: "the same columns in another order only warn",
			mutate: func(m *rv.UnitMetrics) {
				m.OutputSchema[0], m.OutputSchema[2] = m.OutputSchema[2], m.OutputSchema[0]
			},
			warnings: []want{{rv.CodeSchemaDrift, "schema_drift_detection.column_order", fault.SeverityLow}}},
		{name: "drift is not checked when detection is off",
			limits: func(l *rv.Limits) { l.SchemaDriftDetection = false },
			mutate: func(m *rv.UnitMetrics) { m.OutputSchema = []rv.Column{{Name: "x", Type: "int"}} }},
		{name: "cost is an execution budget, not a unit check",
			mutate: func(m *rv.UnitMetrics) { m.CostDBU = 80 }},
		{name: "several faults: most severe first, then by code",
			mutate: func(m *rv.UnitMetrics) {
				m.RowsOut = 10
				m.ShuffleMB = 900
				m.NullRatio["nfe_id"] = 0.3
				m.OutputSchema = append(m.OutputSchema[1:], rv.Column{Name: "extra", Type: "text"})
			},
			faults: []want{
				{rv.CodeNullRatioExceeded, "max_null_ratio", fault.SeverityHigh},
				{rv.CodeSchemaDrift, "schema_drift_detection.missing_column", fault.SeverityHigh},
				{rv.CodeSchemaDrift, "schema_drift_detection.unexpected_column", fault.SeverityHigh},
				{rv.CodeShuffleLimitExceeded, "max_shuffle_size_mb", fault.SeverityHigh},
				{rv.CodeOutputBelowExpectedRange, "expected_output_range.min", fault.SeverityMedium},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := rv.DefaultLimits()
			if tc.limits != nil {
				tc.limits(&l)
			}
			m := healthy("2026-01-01")
			tc.mutate(&m)
			rep, err := rv.Validate(l, contract, m)
			require.NoError(t, err)
			require.Equal(t, len(tc.faults) == 0, rep.Passed)
			require.Equal(t, tc.faults, wants(rep.Faults))
			require.Equal(t, tc.warnings, wants(rep.Warnings))
			require.Equal(t, m.Key, rep.Key)
			require.Equal(t, m, rep.Metrics)
			for _, f := range append(rep.Faults, rep.Warnings...) {
				require.Equal(t, fault.RuntimeBehavioralFaults, f.Family)
				require.Equal(t, fault.StageRuntimeValidation, f.Stage)
				require.False(t, f.DetectedBeforeExecution)
				require.NotEmpty(t, f.Message)
				require.Len(t, f.Remediation, 1)
				require.True(t, f.Severity.Valid())
			}
			for _, f := range rep.Faults {
				require.Equal(t, rv.ActionApplyPartialFailurePolicy, f.MandatoryAction)
			}
			for _, f := range rep.Warnings {
				require.Equal(t, rv.ActionWarn, f.MandatoryAction)
			}
			p, ok := rep.Primary()
			require.Equal(t, !rep.Passed, ok)
			if ok {
				require.Equal(t, rep.Faults[0], p)
			}
		})
	}
}

func wants(fs []fault.Fault) []want {
	var out []want
	for _, f := range fs {
		out = append(out, want{f.Code, f.Rule, f.Severity})
	}
	return out
}

func TestValidateMessagesNameTheMetricAndTheUnit(t *testing.T) {
	t.Parallel()
	m := healthy("2026-01-03")
	m.ShuffleMB = 730
	m.NullRatio["cpf_hash"] = 0.07
	rep, err := rv.Validate(rv.DefaultLimits(), contract, m)
	require.NoError(t, err)
	require.Len(t, rep.Faults, 2)
	require.Equal(t, `unit silver_documentos/2026-01-03: column "cpf_hash" is 7% null, above max_null_ratio 5%`, rep.Faults[0].Message)
	require.Equal(t, "unit silver_documentos/2026-01-03 shuffled 730 MB, above max_shuffle_size_mb 500", rep.Faults[1].Message)
}

func TestValidateIsDeterministic(t *testing.T) {
	t.Parallel()
	m := healthy("2026-01-02")
	m.NullRatio = map[string]float64{"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6, "nfe_id": 0.5}
	first, err := rv.Validate(rv.DefaultLimits(), contract, m)
	require.NoError(t, err)
	for range 50 {
		again, err := rv.Validate(rv.DefaultLimits(), contract, m)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
	var cols []string
	for _, f := range first.Faults {
		cols = append(cols, strings.Split(f.Message, `"`)[1])
	}
	require.Equal(t, []string{"a", "b", "c", "d", "nfe_id"}, cols)
}

func TestValidateDoesNotAliasItsInput(t *testing.T) {
	t.Parallel()
	m := healthy("2026-01-01")
	rep, err := rv.Validate(rv.DefaultLimits(), contract, m)
	require.NoError(t, err)
	m.NullRatio["cpf_hash"] = 1
	m.OutputSchema[0].Name = "changed"
	require.Equal(t, 0.01, rep.Metrics.NullRatio["cpf_hash"])
	require.Equal(t, "nfe_id", rep.Metrics.OutputSchema[0].Name)
}

func TestValidateRefusesMalformedInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limits   func(*rv.Limits)
		expected []rv.Column
		mutate   func(*rv.UnitMetrics)
		err      string
		is       error
	}{
		{"invalid limits", func(l *rv.Limits) { l.MaxRowsOutput = -1 }, contract, func(*rv.UnitMetrics) {}, "max_rows_output", rv.ErrInvalidLimits},
		{"empty key", nil, contract, func(m *rv.UnitMetrics) { m.Key = " " }, "unit key is empty", rv.ErrInvalidMetrics},
		{"attempt 0", nil, contract, func(m *rv.UnitMetrics) { m.Attempt = 0 }, "attempt must be >= 1", rv.ErrInvalidMetrics},
		{"negative rows", nil, contract, func(m *rv.UnitMetrics) { m.RowsOut = -1 }, "rows_out", rv.ErrInvalidMetrics},
		{"null ratio as percent", nil, contract, func(m *rv.UnitMetrics) { m.NullRatio["cpf_hash"] = 7 }, `null_ratio of "cpf_hash"`, rv.ErrInvalidMetrics},
		{"negative shuffle", nil, contract, func(m *rv.UnitMetrics) { m.ShuffleMB = -2 }, "shuffle_mb", rv.ErrInvalidMetrics},
		{"negative cost", nil, contract, func(m *rv.UnitMetrics) { m.CostDBU = -2 }, "cost_dbu", rv.ErrInvalidMetrics},
		{"negative duration", nil, contract, func(m *rv.UnitMetrics) { m.DurationMS = -2 }, "duration_ms", rv.ErrInvalidMetrics},
		{"duplicate output column", nil, contract, func(m *rv.UnitMetrics) { m.OutputSchema = append(m.OutputSchema, m.OutputSchema[0]) }, `output_schema lists column "nfe_id" twice`, rv.ErrInvalidMetrics},
		{"untyped output column", nil, contract, func(m *rv.UnitMetrics) { m.OutputSchema[0].Type = "" }, `output_schema column "nfe_id" has no type`, rv.ErrInvalidMetrics},
		{"duplicate contract column", nil, append(contract[:1:1], contract[0]), func(*rv.UnitMetrics) {}, `expected contract lists column "nfe_id" twice`, rv.ErrInvalidMetrics},
		{"drift detection without a contract", nil, nil, func(*rv.UnitMetrics) {}, "turn schema_drift_detection off", rv.ErrInvalidMetrics},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := rv.DefaultLimits()
			if tc.limits != nil {
				tc.limits(&l)
			}
			m := healthy("2026-01-01")
			tc.mutate(&m)
			_, err := rv.Validate(l, tc.expected, m)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
			require.ErrorContains(t, err, "validate unit silver_documentos/")
		})
	}
}

func TestNoContractIsFineWithoutDriftDetection(t *testing.T) {
	t.Parallel()
	l := rv.DefaultLimits()
	l.SchemaDriftDetection = false
	rep, err := rv.Validate(l, nil, healthy("2026-01-01"))
	require.NoError(t, err)
	require.True(t, rep.Passed)
}

func TestCanonicalType(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"string", "text"},
		{"TEXT", "text"},
		{"int", "integer"},
		{"int4", "integer"},
		{"int8", "bigint"},
		{"decimal(18,2)", "numeric(18,2)"},
		{"numeric(18, 2)", "numeric(18,2)"},
		{"DECIMAL ( 18 , 2 )", "numeric(18,2)"},
		{"timestamp without time zone", "timestamp"},
		{"timestamptz", "timestamp with time zone"},
		{"double", "double precision"},
		{"character  varying(20)", "varchar(20)"},
		{"array<struct<produto_id:string,quantidade:int>>", "jsonb"},
		{"date", "date"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, rv.CanonicalType(tc.in))
		})
	}
}

// The contract arrives in catalog types and the output in Postgres types:
// every catalog type must compare equal to what codegen writes for it.
func TestCanonicalTypeAgreesWithCodegen(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, d := range c.Datasets {
		for _, col := range d.Columns {
			if seen[col.Type] {
				continue
			}
			seen[col.Type] = true
			pg, err := codegen.PostgresType(col.Type)
			require.NoError(t, err)
			require.Equal(t, rv.CanonicalType(pg), rv.CanonicalType(col.Type), "catalog type %q, Postgres type %q", col.Type, pg)
		}
	}
	require.NotEmpty(t, seen)
}
