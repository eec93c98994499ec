package flow_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// structured is the reconcile intent as a structured signature with the
// given temporal filter and replan count.
func structured(tf signature.TemporalFilter, replan int) *signature.Signature {
	return &signature.Signature{
		Intent: "reconcile", Operations: []string{signature.OpJoin}, TargetLayer: "bronze_to_silver",
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource}, {Name: "clientes", Role: signature.RoleSource},
			{Name: "silver_documentos", Role: signature.RoleTarget},
		},
		Constraints: signature.Constraints{TemporalFilter: &tf},
		Replan:      replan,
	}
}

// TestBadValuesBlockTheIntent is finding 5 of issue 10: each bad value, as
// submitted, ends the intent blocked with a Semantic Fault naming the
// field, at the first stage that sees it, and the workflow never fails.
func TestBadValuesBlockTheIntent(t *testing.T) {
	received := []string{audit.EventIntentReceived, audit.EventDecision, audit.EventIntentCompleted}
	resolved := []string{audit.EventIntentReceived, audit.EventEnvironmentConsulted, audit.EventSemanticResolution, audit.EventDecision, audit.EventIntentCompleted}
	window := &planner.Window{Column: "processing_date", From: "2026-01-01", To: "9999-12-31"}
	cases := []struct {
		name   string
		in     workflows.IntentInput
		fields []string // the fields the faults name, in order
		events []string // the intent's audit trail
	}{
		{"filter value with a quote injection",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{From: "2026-01-01' OR '1'='1"}, 0)},
			[]string{"constraints.temporal_filter.from"}, received},
		{"negative last_days",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{LastDays: -30}, 0)},
			[]string{"constraints.temporal_filter.last_days"}, received},
		{"huge last_days",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{LastDays: 1 << 30}, 0)},
			[]string{"constraints.temporal_filter.last_days"}, received},
		{"negative replan",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{LastDays: 30}, -1000)},
			[]string{"replan"}, received},
		{"date in year 9999",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{From: "2026-01-01", To: "9999-12-31"}, 0)},
			[]string{"constraints.temporal_filter.to"}, received},
		{"date in year 1",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{From: "0001-01-01"}, 0)},
			[]string{"constraints.temporal_filter.from"}, received},
		{"retry base of 24 h",
			workflows.IntentInput{Text: autoAggregate, UnitRetryBaseSeconds: 24 * 3600},
			[]string{"unit_retry_base_seconds"}, received},
		{"retry base of 2,540,400 h",
			workflows.IntentInput{Text: autoAggregate, UnitRetryBaseSeconds: 2_540_400 * 3600},
			[]string{"unit_retry_base_seconds"}, received},
		{"negative escalation timeout sent by another client",
			workflows.IntentInput{Text: autoAggregate, EscalationTimeoutSeconds: -1},
			[]string{"escalation_timeout_seconds"}, received},
		{"as_of out of range",
			workflows.IntentInput{Text: autoAggregate, AsOf: "0001-01-01"},
			[]string{"as_of"}, received},
		{"supplied plan with a window to 9999-12-31",
			workflows.IntentInput{Text: reconcileToSilver, Plan: &planner.ExecutionPlan{Window: window,
				Steps: []planner.Step{{ID: "01_extract_nfe", Kind: planner.KindExtract, Params: planner.Params{Filter: window}}}}},
			[]string{"plan.window.to", "plan.steps[0].params.filter.to"}, received},
		{"every bad field at once",
			workflows.IntentInput{Signature: structured(signature.TemporalFilter{From: "x", LastDays: -30}, -1000), UnitRetryBaseSeconds: 86400},
			[]string{"unit_retry_base_seconds", "replan", "constraints.temporal_filter.from", "constraints.temporal_filter.last_days"}, received},
		{"text resolved to a window past the limit",
			workflows.IntentInput{Text: "aggregate vendas_diarias by day over the last 5000 days"},
			[]string{"constraints.temporal_filter.last_days"}, resolved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := uniqueID(t)
			res := run(t, newEnv(t, newActivities(t, nil), id), tc.in) // run requires no workflow error
			require.Equal(t, decision.Blocked, res.DecisionState)
			require.Equal(t, string(decision.AuthorityIntentNormalizer), res.DecidedBy)
			var named []string
			for _, f := range res.Faults {
				require.Equal(t, bounds.CodeValueOutOfBounds, f.Code)
				require.Contains(t, f.Message, f.Rule)
				named = append(named, f.Rule)
			}
			require.Equal(t, tc.fields, named, "each fault names its field")
			for _, field := range tc.fields {
				require.Contains(t, res.Reason, field)
			}
			require.Empty(t, res.PolicyAttempts, "never governed, so no attempt -1000")
			require.Nil(t, res.PreCost, "never costed")
			require.Equal(t, tc.events, eventTypes(t, id))
		})
	}
}

// TestBadCompositeValuesBlockTheComposite: a graph over 200 sub-intents, a
// sub-intent signature with a bad value, or a bad option blocks the
// composite before any sub-intent starts.
func TestBadCompositeValuesBlockTheComposite(t *testing.T) {
	huge := composite.IntentGraph{RootIntent: "huge", SharedContext: composite.SharedContext{ConsistencyUnit: composite.UnitDataset, Key: "vendas_diarias"}}
	for i := range 2000 {
		huge.SubIntents = append(huge.SubIntents, composite.SubIntent{ID: fmt.Sprint("s", i), Intent: autoAggregate})
	}
	small := composite.IntentGraph{RootIntent: "small", SharedContext: composite.SharedContext{ConsistencyUnit: composite.UnitDataset, Key: "vendas_diarias"},
		SubIntents: []composite.SubIntent{{ID: "ok", Intent: autoAggregate}, {ID: "bad", Signature: structured(signature.TemporalFilter{LastDays: -30}, 0)}}}
	cases := []struct {
		name   string
		in     workflows.CompositeInput
		fields []string
	}{
		{"2,000 sub-intents", workflows.CompositeInput{Graph: huge}, []string{"sub_intents"}},
		{"a sub-intent's last_days", workflows.CompositeInput{Graph: small}, []string{"sub_intents[1].signature.constraints.temporal_filter.last_days"}},
		{"an escalation timeout of a year", workflows.CompositeInput{Graph: small, EscalationTimeoutSeconds: 365 * 24 * 3600}, []string{"escalation_timeout_seconds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := uniqueID(t)
			env := newCompositeEnv(t, id)
			env.ExecuteWorkflow(workflows.CompositeIntentWorkflowName, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var res workflows.CompositeResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, decision.Blocked, res.DecisionState)
			var named []string
			for _, f := range res.Faults {
				require.Equal(t, bounds.CodeValueOutOfBounds, f.Code)
				named = append(named, f.Rule)
			}
			require.Equal(t, tc.fields, named)
			require.Empty(t, res.SubIntents, "no sub-intent started")
			for _, ty := range eventTypes(t, id) {
				require.NotEqual(t, audit.EventSubIntentStarted, ty)
			}
		})
	}
}
