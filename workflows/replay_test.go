package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/workflows"
)

// TestReplayRecordedHistory replays histories recorded from the dev server
// (UPDATE_HISTORY=1 go test -run TestEndToEnd ./workflows rewrites the
// current one) so that a change to the workflow that breaks determinism
// fails here, not in production. Histories of earlier workflow versions are
// kept: workers must still replay intents started before an upgrade.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{
		"testdata/intent_approved_history.json",                  // a full execution, then the promotion evaluation (step 18)
		"testdata/intent_approved_history_before_lifecycle.json", // a full execution: units, projection
		"testdata/intent_approved_history_no_data.json",          // step 3 check, I4 gate; nothing in the window
		"testdata/intent_approved_history_before_gates.json",     // steps 11–16 (ChangeExecutionSteps = 1)
		"testdata/intent_approved_history_before_execution.json", // steps 8–10 (ChangePlanningSteps = 1)
		"testdata/intent_approved_history_before_planning.json",  // recorded before ChangePlanningSteps
	} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.IntentWorkflow, workflow.RegisterOptions{Name: workflows.IntentWorkflowName})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, file))
		})
	}
}
