package bounds_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// reconcile is a well-formed structured signature; each case breaks one
// field of a copy.
func reconcile() signature.Signature {
	return signature.Signature{
		Intent: "reconcile", Operations: []string{signature.OpJoin}, TargetLayer: "bronze_to_silver",
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, SizeBytes: 4 << 40},
			{Name: "clientes", Role: signature.RoleSource},
		},
		Constraints: signature.Constraints{TemporalFilter: &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-01-31"}},
	}
}

func withFilter(tf signature.TemporalFilter) signature.Signature {
	s := reconcile()
	s.Constraints.TemporalFilter = &tf
	return s
}

// fields lists the paths of the bad fields err names.
func fields(err error) []string {
	var out []string
	for _, e := range bounds.Fields(err) {
		out = append(out, e.Field)
	}
	return out
}

func TestSignatureBounds(t *testing.T) {
	t.Parallel()
	replan := func(n int) signature.Signature { s := reconcile(); s.Replan = n; return s }
	size := func(n int64) signature.Signature { s := reconcile(); s.Datasets[1].SizeBytes = n; return s }
	many := reconcile()
	for i := range 51 {
		many.Datasets = append(many.Datasets, signature.Dataset{Name: fmt.Sprint("d", i)})
	}
	cases := []struct {
		name string
		sig  signature.Signature
		want []string // the fields named; none when the signature is in bounds
		says string   // part of the message
	}{
		{"well-formed", reconcile(), nil, ""},
		{"last_days alone", withFilter(signature.TemporalFilter{Column: "processing_date", LastDays: 30}), nil, ""},
		{"last_days at its limit", withFilter(signature.TemporalFilter{LastDays: bounds.MaxLastDays}), nil, ""},
		{"dates at the limits", withFilter(signature.TemporalFilter{From: bounds.MinDate, To: bounds.MaxDate}), nil, ""},
		{"replan at its limit", replan(bounds.MaxReplan), nil, ""},
		{"quote injection in from", withFilter(signature.TemporalFilter{From: "2026-01-01' OR '1'='1"}),
			[]string{"constraints.temporal_filter.from"}, `"2026-01-01' OR '1'='1": must be a calendar date YYYY-MM-DD between 1900-01-01 and 2100-12-31`},
		{"quote injection in to", withFilter(signature.TemporalFilter{From: "2026-01-01", To: "2026-02-01'; DROP TABLE nfe; --"}),
			[]string{"constraints.temporal_filter.to"}, "must be a calendar date"},
		{"negative last_days", withFilter(signature.TemporalFilter{LastDays: -30}),
			[]string{"constraints.temporal_filter.last_days"}, "constraints.temporal_filter.last_days is -30: must be between 1 and 3650 (days)"},
		{"huge last_days", withFilter(signature.TemporalFilter{LastDays: math.MaxInt32}),
			[]string{"constraints.temporal_filter.last_days"}, "between 1 and 3650"},
		{"date far in the future", withFilter(signature.TemporalFilter{From: "2026-01-01", To: "9999-12-31"}),
			[]string{"constraints.temporal_filter.to"}, `"9999-12-31"`},
		{"date far in the past", withFilter(signature.TemporalFilter{From: "0001-01-01"}),
			[]string{"constraints.temporal_filter.from"}, `"0001-01-01"`},
		{"not a calendar date", withFilter(signature.TemporalFilter{From: "2026-02-30"}),
			[]string{"constraints.temporal_filter.from"}, "calendar date"},
		{"empty window", withFilter(signature.TemporalFilter{From: "2026-02-01", To: "2026-01-01"}),
			[]string{"constraints.temporal_filter.to"}, "after constraints.temporal_filter.from (2026-02-01)"},
		{"negative replan", replan(-1000), []string{"replan"}, "replan is -1000: must be between 0 and 10"},
		{"replan past any bundle's limit", replan(11), []string{"replan"}, "between 0 and 10"},
		{"negative size", size(-1), []string{"datasets[1].size_bytes"}, "datasets[1].size_bytes is -1"},
		{"too many datasets", many, []string{"datasets"}, "53 datasets: must be at most 50 datasets"},
		{"every bad field at once", func() signature.Signature {
			s := withFilter(signature.TemporalFilter{From: "x", To: "y", LastDays: -1})
			s.Replan = -1
			return s
		}(), []string{"replan", "constraints.temporal_filter.from", "constraints.temporal_filter.to", "constraints.temporal_filter.last_days"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := bounds.Signature(tc.sig)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, bounds.ErrOutOfBounds)
			require.Equal(t, tc.want, fields(err))
			require.ErrorContains(t, err, tc.says)
		})
	}
}

