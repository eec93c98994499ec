package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// historyDir is where the replay test (workflows/replay_test.go) reads the
// recorded histories.
const historyDir = "../../workflows/testdata"

// TestRecordHistories records one history per path of the governed flow
// from the real dev server, for the replay test: a change to the workflows
// that would break a running intent fails there, with no database and no
// server. Run it after changing workflow code (make histories), and review
// the diff.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("UPDATE_HISTORY") == "" {
		t.Skip("records workflows/testdata: run `make histories` (UPDATE_HISTORY=1) after a change of the workflows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_histories", &dataplane.Options{})
	store := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}
	approve := func(id string) {
		testenv.WaitFor(t, time.Minute, "the escalation of "+id, func() bool { p, err := svc.Pending(ctx, id); return err == nil && p != nil })
		require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "recorded history"))
	}
	var current string // the path being recorded; its workflow id is recordedID(current)
	submit := func(req service.SubmitRequest) string {
		req.SubmittedBy = "recorder"
		if req.IntentID == "" {
			req.IntentID = recordedID(current)
		}
		id, err := svc.Submit(ctx, req)
		require.NoError(t, err)
		return id
	}
	result := func(id string) workflows.IntentResult {
		var res workflows.IntentResult
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
		return res
	}
	seed := func(broken string) {
		require.NoError(t, store.ResetDataPlane(ctx, cat))
		require.NoError(t, store.SeedDataPlane(ctx, cat, dataplane.Options{BreakPartition: broken}))
		committed := make([]registry.DatasetState, 0, len(cat.Datasets))
		for _, ds := range cat.Datasets {
			committed = append(committed, registry.DatasetState{Name: ds.Name, State: registry.StateCommitted, PublishAllowed: true})
		}
		_, _, err := store.OverrideDatasetStates(ctx, committed, db.Operator{By: "recorder", Reason: "a known registry for each path"})
		require.NoError(t, err)
	}
	const goldWrite = "aggregate revenue by state from silver_documentos into gold_faturamento_uf"
	reconcile := service.SubmitRequest{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1}

	paths := []struct {
		name  string
		want  decision.State
		start func() string
	}{
		{"auto_read_only", decision.Approved, func() string {
			return submit(service.SubmitRequest{Text: "aggregate daily sales by uf from vendas_diarias"})
		}},
		{"approved_with_execution", decision.Approved, func() string {
			seed("")
			id := submit(reconcile)
			approve(id)
			return id
		}},
		{"blocked_by_policy", decision.Blocked, func() string {
			_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "silver_documentos", State: registry.StatePartiallyCommitted,
				PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}}}, db.Operator{By: "recorder", Reason: "publish while partially committed (I7)"})
			require.NoError(t, err)
			id := submit(service.SubmitRequest{Text: "publish silver_documentos"})
			approve(id)
			return id
		}},
		{"blocked_by_static_validation", decision.Blocked, func() string {
			seed("")
			dry := submit(service.SubmitRequest{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true, IntentID: service.NewIntentID()})
			approve(dry)
			result(dry)
			rec, err := store.GetPlan(ctx, dry)
			require.NoError(t, err)
			var p planner.ExecutionPlan
			require.NoError(t, json.Unmarshal(rec.Plan, &p))
			for i := range p.Steps {
				if p.Steps[i].Kind == planner.KindExtract && p.Steps[i].Dataset == "nfe" {
					p.Steps[i].Params.Filter = nil // an unbounded scan of bronze.nfe
				}
			}
			p.Hash, err = planner.HashPlan(p)
			require.NoError(t, err)
			req := reconcile
			req.Plan = &p
			id := submit(req)
			approve(id)
			return id
		}},
		{"escalation_timeout", decision.Blocked, func() string {
			return submit(service.SubmitRequest{Text: goldWrite, EscalationTimeoutSeconds: 1})
		}},
		{"rejected", decision.Blocked, func() string {
			id := submit(service.SubmitRequest{Text: reconcileToSilver})
			testenv.WaitFor(t, time.Minute, "the escalation", func() bool { p, err := svc.Pending(ctx, id); return err == nil && p != nil })
			require.NoError(t, svc.Confirm(ctx, id, workflows.SignalReject, "joao", "wrong target"))
			return id
		}},
		{"cancelled_during_wait", decision.Blocked, func() string {
			id := submit(service.SubmitRequest{Text: goldWrite})
			testenv.WaitFor(t, time.Minute, "the escalation", func() bool { p, err := svc.Pending(ctx, id); return err == nil && p != nil })
			require.NoError(t, c.CancelWorkflow(ctx, id, ""))
			return id
		}},
		{"selective_quarantine", decision.PartiallyCommitted, func() string {
			seed("2026-01-03")
			id := submit(reconcile)
			approve(id)
			return id
		}},
		{"panic_rollback", decision.Quarantined, func() string {
			seed("")
			id := recordedID(current)
			testenv.InstallStagingFault(ctx, t, d.Pool, id, "2026-01-03",
				`RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'`)
			req := reconcile
			req.IntentID = id
			submit(req)
			approve(id)
			return id
		}},
		{"composite", decision.Approved, func() string {
			g, err := composite.Parse([]byte(`
intent_graph:
  root_intent: daily_reports
  sub_intents:
    - id: sales_by_day
      intent: aggregate vendas_diarias by day
    - id: sales_by_store
      intent: aggregate daily sales by uf from vendas_diarias
  dependencies:
    - sales_by_day -> sales_by_store
  shared_context:
    consistency_unit: dag_branch
    key: sale_date
`))
			require.NoError(t, err)
			id, err := svc.SubmitComposite(ctx, service.CompositeRequest{Graph: g, SubmittedBy: "recorder", IntentID: recordedID(current)})
			require.NoError(t, err)
			var res workflows.CompositeResult
			require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
			return id
		}},
		{"ttl_sweeper", "", func() string {
			_, _, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{{Name: "silver_documentos", State: registry.StatePartiallyCommitted,
				PendingPartitions: []string{"2026-01-03"}, UpdatedAt: time.Now().Add(-10 * 24 * time.Hour)}}, db.Operator{By: "recorder", Reason: "a partial state past its TTL"})
			require.NoError(t, err)
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: recordedID(current), TaskQueue: workflows.TaskQueue}, workflows.TTLSweeperWorkflowName)
			require.NoError(t, err)
			require.NoError(t, run.Get(ctx, nil))
			return run.GetID()
		}},
	}
	for _, p := range paths {
		current = p.name
		id := p.start()
		require.Equal(t, recordedID(p.name), id)
		if p.want != "" {
			if p.name == "composite" {
				var res workflows.CompositeResult
				require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
				require.Equal(t, p.want, res.DecisionState, "%s: %s", p.name, res.Reason)
			} else {
				res := result(id)
				require.Equal(t, p.want, res.DecisionState, "%s: %s (%s)", p.name, res.Reason, res.DecidedBy)
			}
		}
		writeHistory(t, ctx, c, id, filepath.Join(historyDir, p.name+".json"))
	}
}

// recordedID is workflows_test.RecordedID: the replay test replays each
// history under the workflow id it was recorded with.
func recordedID(path string) string { return "recorded-" + strings.ReplaceAll(path, "_", "-") }

// writeHistory records the history of workflow id as JSON.
func writeHistory(t *testing.T, ctx context.Context, c client.Client, id, path string) {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, "", false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}
