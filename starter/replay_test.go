package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/replay"
)

// TestReplayOfAnUnknownIntentIsNotFound: `cfa replay` reads Postgres only,
// and an intent with no trail is not_found.
func TestReplayOfAnUnknownIntentIsNotFound(t *testing.T) {
	d := dbtest.New(t, "starter_replay")
	env := map[string]string{"DATABASE_URL": d.WorkerURL, "TEMPORAL_ADDRESS": "127.0.0.1:1"}
	_, err := run(t, env, "replay", "intent-that-never-was")
	require.ErrorContains(t, err, "no audit event is recorded for it")
	require.Equal(t, codeNotFound, classify(err, nil).code)
}

func TestReplayExitAndText(t *testing.T) {
	identical := replay.Result{IntentID: "intent-1", Identical: true, Through: intent.StageDecision,
		Inputs: replay.Inputs{UserIntent: "reconcile nfe", RegistryVersionID: "r1", PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1", AsOf: "2026-01-03"},
		Stages: []replay.Stage{
			{Stage: intent.StageSignature, Cycle: 1, Identical: true, Recorded: "abc", Replayed: "abc"},
			{Stage: intent.StageDecision, Cycle: 1, Identical: true, Recorded: "approved by policy_engine", Replayed: "approved by policy_engine"},
		},
		Answers: []replay.Answer{{Stage: intent.StageConfirmation, Answer: "hard_required: approved by maria"}}}
	diff := identical
	diff.Identical = false
	diff.Stages = []replay.Stage{{Stage: intent.StageSignature, Cycle: 1, Recorded: "catalog_a", Replayed: "catalog_b"}}
	diff.FirstDifference = &replay.Difference{Stage: intent.StageSignature, Cycle: 1, Field: "signature.execution_context.catalog_snapshot_version", Recorded: "catalog_a", Replayed: "catalog_b"}
	refused := replay.Result{IntentID: "intent-1", Refused: "policy bundle b1 is not recorded"}
	running := identical
	running.Through = intent.StageStatic
	changed := identical
	changed.Execution = &replay.Execution{Refused: "1 of 1 units were not compared", Units: []replay.UnitRerun{
		{Key: "2026-01-03", Attempt: 3, Outcome: replay.UnitSourceChanged, Recorded: replay.Fingerprint{Rows: 3, SHA256: "aa"}, Reason: "source nfe partition 2026-01-03 changed"}}}
	tests := []struct {
		name string
		res  replay.Result
		exit int
		text []string
	}{
		{"identical", identical, 0, []string{"replay of intent-1: identical", "inputs: registry r1, policy bundle b1, catalog c1, as_of 2026-01-03",
			"state_signature", "identical  abc", "hard_required: approved by maria"}},
		{"different", diff, exitNotReproducible, []string{"DIFFERENT at state_signature (I8 violated)", "field     signature.execution_context.catalog_snapshot_version",
			"recorded  catalog_a", "replayed  catalog_b"}},
		{"refused", refused, exitNotReplayable, []string{"NOT REPLAYABLE", "policy bundle b1 is not recorded"}},
		{"no decision yet", running, exitRunning, []string{"identical so far: no decision is recorded yet (compared through static_validation)"}},
		{"a source changed", changed, exitNotReplayable, []string{"execution (--execute, rolled back): not compared", "source_changed", "2026-01-03: source nfe partition 2026-01-03 changed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.exit, replayExit(tc.res))
			var out bytes.Buffer
			printReplay(&out, tc.res)
			for _, s := range tc.text {
				require.Contains(t, out.String(), s)
			}
		})
	}
}