func TestLongValuesAreShortened(t *testing.T) {
	t.Parallel()
	long := "2026-01-01" + string(make([]byte, 1<<20))
	err := bounds.Signature(withFilter(signature.TemporalFilter{From: long}))
	require.Error(t, err)
	require.Less(t, len(err.Error()), 400, "a megabyte value is not copied into the message")
	require.Contains(t, err.Error(), "(1048586 bytes)")
}

func TestPlanBounds(t *testing.T) {
	t.Parallel()
	plan := func(from, to string) planner.ExecutionPlan {
		w := &planner.Window{Column: "processing_date", From: from, To: to}
		return planner.ExecutionPlan{Window: w, Steps: []planner.Step{
			{ID: "01_extract_nfe", Kind: planner.KindExtract, Params: planner.Params{Filter: w}},
			{ID: "02_load", Kind: planner.KindLoad, Params: planner.Params{Load: &planner.Load{Window: w}}},
		}}
	}
	require.NoError(t, bounds.Plan(plan("2026-01-01", "2026-01-31")))
	require.NoError(t, bounds.Plan(plan("2026-01-01", "")))

	err := bounds.Plan(plan("2026-01-01", "9999-12-31"))
	require.Equal(t, []string{"plan.window.to", "plan.steps[0].params.filter.to", "plan.steps[1].params.load.window.to"}, fields(err))

	err = bounds.Plan(plan("2026-01-01' OR '1'='1", ""))
	require.Equal(t, []string{"plan.window.from", "plan.steps[0].params.filter.from", "plan.steps[1].params.load.window.from"}, fields(err))

	huge := planner.ExecutionPlan{Steps: make([]planner.Step, bounds.MaxPlanSteps+1)}
	require.Equal(t, []string{"plan.steps"}, fields(bounds.Plan(huge)))
}

func TestRequestBounds(t *testing.T) {
	t.Parallel()
	sig := withFilter(signature.TemporalFilter{LastDays: -30})
	cases := []struct {
		name string
		req  intent.Request
		want []string
	}{
		{"defaults", intent.Request{Text: "x"}, nil},
		{"every option at its limit", intent.Request{Text: "x", AsOf: bounds.MaxDate, EscalationTimeoutSeconds: 7 * 24 * 3600,
			UnitRetryBaseSeconds: 3600, CostCeilingDBU: bounds.MaxCostCeilingDBU}, nil},
		{"retry base of a day", intent.Request{Text: "x", UnitRetryBaseSeconds: 24 * 3600}, []string{"unit_retry_base_seconds"}},
		{"retry base of 2,540,400 h", intent.Request{Text: "x", UnitRetryBaseSeconds: 2_540_400 * 3600}, []string{"unit_retry_base_seconds"}},
		{"negative retry base", intent.Request{Text: "x", UnitRetryBaseSeconds: -1}, []string{"unit_retry_base_seconds"}},
		{"escalation timeout of a year", intent.Request{Text: "x", EscalationTimeoutSeconds: 365 * 24 * 3600}, []string{"escalation_timeout_seconds"}},
		{"negative escalation timeout", intent.Request{Text: "x", EscalationTimeoutSeconds: -5}, []string{"escalation_timeout_seconds"}},
		{"NaN ceiling", intent.Request{Text: "x", CostCeilingDBU: math.NaN()}, []string{"cost_ceiling_dbu"}},
		{"infinite ceiling", intent.Request{Text: "x", CostCeilingDBU: math.Inf(1)}, []string{"cost_ceiling_dbu"}},
		{"as_of out of range", intent.Request{Text: "x", AsOf: "9999-12-31"}, []string{"as_of"}},
		{"signature fields unprefixed, plan fields under plan.", intent.Request{Signature: &sig, UnitRetryBaseSeconds: 86400,
			Plan: &planner.ExecutionPlan{Window: &planner.Window{From: "0001-01-01"}}},
			[]string{"unit_retry_base_seconds", "constraints.temporal_filter.last_days", "plan.window.from"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, fields(bounds.Request(tc.req)))
		})
	}
	err := bounds.Request(intent.Request{UnitRetryBaseSeconds: 86400})
	require.EqualError(t, err, "unit_retry_base_seconds is 86400: must be between 1 and 3600 (seconds), or 0 for the default 30")
}

