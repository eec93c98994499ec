package flow_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestReadIntentsReturnMaskedRows (issue 14, item 2): read intents go
// through the whole governed flow with the real activities, on a seeded
// data plane of their own: planned, generated, validated, revalidated,
// run under their read role in a READ ONLY transaction, decided, and their
// rows returned with personal data masked. The audit trail records
// READ_EXECUTED with action READ, the rows returned and the columns
// masked, never a row; no scope lock is taken, nothing is projected.
func TestReadIntentsReturnMaskedRows(t *testing.T) {
	ctx := context.Background()
	d, cat := testenv.DataPlaneDB(ctx, t, "flow_read", &dataplane.Options{})
	rstore := db.New(d.Worker)
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	require.NoError(t, rstore.RecordContextVersions(ctx, bundle, cat))
	acts := activities.New(rstore, cat, bundle, zap.NewNop(), extension.Points{})

	countNoWindow := plannertest.CountInvoices(cat)
	countNoWindow.Constraints.TemporalFilter = nil // the Policy Engine adds the last 30 days
	hash := regexp.MustCompile(`^[0-9a-f]{64}$`)
	cases := []struct {
		name      string
		sig       signature.Signature
		rowLimit  int
		columns   []string
		rows      int
		truncated bool
		state     decision.State
		masked    []planner.MaskedColumn
		check     func(t *testing.T, res *activities.ReadResult)
	}{
		{name: "count invoices", sig: countNoWindow, columns: []string{"count"}, rows: 1, state: decision.Approved,
			check: func(t *testing.T, res *activities.ReadResult) {
				require.EqualValues(t, 3*dataplane.DefaultRowsPerPartition, res.Rows[0][0])
			}},
		{name: "show me nfe for 2026-01-02", sig: plannertest.InvoicesOfDay(cat), rowLimit: 10,
			columns: []string{"nfe_id", "cpf_hash", "cliente_id", "emitente_cnpj", "valor_total", "uf", "emitted_at", "processing_date", "itens"},
			rows:    10, truncated: true, state: decision.ApprovedWithWarnings,
			masked: []planner.MaskedColumn{{Column: "nfe.cpf", As: "cpf_hash", Mask: planner.MaskSHA256}},
			check: func(t *testing.T, res *activities.ReadResult) {
				for _, r := range res.Rows {
					require.Equal(t, "2026-01-02", r[7])
					if r[1] != nil {
						require.Regexp(t, hash, r[1])
					}
				}
			}},
		{name: "sum of valor_total by uf last 7 days", sig: plannertest.RevenueByUFLast7Days(cat), columns: []string{"uf", "sum_valor_total"},
			rows: 27, state: decision.Approved,
			check: func(t *testing.T, res *activities.ReadResult) {
				require.Equal(t, "AC", res.Rows[0][0])
				require.IsType(t, "", res.Rows[0][1], "a decimal is its exact text")
			}},
		{name: "read clientes", sig: plannertest.ReadClientes(cat), rowLimit: 3,
			columns: []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}, rows: 3, truncated: true,
			state: decision.ApprovedWithWarnings,
			masked: []planner.MaskedColumn{{Column: "clientes.cpf", As: "cpf_hash", Mask: planner.MaskSHA256},
				{Column: "clientes.email", As: "email_redacted", Mask: planner.MaskRedact}},
			check: func(t *testing.T, res *activities.ReadResult) {
				for _, r := range res.Rows {
					require.Regexp(t, hash, r[1])
					require.Equal(t, "***", r[2])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := uniqueID(t)
			sig := tc.sig
			env := newEnv(t, acts, id)
			// A dataset with PII is read only after a person confirms it
			// (pii_detected, hard_required); maria is a governance approver.
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "masked read"})
			}, time.Minute)
			res := run(t, env, workflows.IntentInput{Signature: &sig, AsOf: dataplane.DemoAsOf, RowLimit: tc.rowLimit, SubmittedBy: "ana"})
			require.Equal(t, tc.state, res.DecisionState, "%s %+v", res.Reason, res.Resolution)
			require.Nil(t, res.Execution, "a read holds no scope and runs no unit")
			require.NotEmpty(t, res.PlanHash)
			require.True(t, res.Static.Passed)
			r := res.Result
			require.NotNil(t, r)
			require.Equal(t, tc.columns, r.Names())
			require.Equal(t, tc.rows, r.RowCount)
			require.Len(t, r.Rows, tc.rows)
			require.Equal(t, tc.truncated, r.Truncated)
			if tc.masked == nil {
				tc.masked = []planner.MaskedColumn{}
			}
			require.Equal(t, tc.masked, r.MaskedColumns)
			tc.check(t, r)

			// The trail: no lock, no projection; one READ_EXECUTED receipt
			// with action READ that holds no row.
			rs, err := rstore.AuditByIntent(ctx, id)
			require.NoError(t, err)
			require.NoError(t, audit.CompletePerIntent(rs))
			var types []string
			for _, r := range rs {
				types = append(types, r.EventType())
			}
			require.NotContains(t, types, audit.EventScopeAcquired)
			require.NotContains(t, types, audit.EventEnvironmentUpdate)
			require.Contains(t, types, audit.EventRevalidation)
			i := slices.IndexFunc(rs, func(r audit.Receipt) bool { return r.EventType() == audit.EventReadExecuted })
			require.GreaterOrEqual(t, i, 0, "%v", types)
			require.Equal(t, audit.ActionRead, rs[i].Action)
			var ev events.ReadExecuted
			require.NoError(t, json.Unmarshal([]byte(rs[i].Context["details"]), &ev))
			require.Equal(t, tc.rows, ev.RowsRead)
			require.Equal(t, tc.truncated, ev.Truncated)
			require.Equal(t, tc.columns, ev.Columns)
			require.Equal(t, tc.masked, ev.MaskedColumns)
			require.Equal(t, res.PlanHash, ev.PlanHash)
			if len(r.Rows) > 0 && len(r.Rows[0]) > 0 {
				if s, ok := r.Rows[0][0].(string); ok && len(s) > 3 {
					require.NotContains(t, rs[i].Context["details"], s, "the receipt holds no row data")
				}
			}
			for _, src := range ev.Sources {
				require.Contains(t, rs[i].Targets, "dataset:"+src)
			}

			// I8: the read replays from its record, stage by stage.
			rec, err := rstore.ReplayRecord(ctx, id)
			require.NoError(t, err)
			rp, err := replay.Replay(ctx, rec)
			require.NoError(t, err)
			require.True(t, rp.Identical, "refused %q, first difference %+v", rp.Refused, rp.FirstDifference)
		})
	}
}
