package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// microBatchYAML is a structured signature as `cfa submit -f` reads it:
// the reconciliation of 2026-01-02 and 2026-01-03 committed in 6-hour
// windows.
const microBatchYAML = `domain: fiscal_data_processing
intent: reconciliation_and_persist
target_layer: bronze_to_silver
operations: [join]
execution_mode: micro_batch
time_window: 6h
datasets:
  - {name: nfe, role: source}
  - {name: clientes, role: source}
  - {name: silver_documentos, role: target}
constraints:
  no_pii_raw: true
  merge_key_required: true
  temporal_filter: {column: processing_date, from: "2026-01-02", to: "2026-01-04"}
`

// atomicYAML writes silver_documentos and clientes_anon in one
// transaction ("atomically update silver_documentos and clientes_anon");
// WINDOW is replaced by the signed window.
const atomicYAML = `domain: fiscal_data_processing
intent: reconciliation_and_persist
target_layer: bronze_to_silver
operations: [join, anonymize]
cross_dataset_atomic: true
datasets:
  - {name: nfe, role: source}
  - {name: clientes, role: source}
  - {name: silver_documentos, role: target}
  - {name: clientes_anon, role: target}
constraints:
  no_pii_raw: true
  merge_key_required: true
  temporal_filter: WINDOW
`

