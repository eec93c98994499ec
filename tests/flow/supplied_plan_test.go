package flow_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/workflows"
)

// dataPlaneRows counts what an intent could have written: every row of the
// target, and the intent's rows in staging and quarantine.
func dataPlaneRows(t *testing.T, intentID string) (target, staged, quarantined int) {
	t.Helper()
	ctx, pool := context.Background(), testDB.Pool
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM silver.silver_documentos`).Scan(&target))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, intentID).Scan(&staged))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, intentID).Scan(&quarantined))
	return target, staged, quarantined
}

// requireNothingRan checks that a blocked intent never reached the data
// plane: nothing locked, run or written.
func requireNothingRan(t *testing.T, id string, res workflows.IntentResult, targetBefore int) {
	t.Helper()
	require.Nil(t, res.Execution, "blocked before execution")
	target, staged, quarantined := dataPlaneRows(t, id)
	require.Equal(t, targetBefore, target, "nothing written to the target")
	require.Zero(t, staged+quarantined, "nothing staged or quarantined")
	types := eventTypes(t, id)
	for _, e := range []string{audit.EventScopeAcquired, audit.EventUnitExecuted, audit.EventEnvironmentUpdate} {
		require.NotContains(t, types, e)
	}
	active, err := store.ActiveLocks(context.Background())
	require.NoError(t, err)
	for _, h := range active {
		require.NotEqual(t, id, h.IntentID, "no scope held")
	}
}

// TestSuppliedPlanOutsideSignatureIsBlockedAndWritesNothing is finding 3 of
// issue 10 through the real activities on Postgres: the reconciliation's
// plan, exported as `cfa plan ID -o json` prints it, edited and re-hashed,
// then supplied with the same intent (`submit --plan`). Each ends blocked
// by Static Validation with STATIC_OUTSIDE_SIGNATURE, and the seeded data
// plane is left as it was.
func TestSuppliedPlanOutsideSignatureIsBlockedAndWritesNothing(t *testing.T) {
	seedDemo(t, false)
	ctx := context.Background()
	dry := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), dry)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	rec, err := store.GetPlan(ctx, dry)
	require.NoError(t, err)

	window := func(from, to string) func(t *testing.T, p *planner.ExecutionPlan) {
		return func(t *testing.T, p *planner.ExecutionPlan) {
			w := planner.Window{Column: "processing_date", From: from, To: to}
			p.Window = &w
			for i := range p.Steps {
				if p.Steps[i].Kind == planner.KindExtract && p.Steps[i].Dataset == "nfe" {
					f := w
					p.Steps[i].Params.Filter = &f
				}
			}
		}
	}
	tests := []struct {
		name string
		edit func(t *testing.T, p *planner.ExecutionPlan)
		// static: the rules Static Validation names in the code; nil when
		// the code is clean and only the plan's conformance blocks it.
		static []string
	}{
		{name: "window_moved_to_2000_01_01_and_rehashed", edit: window("2000-01-01", "2026-01-04"), static: []string{"outside_signed_window"}},
		// 9999-12-31 itself is out of the plan's date bounds and refused
		// earlier, by the input checks; the planner unit tests keep it.
		{name: "window_to_2099_12_31", edit: window("2025-12-05", "2099-12-31"), static: []string{"outside_signed_window"}},
		{name: "join_on_uf_instead_of_cliente_id", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			uf := planner.Column{Name: "uf", Type: "string", Origin: "clientes.uf"}
			for i := range p.Steps {
				s := &p.Steps[i]
				switch {
				case s.Kind == planner.KindExtract && s.Dataset == "clientes", s.Kind == planner.KindAnonymize && s.Dataset == "clientes":
					s.Columns = append(s.Columns, uf)
				case s.Kind == planner.KindJoin:
					s.Params.Join.LeftColumn, s.Params.Join.RightColumn = "uf", "uf"
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p planner.ExecutionPlan
			require.NoError(t, json.Unmarshal(rec.Plan, &p), "a fresh copy of the exported plan")
			require.Equal(t, &planner.Window{Column: "processing_date", From: "2025-12-05", To: "2026-01-04"}, p.Window, "fixture: last 30 days as of %s", dataplane.DemoAsOf)
			tc.edit(t, &p)
			p.Hash, err = planner.HashPlan(p)
			require.NoError(t, err)

			id := uniqueID(t)
			before, _, _ := dataPlaneRows(t, id)
			env := newEnv(t, newActivities(t, nil), id)
			approveAt(env, time.Minute)
			res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, Plan: &p, UnitRetryBaseSeconds: 1})

			require.Equal(t, decision.Blocked, res.DecisionState, res.Reason)
			require.Equal(t, string(decision.AuthorityStaticValidation), res.DecidedBy, res.Reason)
			require.Equal(t, res.SignatureHash, p.SignatureHash, "the plan was made for this very signature")
			require.True(t, slices.ContainsFunc(res.Faults, func(f fault.Fault) bool {
				return f.Code == fault.CodeOutsideSignature && f.Family == fault.StaticSafetyFaults && f.MandatoryAction == "block"
			}), "faults: %+v", res.Faults)
			require.NotNil(t, res.Static)
			require.Equal(t, tc.static == nil, res.Static.Passed)
			for _, r := range tc.static {
				require.Contains(t, res.Static.Violated, r)
			}
			requireNothingRan(t, id, res, before)
		})
	}
}

// TestMergeKeyThatIsNotAKeyBlocksTheIntent is finding 4 of issue 10 through
// the real activities: "merge key valor_total" on the reconciliation is
// refused by the Execution Planner, naming the key, before anything is
// planned or written (it once dropped 663 of 6,000 documents).
func TestMergeKeyThatIsNotAKeyBlocksTheIntent(t *testing.T) {
	seedDemo(t, false)
	id := uniqueID(t)
	before, _, _ := dataPlaneRows(t, id)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute, 3*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver + " merge key valor_total", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})

	require.NotNil(t, res.Signature)
	require.Equal(t, "valor_total", res.Signature.Constraints.MergeKey, "fixture: the key the user declared")
	require.Equal(t, decision.Blocked, res.DecisionState, res.Reason)
	require.Equal(t, string(decision.AuthorityExecutionPlanner), res.DecidedBy)
	require.NotEmpty(t, res.Faults)
	f := res.Faults[0]
	require.Equal(t, fault.CodePlanConstraintViolated, f.Code)
	require.Equal(t, planner.ConstraintMergeKeyUnique, f.Rule)
	require.Contains(t, f.Message, `merge key "valor_total" is not a key of silver_documentos`)
	require.Contains(t, f.Remediation[0], `merge on "nfe_id"`)
	require.Empty(t, res.PlanHash, "no plan, so no DISTINCT ON (valor_total, processing_date)")
	requireNothingRan(t, id, res, before)
}
