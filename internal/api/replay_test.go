package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/replay"
)

// TestReplayOfCarriesTheVerdict: the response says identical only when the
// replay and, with execute, every unit were; the first difference and the
// units' fingerprints go through as they are.
func TestReplayOfCarriesTheVerdict(t *testing.T) {
	res := replay.Result{IntentID: "intent-1", Identical: true, Through: "decision_engine",
		Stages: []replay.Stage{{Stage: "state_signature", Cycle: 1, Identical: true, Recorded: "abc", Replayed: "abc"}},
		Execution: &replay.Execution{Refused: "1 of 1 units were not compared", Units: []replay.UnitRerun{
			{Key: "2026-01-03", Attempt: 3, Outcome: replay.UnitSourceChanged, Recorded: replay.Fingerprint{Rows: 3, SHA256: "aa"}}}}}
	out := replayOf(res)
	require.False(t, out.GetIdentical(), "a unit not compared is not identical")
	require.Equal(t, "state_signature", out.GetStages()[0].GetStage())
	require.Equal(t, int64(3), out.GetExecution().GetUnits()[0].GetRecorded().GetRows())
	require.Nil(t, out.GetExecution().GetUnits()[0].GetReplayed())

	res.Execution = nil
	res.Identical, res.FirstDifference = false, &replay.Difference{Stage: "execution_planner", Field: "plan.window.from", Recorded: "2025-12-05", Replayed: "2026-01-04"}
	out = replayOf(res)
	require.False(t, out.GetIdentical())
	require.Equal(t, "plan.window.from", out.GetFirstDifference().GetField())
	require.Equal(t, "2025-12-05", out.GetFirstDifference().GetRecorded())
}
