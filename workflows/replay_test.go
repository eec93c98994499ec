package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/internal/app"
)

// RecordedID is the workflow id the recorder gives the path's workflow.
func RecordedID(path string) string { return "recorded-" + strings.ReplaceAll(path, "_", "-") }

// recordedPaths are the paths of the governed flow whose histories the
// dev-server recorder (tests/e2e TestRecordHistories, `make histories`)
// keeps in testdata.
var recordedPaths = []string{
	"auto_read_only",
	"approved_with_execution",
	"blocked_by_policy",
	"blocked_by_static_validation",
	"escalation_timeout",
	"rejected",
	"cancelled_during_wait",
	"selective_quarantine",
	"panic_rollback",
	"composite",
	"ttl_sweeper",
}

// TestReplayRecordedHistories replays every recorded history against the
// workflows as they are now: a change that would make a running intent
// take another path than its history fails here. It needs no database and
// no server. After an intended change of the workflows, re-record them
// (`make histories`) and review the diff.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	var recorded []string
	for _, f := range files {
		recorded = append(recorded, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	require.ElementsMatch(t, recordedPaths, recorded, "one recorded history per path: run `make histories`")
	for _, name := range recordedPaths {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", name+".json"))
			require.NoError(t, err)
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			require.NoError(t, err)
			r := worker.NewWorkflowReplayer()
			app.RegisterWorkflows(r)
			// The recorded workflow id: a composite names its children after it.
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: RecordedID(name)},
			}))
		})
	}
}