func TestGraphBounds(t *testing.T) {
	t.Parallel()
	graph := func(n int) composite.IntentGraph {
		g := composite.IntentGraph{RootIntent: "big", SharedContext: composite.SharedContext{ConsistencyUnit: composite.UnitDataset, Key: "k"}}
		for i := range n {
			g.SubIntents = append(g.SubIntents, composite.SubIntent{ID: fmt.Sprint("s", i), Intent: "aggregate vendas_diarias by day"})
			if i > 0 {
				g.Dependencies = append(g.Dependencies, composite.Dependency{From: fmt.Sprint("s", i-1), To: fmt.Sprint("s", i)})
			}
		}
		return g
	}
	require.NoError(t, bounds.Graph(graph(bounds.MaxSubIntents)))

	err := bounds.Graph(graph(2000))
	require.Equal(t, []string{"sub_intents", "dependencies"}, fields(err))
	require.ErrorContains(t, err, "sub_intents is 2000 sub-intents: must be at most 200 sub-intents")

	g := graph(3)
	bad := withFilter(signature.TemporalFilter{LastDays: -30})
	bad.Replan = -1000
	g.SubIntents[2] = composite.SubIntent{ID: "s2", Signature: &bad}
	require.Equal(t, []string{"sub_intents[2].signature.replan", "sub_intents[2].signature.constraints.temporal_filter.last_days"}, fields(bounds.Graph(g)))
}

func TestFlagBounds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want string // empty: accepted
	}{
		{"unset retry base", bounds.UnitRetryBase(0), ""},
		{"retry base 30s", bounds.UnitRetryBase(30 * time.Second), ""},
		{"retry base 1h", bounds.UnitRetryBase(time.Hour), ""},
		{"retry base 24h", bounds.UnitRetryBase(24 * time.Hour), "--unit-retry-base must be at most 1h, got 24h: use a value between 1s and 1h"},
		{"retry base 2,540,400h", bounds.UnitRetryBase(2_540_400 * time.Hour), "got 2540400h"},
		{"retry base 500ms", bounds.UnitRetryBase(500 * time.Millisecond), "--unit-retry-base must be at least 1s, got 500ms"},
		{"negative timeout", bounds.EscalationTimeout(-5 * time.Second), "--escalation-timeout must be positive, got -5s: use a value between 1s and 168h"},
		{"timeout 30 days", bounds.EscalationTimeout(30 * 24 * time.Hour), "--escalation-timeout must be at most 168h, got 720h"},
		{"timeout 90m", bounds.EscalationTimeout(90 * time.Minute), ""},
		{"ceiling 20000", bounds.CostCeiling(20000), "--cost-ceiling must be at most 10000 DBU, got 20000"},
		{"negative ceiling", bounds.CostCeiling(-1), "--cost-ceiling must be a positive number of DBU, got -1"},
		{"NaN ceiling", bounds.CostCeiling(math.NaN()), "--cost-ceiling must be a positive number"},
		{"as-of in range", bounds.AsOf("2026-01-03"), ""},
		{"as-of 0001-01-01", bounds.AsOf("0001-01-01"), `--as-of must be a calendar date YYYY-MM-DD, got "0001-01-01": use a value between 1900-01-01 and 2100-12-31`},
		{"list limit 0", bounds.ListLimit(0), "--limit must be between 1 and 1000, got 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.want == "" {
				require.NoError(t, tc.err)
				return
			}
			require.ErrorIs(t, tc.err, bounds.ErrOutOfBounds)
			require.ErrorContains(t, tc.err, tc.want)
		})
	}
}

func TestVoteBlocksWithOneSemanticFaultPerField(t *testing.T) {
	t.Parallel()
	s := withFilter(signature.TemporalFilter{LastDays: -30})
	s.Replan = -1000
	v := bounds.Vote(bounds.Signature(s))
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, decision.AuthorityIntentNormalizer, v.Authority)
	require.Len(t, v.Faults, 2)
	for i, field := range []string{"replan", "constraints.temporal_filter.last_days"} {
		f := v.Faults[i]
		require.Equal(t, bounds.CodeValueOutOfBounds, f.Code)
		require.Equal(t, fault.SemanticFaults, f.Family)
		require.Equal(t, fault.StageIntentNormalizer, f.Stage)
		require.True(t, f.DetectedBeforeExecution)
		require.Equal(t, "block", f.MandatoryAction)
		require.Equal(t, field, f.Rule, "the fault names the field")
		require.Contains(t, f.Message, field)
		require.Contains(t, f.Remediation[0], field+" must be between")
		require.Contains(t, v.Reason, field)
	}
	other := bounds.Vote(errors.New("boom"))
	require.Len(t, other.Faults, 1)
	require.Equal(t, bounds.CodeValueOutOfBounds, other.Faults[0].Code)
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 24 * time.Hour: "24h", 90 * time.Minute: "1h30m", time.Second: "1s",
		500 * time.Millisecond: "500ms", -5 * time.Second: "-5s", 90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s",
	} {
		require.Equal(t, want, bounds.Duration(d), d.String())
	}
}