// TestMicroBatchAndCrossDatasetAtomicOnTheDevServer runs a micro_batch
// intent and a cross_dataset_atomic intent, submitted as structured
// signatures, end to end on the dev server and the seeded data plane
// (2026-01-03 broken: 12% of its invoices have no customer, above the 5%
// max_null_ratio). The micro_batch one commits 2026-01-02 window by window
// and quarantines the windows of 2026-01-03 alone; the atomic one writes
// both targets on a clean window, and neither when silver_documentos fails
// on the broken day, clientes_anon passing.
func TestMicroBatchAndCrossDatasetAtomicOnTheDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// 1000 clients: clientes_anon meets expected_output_range.min (1000).
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_execution_modes", &dataplane.Options{RowsPerPartition: 2000, ClientCount: 1000, BreakPartition: "2026-01-03"})
	c := testenv.StartDevServer(ctx, t).Client()
	s := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, s, cat, nil))
	svc := &service.Service{Temporal: c, Store: s}

	run := func(t *testing.T, id, yaml string) workflows.IntentResult {
		t.Helper()
		sig, err := signature.Parse([]byte(yaml)) // what `cfa submit -f` does
		require.NoError(t, err)
		_, err = svc.Submit(ctx, service.SubmitRequest{IntentID: id, Signature: sig, AsOf: dataplane.DemoAsOf, SubmittedBy: "e2e", UnitRetryBaseSeconds: 1})
		require.NoError(t, err)
		var approveErr error
		res, err := svc.Wait(ctx, id, 100*time.Millisecond, nil, func(workflows.PendingEscalation) {
			approveErr = errors.Join(approveErr, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "ok"))
		})
		require.NoError(t, errors.Join(err, approveErr))
		require.NotNil(t, res.Execution, "%s: %s", res.DecisionState, res.Reason)
		return res
	}
	count := func(t *testing.T, query string, args ...any) (n int) {
		t.Helper()
		require.NoError(t, d.Pool.QueryRow(ctx, query, args...).Scan(&n))
		return n
	}
	receipt := func(t *testing.T, id, eventType string) string {
		t.Helper()
		rs, err := s.AuditByIntent(ctx, id)
		require.NoError(t, err)
		require.NoError(t, audit.CompletePerIntent(rs))
		for _, r := range rs {
			if r.Context["event_type"] == eventType {
				return r.Context["details"]
			}
		}
		t.Fatalf("intent %s recorded no %s", id, eventType)
		return ""
	}
	unitOfHistory := func(t *testing.T, id string) string {
		t.Helper()
		var cu string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT consistency_unit FROM registry_execution_history WHERE intent_id = $1`, id).Scan(&cu))
		return cu
	}
	// replays checks I8 on the record: the flow replays to the same
	// decision, and every unit run again stages what it staged.
	replays := func(t *testing.T, id string) {
		t.Helper()
		rr, err := svc.Replay(ctx, id, true)
		require.NoError(t, err)
		require.True(t, rr.Identical, "replay of %s: %+v %s", id, rr.FirstDifference, rr.Refused)
		require.NotNil(t, rr.Execution)
		require.True(t, rr.Execution.Identical, "replay --execute of %s: %+v %s", id, rr.Execution.FirstDifference, rr.Execution.Refused)
		require.NotEmpty(t, rr.Execution.Units)
	}
	reset := func(t *testing.T) {
		t.Helper()
		require.NoError(t, dataplane.Reset(ctx, d.Pool, cat))
		_, err := d.Pool.Exec(ctx, `TRUNCATE skill_executions`)
		require.NoError(t, err)
		_, _, err = s.OverrideDatasetStates(ctx, []registry.DatasetState{
			{Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true},
			{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
		}, db.Operator{By: "test", Reason: "execution modes e2e: start over"})
		require.NoError(t, err)
	}

	t.Run("micro_batch", func(t *testing.T) {
		reset(t)
		const id = "modes-micro-batch"
		res := run(t, id, microBatchYAML)
		require.Equal(t, decision.PartiallyCommitted, res.DecisionState, res.Reason)
		pes := res.Execution.PartialExecutionState
		require.NotNil(t, pes)
		require.Equal(t, partialexecution.ConsistencyUnit{Type: partialexecution.UnitTimeWindow, Key: "emitted_at"}, pes.ConsistencyUnit)
		require.Equal(t, partialexecution.SelectiveQuarantine, pes.ConsistencyPolicy.Mode)
		require.Len(t, res.Execution.Units, 8, "4 windows of 6h on each of the 2 days")
		for _, u := range res.Execution.Units {
			if strings.HasPrefix(u.Key, "2026-01-02T") {
				require.Equal(t, "commit", u.State, u.Key)
				continue
			}
			require.True(t, strings.HasPrefix(u.Key, "2026-01-03T"), u.Key)
			require.Equal(t, "quarantine", u.State, u.Key)
			require.Equal(t, runtimevalidation.CodeNullRatioExceeded, u.ErrorCode, u.Key)
		}
		// The data moved window by window.
		require.Equal(t, 2000, count(t, `SELECT count(*) FROM silver.silver_documentos WHERE processing_date = '2026-01-02'`))
		require.Zero(t, count(t, `SELECT count(*) FROM silver.silver_documentos WHERE processing_date = '2026-01-03'`))
		require.Equal(t, 4, count(t, `SELECT count(DISTINCT cfa_unit_key) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, id))
		require.Equal(t, 2000, count(t, `SELECT count(*) FROM quarantine.silver_documentos WHERE cfa_intent_id = $1`, id),
			"every row of the broken day is in one quarantined window")
		require.Zero(t, count(t, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = $1`, id))
		require.Equal(t, 1, count(t, `SELECT count(*) FROM public.cfa_publication WHERE dataset = 'silver_documentos' AND partition_value = '2026-01-02' AND status = 'committed_not_published'`),
			"the committed windows publish their day")

		// The registry and the receipts name the unit kind.
		env, err := s.LatestSnapshot(ctx)
		require.NoError(t, err)
		ds, ok := env.Dataset("silver_documentos")
		require.True(t, ok)
		require.Equal(t, registry.StatePartiallyCommitted, ds.State)
		require.Equal(t, "2026-01-02T18:00:00", ds.LastSuccessfulPartition)
		require.Len(t, ds.QuarantinedUnits, 4)
		require.Equal(t, "time_window", unitOfHistory(t, id))
		require.Contains(t, receipt(t, id, audit.EventPartialExecution), `"consistency_unit":{"key":"emitted_at","type":"time_window"}`)
		replays(t, id)
	})

	t.Run("schedule_interval_is_the_time_window", func(t *testing.T) {
		reset(t)
		// `cfa schedule create micro-every-6h --every 6h -f signature.yaml`
		// of a micro_batch signature that names no time_window.
		sig, err := signature.Parse([]byte(strings.Replace(microBatchYAML, "time_window: 6h\n", "", 1)))
		require.NoError(t, err)
		require.Empty(t, sig.TimeWindow)
		ana := service.Caller{ID: "ana", AuthContext: "test"}
		const name = "micro-every-6h"
		sch, err := svc.CreateSchedule(ctx, service.ScheduleRequest{Name: name, Every: 6 * time.Hour, Signature: sig, UnitRetryBaseSeconds: 1, By: ana, Reason: "e2e"})
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = svc.DeleteSchedule(context.Background(), name, "test over", ana) })
		require.Contains(t, sch.Input, `"time_window":"6h"`, "the interval is the run's window")
		require.NoError(t, svc.TriggerSchedule(ctx, name, "run now", ana))
		id := waitForPending(ctx, t, svc, name, "")
		require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "ok"))
		res := result(ctx, t, c, id)
		require.NotNil(t, res.Execution, "%s: %s", res.DecisionState, res.Reason)
		require.Equal(t, partialexecution.UnitTimeWindow, res.Execution.PartialExecutionState.ConsistencyUnit.Type)
		require.Len(t, res.Execution.Units, 8, "6h windows on 2 days")
		require.Equal(t, "2026-01-02T06:00:00", res.Execution.Units[1].Key)
	})

	t.Run("cross_dataset_atomic", func(t *testing.T) {
		cases := []struct {
			name, id, window string
			decision         decision.State
			overall          partialexecution.OverallState
			action           string
			rows             []int // clientes_anon, silver_documentos
		}{
			{name: "one_target_fails_both_roll_back", id: "modes-atomic-broken", window: `{column: processing_date, from: "2026-01-02", to: "2026-01-04"}`,
				decision: decision.RolledBack, overall: partialexecution.OverallRolledBack, action: "discard", rows: []int{0, 0}},
			{name: "both_targets_commit", id: "modes-atomic-clean", window: `{column: processing_date, from: "2026-01-01", to: "2026-01-03"}`,
				decision: decision.Approved, overall: partialexecution.OverallCommitted, action: "commit", rows: []int{1000, 4000}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				reset(t)
				res := run(t, tc.id, strings.Replace(atomicYAML, "WINDOW", tc.window, 1))
				require.Equal(t, tc.decision, res.DecisionState, res.Reason)
				pes := res.Execution.PartialExecutionState
				require.NotNil(t, pes)
				require.Equal(t, tc.overall, pes.OverallState)
				require.Equal(t, partialexecution.ConsistencyUnit{Type: partialexecution.UnitDataset, Key: "clientes_anon,silver_documentos"}, pes.ConsistencyUnit)
				require.Equal(t, partialexecution.FullRollback, pes.ConsistencyPolicy.Mode, "a failure of any target rolls back all")
				var keys []string
				for _, u := range res.Execution.Units {
					keys = append(keys, u.Key)
					require.Equal(t, tc.action, u.State, u.Key)
				}
				require.Equal(t, []string{"clientes_anon", "silver_documentos"}, keys)
				scopes := strings.Join(res.Execution.Scopes, " ")
				require.Contains(t, scopes, "clientes_anon", "the intent held every target's scope")
				require.Contains(t, scopes, "silver_documentos")
				require.Equal(t, tc.rows, []int{count(t, `SELECT count(*) FROM silver.clientes_anon`), count(t, `SELECT count(*) FROM silver.silver_documentos`)})
				require.Zero(t, count(t, `SELECT count(*) FROM staging.clientes_anon`)+count(t, `SELECT count(*) FROM staging.silver_documentos`))
				require.Zero(t, count(t, `SELECT count(*) FROM silver.clientes_anon WHERE cpf_hash !~ '^[0-9a-f]{64}$'`), "cpf is hashed")
				require.Equal(t, "dataset", unitOfHistory(t, tc.id))
				require.Contains(t, receipt(t, tc.id, audit.EventPartialExecution), `"consistency_unit":{"key":"clientes_anon,silver_documentos","type":"dataset"}`)
				replays(t, tc.id)
			})
		}
	})
}
