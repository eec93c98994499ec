package partialexecution_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
	rv "github.com/contextualflux/cfa/internal/runtimevalidation"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	exp := pe.DefaultRetryPolicy()
	fixed := pe.DefaultRetryPolicy()
	fixed.Backoff.Strategy = pe.BackoffFixed
	tests := []struct {
		name    string
		policy  pe.RetryPolicy
		attempt int
		want    time.Duration
	}{
		{"the first run waits nothing", exp, 1, 0},
		{"first retry waits base_seconds", exp, 2, 30 * time.Second},
		{"second retry doubles", exp, 3, 60 * time.Second},
		{"third retry doubles again", exp, 4, 120 * time.Second},
		{"fixed waits base_seconds every time", fixed, 4, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.policy.Delay(tc.attempt))
		})
	}
	require.Equal(t, 2.0, exp.BackoffCoefficient())
	require.Equal(t, 1.0, fixed.BackoffCoefficient())
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	p := pe.DefaultRetryPolicy()
	tests := []struct {
		family fault.Family
		code   string
		want   bool
	}{
		{fault.RuntimeBehavioralFaults, rv.CodeShuffleLimitExceeded, true},
		{fault.RuntimeBehavioralFaults, rv.CodeNullRatioExceeded, true},
		{fault.RuntimeBehavioralFaults, rv.CodeOutputBelowExpectedRange, true},
		{fault.RuntimeBehavioralFaults, rv.CodeRowLimitExceeded, true},
		{fault.RuntimeBehavioralFaults, rv.CodeSchemaDrift, false},
		{fault.SemanticFaults, "GOVERNANCE_RAW_PII_JOIN", false},
		{fault.StaticSafetyFaults, "STATIC_FORBIDDEN_OPERATION", false},
		{fault.EnvironmentalFaults, "IAM_REVOKED", false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, p.Retryable(tc.family, tc.code))
		})
	}
	// Panic families stay non-retryable even if a bundle forgets them.
	lax := pe.DefaultRetryPolicy()
	lax.NonRetryableFamilies = nil
	require.False(t, lax.Retryable(fault.EnvironmentalFaults, "X"))
	require.False(t, lax.Retryable(fault.StaticSafetyFaults, "X"))
	require.True(t, lax.Retryable(fault.SemanticFaults, "X"))
}

func TestNonRetryableErrorTypes(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"RUNTIME_SCHEMA_DRIFT", "environmental_faults", "semantic_faults", "static_safety_faults"},
		pe.DefaultRetryPolicy().NonRetryableErrorTypes())
	require.Equal(t, []string{"environmental_faults", "static_safety_faults"}, pe.RetryPolicy{}.NonRetryableErrorTypes())
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*pe.RetryPolicy)
		err  string
	}{
		{"default", func(*pe.RetryPolicy) {}, ""},
		{"disabled", func(p *pe.RetryPolicy) { p.Enabled = false }, ""},
		{"no wait", func(p *pe.RetryPolicy) { p.Backoff.BaseSeconds = 0 }, ""},
		{"zero attempts", func(p *pe.RetryPolicy) { p.MaxAttempts = 0 }, "max_attempts must be >= 1"},
		{"retrying the whole execution", func(p *pe.RetryPolicy) { p.RetryScope = "all_units" }, "retry_scope"},
		{"linear backoff", func(p *pe.RetryPolicy) { p.Backoff.Strategy = "linear" }, "backoff.strategy"},
		{"negative base", func(p *pe.RetryPolicy) { p.Backoff.BaseSeconds = -1 }, "base_seconds"},
		{"another on_max_exceeded", func(p *pe.RetryPolicy) { p.OnMaxExceeded.Action = "commit_anyway" }, "on_max_exceeded"},
		{"unknown family", func(p *pe.RetryPolicy) { p.NonRetryableFamilies = []fault.Family{"runtime_behavioral"} }, "non_retryable_families"},
		{"empty code", func(p *pe.RetryPolicy) { p.NonRetryableCodes = []string{""} }, "empty code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pe.DefaultRetryPolicy()
			tc.mut(&p)
			err := p.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, pe.ErrInvalidPolicy)
			require.ErrorContains(t, err, tc.err)
		})
	}
}
