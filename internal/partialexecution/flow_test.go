package partialexecution_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/registry"
)

func fiscalUnits() []pe.Unit {
	var out []pe.Unit
	for _, d := range []string{"nfe", "clientes_anon"} {
		for _, k := range days {
			out = append(out, u(d, k))
		}
	}
	return out
}

func newFlow(t *testing.T, mut func(*pe.Config)) *pe.Flow {
	t.Helper()
	cfg := pe.Config{Policy: selective, Retry: pe.DefaultRetryPolicy(), ConsistencyUnit: byDate, PublishRequested: true, Units: fiscalUnits()}
	if mut != nil {
		mut(&cfg)
	}
	f, err := pe.NewFlow(cfg)
	require.NoError(t, err)
	return f
}

// recordFirst records the first attempt of every unit; nfe 2026-01-03 fails.
func recordFirst(t *testing.T, f *pe.Flow) {
	t.Helper()
	for _, x := range fiscalUnits() {
		if x == u("nfe", "2026-01-03") {
			require.NoError(t, f.Record(pe.Failed(x, 1, shuffleF)))
		} else {
			require.NoError(t, f.Record(pe.Succeeded(x, 1)))
		}
	}
}

// The demo of issue 4: one partition fails runtime validation, is retried,
// then quarantined; the dataset is partially committed and not published.
func TestFlowWhitepaperRun(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil)
	require.Equal(t, pe.PhaseExecuting, f.Phase())
	recordFirst(t, f)

	third := u("nfe", "2026-01-03")
	for _, want := range []pe.Retry{
		{Unit: third, Attempt: 2, Delay: 30 * time.Second, ErrorCode: shuffleF.Code},
		{Unit: third, Attempt: 3, Delay: 60 * time.Second, ErrorCode: shuffleF.Code},
	} {
		retries, err := f.RetryFailedUnits()
		require.NoError(t, err)
		require.Equal(t, []pe.Retry{want}, retries)
		require.Equal(t, pe.PhaseRetrying, f.Phase())
		require.NoError(t, f.Record(pe.Failed(third, want.Attempt, shuffleF)))
	}
	retries, err := f.RetryFailedUnits()
	require.NoError(t, err)
	require.Empty(t, retries, "max_attempts 3 reached: on_max_exceeded")
	require.Equal(t, pe.PhaseRetried, f.Phase())

	o, err := f.ApplyPartialFailurePolicy()
	require.NoError(t, err)
	require.Equal(t, pe.PhasePolicyApplied, f.Phase())
	require.Equal(t, pe.OverallPartiallyCommitted, o.State.OverallState)
	require.False(t, o.State.ConsistencyPolicy.PublishAllowed)
	require.Equal(t, []pe.FailedUnitGroup{{Dataset: "nfe", Partitions: []string{"2026-01-03"}, ErrorCode: shuffleF.Code, FaultFamily: fault.RuntimeBehavioralFaults}}, o.State.FailedUnits)
	require.Equal(t, 3, o.Actions[len(o.Actions)-1].Attempts)

	outcomes, err := f.ProjectState()
	require.NoError(t, err)
	require.Equal(t, pe.PhaseProjected, f.Phase())
	require.Equal(t, o.Projections(), outcomes)
	require.Len(t, outcomes, 2)
	require.Equal(t, registry.StateCommitted, outcomes[0].State) // clientes_anon
	require.Equal(t, registry.StatePartiallyCommitted, outcomes[1].State)
	require.False(t, outcomes[1].PublishAllowed)
}

func TestFlowRecoveredByRetry(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil)
	recordFirst(t, f)
	retries, err := f.RetryFailedUnits()
	require.NoError(t, err)
	require.Len(t, retries, 1)
	require.NoError(t, f.Record(pe.Succeeded(retries[0].Unit, 2)))
	retries, err = f.RetryFailedUnits()
	require.NoError(t, err)
	require.Empty(t, retries)
	o, err := f.ApplyPartialFailurePolicy()
	require.NoError(t, err)
	require.Equal(t, pe.OverallCommitted, o.State.OverallState)
	require.Equal(t, pe.Published, o.PublishStatus)
}

func TestFlowRetryDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		retry  func(*pe.RetryPolicy)
		result pe.UnitResult
		want   []int // attempts asked for
	}{
		{"a runtime fault is retried", nil, pe.Failed(u("nfe", "2026-01-03"), 1, nullF), []int{2}},
		{"schema drift is not retried", nil, pe.Failed(u("nfe", "2026-01-03"), 1, driftF), nil},
		{"a semantic fault is not retried", nil, pe.Failed(u("nfe", "2026-01-03"), 1, fault.Fault{Code: "GOVERNANCE_RAW_PII_JOIN", Family: fault.SemanticFaults}), nil},
		{"the activity already used every attempt", nil, pe.Failed(u("nfe", "2026-01-03"), 3, nullF), nil},
		{"the activity used two: one more", nil, pe.Failed(u("nfe", "2026-01-03"), 2, nullF), []int{3}},
		{"retries disabled", func(r *pe.RetryPolicy) { r.Enabled = false }, pe.Failed(u("nfe", "2026-01-03"), 1, nullF), nil},
		{"one attempt only", func(r *pe.RetryPolicy) { r.MaxAttempts = 1 }, pe.Failed(u("nfe", "2026-01-03"), 1, nullF), nil},
		{"drift made retryable by the bundle", func(r *pe.RetryPolicy) { r.NonRetryableCodes = nil }, pe.Failed(u("nfe", "2026-01-03"), 1, driftF), []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, func(c *pe.Config) {
				c.Units = []pe.Unit{tc.result.Unit}
				if tc.retry != nil {
					tc.retry(&c.Retry)
				}
			})
			require.NoError(t, f.Record(tc.result))
			retries, err := f.RetryFailedUnits()
			require.NoError(t, err)
			var got []int
			for _, r := range retries {
				got = append(got, r.Attempt)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFlowRefusesOutOfOrder(t *testing.T) {
	t.Parallel()
	third := u("nfe", "2026-01-03")
	toRetrying := func(t *testing.T, f *pe.Flow) {
		recordFirst(t, f)
		_, err := f.RetryFailedUnits()
		require.NoError(t, err)
	}
	toRetried := func(t *testing.T, f *pe.Flow) {
		recordFirst(t, f)
		for attempt := 2; attempt <= 3; attempt++ {
			_, err := f.RetryFailedUnits()
			require.NoError(t, err)
			require.NoError(t, f.Record(pe.Failed(third, attempt, shuffleF)))
		}
		_, err := f.RetryFailedUnits()
		require.NoError(t, err)
	}
	toApplied := func(t *testing.T, f *pe.Flow) {
		toRetried(t, f)
		_, err := f.ApplyPartialFailurePolicy()
		require.NoError(t, err)
	}
	toProjected := func(t *testing.T, f *pe.Flow) {
		toApplied(t, f)
		_, err := f.ProjectState()
		require.NoError(t, err)
	}
	toPanicked := func(t *testing.T, f *pe.Flow) {
		recordFirst(t, f)
		_, err := f.PanicRollback(pe.TriggerConnectionLost, "lost", nil)
		require.NoError(t, err)
	}
	apply := func(f *pe.Flow) error { _, err := f.ApplyPartialFailurePolicy(); return err }
	project := func(f *pe.Flow) error { _, err := f.ProjectState(); return err }
	retry := func(f *pe.Flow) error { _, err := f.RetryFailedUnits(); return err }
	record := func(r pe.UnitResult) func(*pe.Flow) error { return func(f *pe.Flow) error { return f.Record(r) } }
	panicNow := func(f *pe.Flow) error {
		_, err := f.PanicRollback(pe.TriggerStorageQuotaExceeded, "quota", nil)
		return err
	}

	tests := []struct {
		name  string
		setup func(*testing.T, *pe.Flow)
		call  func(*pe.Flow) error
		err   string
	}{
		{"apply before any retry step", recordFirst, apply, "apply_partial_failure_policy is allowed in phase [retried], the flow is in executing"},
		{"project before the policy", recordFirst, project, "project_state is allowed in phase [policy_applied]"},
		{"retry before every unit has a result", func(t *testing.T, f *pe.Flow) { require.NoError(t, f.Record(pe.Succeeded(u("nfe", "2026-01-01"), 1))) }, retry, "no result recorded for clientes_anon/2026-01-01"},
		{"apply while retrying", toRetrying, apply, "the flow is in retrying"},
		{"ask again before recording the retry", toRetrying, retry, "retries not recorded yet: nfe/2026-01-03 attempt 2"},
		{"re-run a successful unit", toRetrying, record(pe.Succeeded(u("nfe", "2026-01-01"), 2)), "has no retry scheduled"},
		{"record a result twice", recordFirst, record(pe.Succeeded(u("nfe", "2026-01-01"), 1)), "already has a result"},
		{"record after retries are over", toRetried, record(pe.Succeeded(third, 4)), "record is allowed in phase [executing retrying], the flow is in retried"},
		{"retry after retries are over", toRetried, retry, "the flow is in retried"},
		{"project twice", toProjected, project, "the flow is over"},
		{"apply twice", toApplied, apply, "the flow is in policy_applied"},
		{"panic after the policy: a projection failure instead", toApplied, panicNow, "panic_rollback is allowed in phase [executing retrying retried]"},
		{"apply after a panic", toPanicked, apply, "panic rollback and nothing may follow"},
		{"project after a panic", toPanicked, project, "panic rollback and nothing may follow"},
		{"record after a panic", toPanicked, record(pe.Succeeded(third, 2)), "panic rollback and nothing may follow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, nil)
			tc.setup(t, f)
			before := f.Phase()
			err := tc.call(f)
			require.ErrorIs(t, err, pe.ErrOutOfOrder)
			require.ErrorContains(t, err, tc.err)
			require.Equal(t, before, f.Phase(), "a refused step changes nothing")
		})
	}
}

func TestFlowRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*testing.T, *pe.Flow)
		call  func(*pe.Flow) error
		is    error
		err   string
	}{
		{"an undeclared unit", nil, func(f *pe.Flow) error { return f.Record(pe.Succeeded(u("nfe", "2026-02-01"), 1)) }, pe.ErrInvalidResults, "not one of the flow's units"},
		{"more attempts than allowed", nil, func(f *pe.Flow) error { return f.Record(pe.Failed(u("nfe", "2026-01-01"), 4, nullF)) }, pe.ErrInvalidResults, "above retry_policy.max_attempts 3"},
		{"an environmental fault needs a panic", nil, func(f *pe.Flow) error {
			return f.Record(pe.Failed(u("nfe", "2026-01-01"), 1, fault.Fault{Code: "IAM_REVOKED", Family: fault.EnvironmentalFaults}))
		}, pe.ErrPanicRequired, "IAM_REVOKED"},
		{"a retry with the wrong attempt", func(t *testing.T, f *pe.Flow) {
			recordFirst(t, f)
			_, err := f.RetryFailedUnits()
			require.NoError(t, err)
		}, func(f *pe.Flow) error { return f.Record(pe.Failed(u("nfe", "2026-01-03"), 3, shuffleF)) }, pe.ErrInvalidResults, "scheduled for attempt 2, the result says 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, nil)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			err := tc.call(f)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestNewFlowRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*pe.Config)
		is   error
		err  string
	}{
		{"no units", func(c *pe.Config) { c.Units = nil }, pe.ErrInvalidResults, "declare every unit"},
		{"a unit twice", func(c *pe.Config) { c.Units = append(c.Units, c.Units[0]) }, pe.ErrInvalidResults, "declared twice"},
		{"invalid policy", func(c *pe.Config) { c.Policy = pe.Policy{Mode: "x"} }, pe.ErrInvalidPolicy, "mode"},
		{"invalid retry policy", func(c *pe.Config) { c.Retry.RetryScope = "all_units" }, pe.ErrInvalidPolicy, "retry_scope"},
		{"invalid consistency unit", func(c *pe.Config) { c.ConsistencyUnit = pe.ConsistencyUnit{} }, pe.ErrInvalidResults, "consistency_unit.type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := pe.Config{Policy: selective, Retry: pe.DefaultRetryPolicy(), ConsistencyUnit: byDate, Units: fiscalUnits()}
			tc.mut(&cfg)
			_, err := pe.NewFlow(cfg)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestFlowIgnoresRecordOrder(t *testing.T) {
	t.Parallel()
	run := func(units []pe.Unit) pe.Outcome {
		f := newFlow(t, func(c *pe.Config) { c.Units = units })
		for i := len(units) - 1; i >= 0; i-- {
			if units[i] == u("nfe", "2026-01-03") {
				require.NoError(t, f.Record(pe.Failed(units[i], 3, shuffleF)))
			} else {
				require.NoError(t, f.Record(pe.Succeeded(units[i], 1)))
			}
		}
		_, err := f.RetryFailedUnits()
		require.NoError(t, err)
		o, err := f.ApplyPartialFailurePolicy()
		require.NoError(t, err)
		return o
	}
	a := fiscalUnits()
	b := append([]pe.Unit{}, a[3:]...)
	b = append(b, a[:3]...)
	require.Equal(t, run(a), run(b))
}
