package flow_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/workflows"
)

// softRead is a read the normalizer resolves in soft mode: the typo in
// the dataset's name makes its ambiguity medium.
const softRead = "aggregate vendass_diarias by day"

// details decodes the details of the intent's first event of type typ.
func details(t *testing.T, intentID, typ string) map[string]any {
	t.Helper()
	rs, err := store.AuditByIntent(context.Background(), intentID)
	require.NoError(t, err)
	for _, r := range rs {
		if r.Context["event_type"] == typ {
			var d map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.Context["details"]), &d))
			return d
		}
	}
	t.Fatalf("intent %s has no %s event", intentID, typ)
	return nil
}

// TestASoftIntentIsEscalatedByAConflict (issue 14 item 3, docs/adr/0134):
// a soft read of a dataset another intent is writing is not waved
// through: step 5 records SOFT_CONFIRMATION escalated, asks a human
// (hard_required, the conflict named as the trigger), and goes on once a
// declared approver answers. Without the conflict it proceeds, its
// signature shown (stage line, result, SOFT_CONFIRMATION, the
// submitter's notification). Both replay identically.
func TestASoftIntentIsEscalatedByAConflict(t *testing.T) {
	ctx := context.Background()
	t.Run("an intent writing what it reads escalates it", func(t *testing.T) {
		holder := uniqueID(t) + "-holder"
		_, err := store.AcquireScopes(ctx, lockReqFor(holder, "vendas_diarias"))
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := store.ReleaseScopes(ctx, holder, db.ReleaseCancelled)
			require.NoError(t, err)
		})

		id := uniqueID(t)
		env := newEnv(t, recordedActivities(t, nil), id)
		var pending *workflows.PendingEscalation
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryPendingEscalation)
			require.NoError(t, err)
			require.NoError(t, v.Get(&pending))
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "data-steward", Reason: "the holder appends yesterday only"})
		}, time.Minute)
		res := run(t, env, workflows.IntentInput{Text: softRead, SubmittedBy: "ana"})

		require.Equal(t, confirmation.ModeSoft, res.Resolution.ConfirmationMode, "the normalizer says soft")
		require.NotNil(t, pending)
		require.Equal(t, confirmation.ModeHardRequired, pending.Mode)
		require.Contains(t, pending.Triggers, confirmation.TriggerSoftConflictRunningIntent)
		require.Contains(t, pending.Reason, "intent "+holder+" holds or waits for a scope this intent touches")
		require.Contains(t, pending.Allowed.Approvers, "data-steward")
		require.Equal(t, workflows.ConfirmationApproved, res.Confirmation.Outcome)
		require.Equal(t, "data-steward", res.Confirmation.By)
		require.Equal(t, []string{"intent " + holder + " holds or waits for a scope this intent touches"}, res.Confirmation.Conflicts)

		types := eventTypes(t, id)
		i := slices.Index(types, audit.EventSoftConfirmation)
		require.GreaterOrEqual(t, i, 0)
		require.Equal(t, []string{audit.EventSoftConfirmation, audit.EventConfirmationRequested, audit.EventHumanApproved}, types[i:i+3])
		d := details(t, id, audit.EventSoftConfirmation)
		require.Equal(t, "escalated", d["outcome"])
		require.Equal(t, []any{holder}, d["running_intents"])
		require.NotEmpty(t, d["shown_signature"])
		requireIdentical(t, replayIntent(t, id, false))
	})
	t.Run("no conflict: the signature is shown and it proceeds", func(t *testing.T) {
		id := uniqueID(t)
		acts := recordedActivities(t, nil)
		env := newEnv(t, acts, id)
		var notified []activities.Notification
		env.OnActivity(acts.NotifyGovernance, anyCtx, anyArg).Return(func(_ context.Context, n activities.Notification) error {
			notified = append(notified, n)
			return nil
		})
		res := run(t, env, workflows.IntentInput{Text: softRead, SubmittedBy: "ana"})
		require.Equal(t, workflows.ConfirmationProceeded, res.Confirmation.Outcome, "%+v", res.Confirmation)
		require.Equal(t, confirmation.ModeSoft, res.Confirmation.Mode)
		shown := confirmation.Show(res.Resolution.Signature)
		require.Equal(t, shown, res.Confirmation.Shown)
		require.Contains(t, shown, "vendas_diarias")
		var line string
		for _, s := range res.Stages {
			if s.Stage == workflows.StageConfirmation {
				line = s.Summary
			}
		}
		require.Equal(t, "soft: signature shown, no conflict: "+shown, line, "the CLI and the API show the stage line")
		require.Len(t, notified, 1)
		require.Equal(t, "soft_confirmation", notified[0].Reason)
		require.Equal(t, shown, notified[0].Signature)

		types := eventTypes(t, id)
		require.Contains(t, types, audit.EventSoftConfirmation)
		require.NotContains(t, types, audit.EventConfirmationRequested)
		require.Equal(t, "proceeded", details(t, id, audit.EventSoftConfirmation)["outcome"])
		requireIdentical(t, replayIntent(t, id, false))
	})
}

