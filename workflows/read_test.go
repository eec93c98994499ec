package workflows_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/readresult"
	"github.com/contextualflux/cfa/workflows"
)

// readPlan is a read plan as the planner makes one (docs/adr/0132): no
// target, a query step last.
func readPlan() planner.ExecutionPlan {
	return planner.ExecutionPlan{Hash: "plan", Strategy: planner.ReadOnly, ConsistencyUnit: planner.UnitDataset, Steps: []planner.Step{
		{ID: "01_extract_nfe", Kind: planner.KindExtract, Dataset: "nfe", Idempotence: planner.ReadOnly},
		{ID: "02_query_nfe", Kind: planner.KindQuery, Inputs: []string{"01_extract_nfe"}, Dataset: "nfe", Idempotence: planner.ReadOnly,
			Columns: []planner.Column{{Name: "uf", Type: "string"}, {Name: "count", Type: "bigint"}},
			Params:  planner.Params{Query: &planner.Query{Limit: 2}}},
	}}
}

// reading mocks ExecuteRead: it returns rows, or fails with err; got
// records its inputs.
func reading(rows [][]any, truncated bool, err error, got *[]activities.ReadInput) func(env *testsuite.TestWorkflowEnvironment) {
	return func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.ExecuteRead, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.Step, in activities.ReadInput) (activities.ReadOutcome, error) {
			*got = append(*got, in)
			if err != nil {
				return activities.ReadOutcome{}, err
			}
			res := activities.ReadResult{Columns: []readresult.Column{{Name: "uf", Type: "string"}, {Name: "count", Type: "bigint"}},
				Rows: rows, RowCount: len(rows), Truncated: truncated, RowLimit: 2, MaskedColumns: []planner.MaskedColumn{}}
			out := activities.ReadOutcome{Stage: activities.Stage{Summary: "2 rows", Events: 1}, Result: &res}
			out.Stop, out.Votes = true, []decision.Vote{readresult.Vote(res)}
			return out, nil
		})
	}
}

// TestAReadReturnsItsResult (docs/adr/0132): a read is planned, generated,
// validated and revalidated like any intent, takes no scope lock, runs its
// query (ExecuteRead) and stops: nothing is prepared, committed or
// projected, and the rows are the intent's result.
func TestAReadReturnsItsResult(t *testing.T) {
	rows := [][]any{{"SP", float64(1200)}, {"RJ", float64(800)}}
	cases := []struct {
		name      string
		setup     func(s *stages)
		rows      [][]any
		truncated bool
		err       error
		want      []string
		state     decision.State
		result    bool
	}{
		{name: "a read returns its rows", rows: rows, state: decision.Approved, result: true,
			want: concat(resolutionSteps, planningSteps, []string{"Revalidate", "Decide"})},
		{name: "a cut result is approved with a warning", rows: rows, truncated: true, state: decision.ApprovedWithWarnings, result: true,
			want: concat(resolutionSteps, planningSteps, []string{"Revalidate", "Decide"})},
		{name: "a stale environment plans the read again", setup: func(s *stages) { s.stale = 1 }, rows: rows, state: decision.Approved, result: true,
			want: concat(resolutionSteps, planningSteps, []string{"Revalidate"}, planningSteps, []string{"Revalidate", "Decide"})},
		{name: "a dry run plans and validates the read, and reads nothing", rows: rows, state: decision.Approved,
			want: concat(resolutionSteps, planningSteps, []string{"Decide"})},
		{name: "a read that cannot run is decided blocked", err: temporal.NewNonRetryableApplicationError("bad", activities.ErrInvalidInput, nil), state: decision.Blocked,
			want: concat(resolutionSteps, planningSteps, []string{"Revalidate", "Decide"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			s.reads = true
			if c.setup != nil {
				c.setup(s)
			}
			in := workflows.IntentInput{Text: "count invoices by uf", RowLimit: 2, DryRun: c.name == "a dry run plans and validates the read, and reads nothing"}
			var got []activities.ReadInput
			res, err := s.run(in, reading(c.rows, c.truncated, c.err, &got))
			require.NoError(t, err)
			require.Equal(t, c.want, s.calls)
			require.Equal(t, c.state, res.DecisionState, res.Reason)
			require.Nil(t, res.Execution, "a read holds no scope and runs no unit")
			if !c.result {
				require.Nil(t, res.Result)
				return
			}
			require.NotNil(t, res.Result)
			require.Equal(t, []string{"uf", "count"}, res.Result.Names())
			require.Equal(t, c.rows, res.Result.Rows)
			require.Equal(t, c.truncated, res.Result.Truncated)
			require.Len(t, got, 1)
			require.Equal(t, activities.PlanRef{IntentID: "default-test-workflow-id", SignatureHash: res.SignatureHash}, got[0].Plan)
			// The read's event follows the revalidation's in the trail.
			rv := s.steps["Revalidate"]
			require.Equal(t, rv[len(rv)-1].Seq+1, s.steps["Decide"][0].Seq-1)
		})
	}
}
