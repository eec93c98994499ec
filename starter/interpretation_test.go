package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestInterpretationFlagIsCheckedBeforeConnecting: an --interpretation no
// escalation could take is refused before anything is sent (docs/adr/0135).
func TestInterpretationFlagIsCheckedBeforeConnecting(t *testing.T) {
	noTemporal := map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"with --standing", []string{"approve", "intent-1", "--by", "maria", "--reason", "r", "--interpretation", "a", "--standing"},
			"--interpretation cannot be combined with --standing"},
		{"two lines", []string{"approve", "intent-1", "--by", "maria", "--reason", "r", "--interpretation", "a\nb"},
			"is not an interpretation's name"},
		{"padded", []string{"approve", "intent-1", "--by", "maria", "--reason", "r", "--interpretation", " a"},
			"is not an interpretation's name"},
		{"a rejection chooses nothing", []string{"reject", "intent-1", "--by", "maria", "--reason", "r", "--interpretation", "a"},
			"unknown flag: --interpretation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, noTemporal, tc.args...)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "cannot reach Temporal", "refused before any connection")
		})
	}
}

// TestInterpretationIsOneOfThePendingEscalations: service.CheckInterpretation,
// what `cfa approve --interpretation` and the API check against the
// pending escalation before sending anything.
func TestInterpretationIsOneOfThePendingEscalations(t *testing.T) {
	offered := &workflows.PendingEscalation{}
	offered.Interpretations = []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}
	cases := []struct {
		name    string
		pending *workflows.PendingEscalation
		signal  string
		choice  string
		code    string
	}{
		{"none chosen", offered, workflows.SignalApprove, "", ""},
		{"one of them", offered, workflows.SignalApprove, "anonymize_produtos_silver", ""},
		{"not one of them", offered, workflows.SignalApprove, "anonymize_vendas_silver", confirmation.RefusedUnknownInterpretation},
		{"an escalation that offers none", &workflows.PendingEscalation{}, workflows.SignalApprove, "anonymize_produtos_silver", confirmation.RefusedUnknownInterpretation},
		{"with a rejection", offered, workflows.SignalReject, "anonymize_produtos_silver", confirmation.RefusedMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := service.CheckInterpretation(tc.pending, tc.signal, tc.choice)
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			var r *confirmation.Refusal
			require.True(t, errors.As(err, &r), "%v", err)
			require.Equal(t, tc.code, r.Code)
		})
	}
}

// TestApproveWithAnInterpretation runs `cfa approve --interpretation` on
// the dev server with a worker and Postgres: the pending escalation of
// "anonymize master data into silver" lists its interpretations (status);
// a name that is not one of them is refused by the CLI, nothing sent (no
// refusal in the audit trail, the escalation still open); one of them is
// taken and recorded with who chose it.
func TestApproveWithAnInterpretation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	c := srv.Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "starter_interpretation", nil)
	store := db.New(d.Worker)
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	acts := activities.New(store, cat, bundle, zap.NewNop(), extension.Points{})
	acts.Temporal = c
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	app.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	svc := &service.Service{Temporal: c, Store: store}
	// status records its receipt (MUST-005): it needs the chain.
	env := map[string]string{"TEMPORAL_ADDRESS": srv.FrontendHostPort(), "DATABASE_URL": d.WorkerURL}

	const id = "choose-interpretation"
	_, err = svc.Submit(ctx, service.SubmitRequest{Text: "anonymize master data into silver", IntentID: id, SubmittedBy: "ana", DryRun: true})
	require.NoError(t, err)
	var pending *workflows.PendingEscalation
	testenv.WaitFor(t, time.Minute, "the pending escalation", func() bool {
		pending, err = svc.Pending(ctx, id)
		return err == nil && pending != nil
	})
	require.Len(t, pending.Interpretations, 2)

	r := cfa(t, ctx, env, "status", id)
	require.Contains(t, r.stdout, "competing interpretations: "+pending.Interpretations[0]+", "+pending.Interpretations[1])
	require.Contains(t, r.stdout, "--interpretation NAME")

	r = cfa(t, ctx, env, "approve", id, "--by", "maria", "--reason", "x", "--interpretation", "anonymize_vendas_silver", "-o", "json")
	e := requireJSONError(t, r, codeInvalidInput, exitFailure)
	require.Contains(t, e.Message, "choose one of "+pending.Interpretations[0]+", "+pending.Interpretations[1])
	require.Contains(t, e.Message, "nothing was sent")
	still, err := svc.Pending(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, still, "the escalation is still open")
	rs, err := store.AuditByIntent(ctx, id)
	require.NoError(t, err)
	for _, rc := range rs {
		require.NotEqual(t, audit.EventConfirmationRefused, rc.Context["event_type"], "nothing reached the workflow")
	}

	// The interpretation that resolves (the catalog decides which do).
	var choose string
	for _, name := range pending.Interpretations {
		r = cfa(t, ctx, env, "approve", id, "--by", "maria", "--reason", "this reading was meant", "--interpretation", name, "-o", "json")
		if r.code == 0 {
			choose = name
			break
		}
		requireJSONError(t, r, codeRefused, exitFailure) // does not resolve: refused by the workflow, still open
	}
	require.NotEmpty(t, choose, "one interpretation resolves")
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	require.Equal(t, choose, out["interpretation"])

	res, err := svc.Wait(ctx, id, 100*time.Millisecond, nil, nil)
	require.NoError(t, err)
	require.Equal(t, choose, res.Confirmation.Interpretation)
	require.Equal(t, "maria", res.Confirmation.By)
}
