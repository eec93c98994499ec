package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/workflows"
)

// TestReplayRecordedHistory replays a history recorded from the dev server
// (UPDATE_HISTORY=1 go test -run TestEndToEnd ./workflows) so that a change
// to the workflow that breaks determinism fails here, not in production.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.IntentWorkflow, workflow.RegisterOptions{Name: workflows.IntentWorkflowName})
	require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/intent_approved_history.json"))
}