// TestChoosingAnInterpretationOfMasterData (issue 14 item 3, docs/adr/0135):
// "anonymize master data into silver" is clientes or produtos. The
// pending escalation lists both; a name that is not one of them is
// refused and audited, the escalation staying open; a declared approver's
// choice is resolved, recorded with the approval (who chose which), and
// the intent goes on with that interpretation's signature. A choice that
// does not resolve is refused the same way and the next answer is taken.
func TestChoosingAnInterpretationOfMasterData(t *testing.T) {
	const text = "anonymize master data into silver"
	cat := newActivities(t, nil).Catalog
	first := resolution.Resolve(text, cat, registry.EnvironmentState{})
	require.Len(t, first.CompetingInterpretations, 2, "fixture: clientes or produtos")
	// The interpretation that is not the normalizer's first reading, if
	// the catalog lets it resolve (produtos has no silver copy in every
	// catalog); the test takes the one that does.
	choose, unresolvable := "", ""
	for _, name := range first.CompetingInterpretations {
		if r, err := resolution.ResolveAs(text, cat, registry.EnvironmentState{}, name); err == nil && r.Resolved {
			if choose == "" || !slices.Equal(r.Signature.DatasetNames(), first.Signature.DatasetNames()) {
				choose = name
			}
		} else {
			unresolvable = name
		}
	}
	require.NotEmpty(t, choose, "at least one interpretation resolves")
	want, err := resolution.ResolveAs(text, cat, registry.EnvironmentState{}, choose)
	require.NoError(t, err)

	id := uniqueID(t)
	env := newEnv(t, recordedActivities(t, nil), id)
	var pending *workflows.PendingEscalation
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryPendingEscalation)
		require.NoError(t, err)
		require.NoError(t, v.Get(&pending))
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "anonymize_vendas_silver"})
	}, time.Minute)
	if unresolvable != "" {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: unresolvable})
		}, 90*time.Second)
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "this reading was meant", Interpretation: choose})
	}, 2*time.Minute)
	// A dry run: the choice is what is tested, and nothing it would write
	// is left in the registry for the tests after it.
	res := run(t, env, workflows.IntentInput{Text: text, SubmittedBy: "ana", DryRun: true})

	require.NotNil(t, pending)
	require.Equal(t, first.CompetingInterpretations, pending.Interpretations, "the pending escalation lists them by name")
	require.Equal(t, workflows.ConfirmationApproved, res.Confirmation.Outcome)
	require.Equal(t, "maria", res.Confirmation.By)
	require.Equal(t, choose, res.Confirmation.Interpretation)
	require.NotNil(t, res.Signature)
	require.Equal(t, want.Signature.DatasetNames(), res.Signature.DatasetNames(), "the intent went on with the chosen signature")

	rs, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	var refused []string
	for _, r := range rs {
		if r.Context["event_type"] == audit.EventConfirmationRefused {
			var d map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.Context["details"]), &d))
			refused = append(refused, d["code"].(string))
		}
	}
	wantRefused := []string{confirmation.RefusedUnknownInterpretation}
	if unresolvable != "" {
		wantRefused = append(wantRefused, confirmation.RefusedInterpretationUnresolved)
	}
	require.Equal(t, wantRefused, refused, "each refusal is audited and the escalation stayed open")
	approved := details(t, id, audit.EventHumanApproved)
	require.Equal(t, choose, approved["interpretation"], "the audit records which interpretation")
	require.Equal(t, "maria", approved["by"], "and who chose it")
	require.NotNil(t, approved["chosen_signature"])
	sig := details(t, id, audit.EventSignatureGenerated)["signature"].(map[string]any)
	var names []string
	for _, d := range sig["datasets"].([]any) {
		names = append(names, d.(map[string]any)["name"].(string))
	}
	require.ElementsMatch(t, want.Signature.DatasetNames(), names, "step 6 signed the chosen interpretation")
	requireIdentical(t, replayIntent(t, id, false))
}
