package flow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/lineage"
	"github.com/contextualflux/cfa/internal/lineage/lineagetest"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/workflows"
)

// TestLineageOfAnExecutedIntent (docs/adr/0119): the OpenLineage emitter,
// wired as the worker wires it (app.WithLineage around the shipped store),
// sends START then COMPLETE to a lineage server for an intent that runs,
// with the datasets it read and wrote and its columns' lineage, each event
// valid against the OpenLineage schema and derived again, byte for byte,
// from the audit trail; a dry run sends nothing.
func TestLineageOfAnExecutedIntent(t *testing.T) {
	seedDemo(t, false)
	rcv := lineagetest.NewReceiver()
	defer rcv.Close()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	bundle, err := app.LoadBundle(context.Background(), "")
	require.NoError(t, err)
	lc := app.LineageConfig{URL: rcv.URL + "/api/v1/lineage", APIKey: "flow-key", Namespace: "cfa-flow"}
	ext, closeLineage, err := app.WithLineage(extension.Points{}, lc, testDB.WorkerURL, cat, store, zap.NewNop())
	require.NoError(t, err)
	defer closeLineage()
	acts := activities.New(store, cat, bundle, zap.NewNop(), ext)

	dry := uniqueID(t) + "-dry"
	dryEnv := newEnv(t, acts, dry)
	approveAt(dryEnv, time.Minute)
	res := run(t, dryEnv, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true})
	require.True(t, res.DryRun)
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)

	id := uniqueID(t)
	env := newEnv(t, acts, id)
	approveAt(env, time.Minute)
	res = run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)

	flusher, ok := ext.Audit.(interface{ Flush(context.Context) error })
	require.True(t, ok)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, flusher.Flush(ctx))

	reqs := rcv.Requests()
	require.Len(t, reqs, 2, "START and COMPLETE of the executed intent; nothing for the dry run")
	var got []lineage.RunEvent
	for _, r := range reqs {
		require.Equal(t, "Bearer flow-key", r.Authorization)
		require.NoError(t, v.Validate(r.Body), "%s", r.Body)
		var e lineage.RunEvent
		require.NoError(t, json.Unmarshal(r.Body, &e))
		got = append(got, e)
	}
	start, done := got[0], got[1]
	require.Equal(t, lineage.Start, start.EventType)
	require.Equal(t, lineage.Complete, done.EventType)
	require.Equal(t, lineage.RunID(id), start.Run.RunID)
	require.Equal(t, start.Run.RunID, done.Run.RunID)
	require.Equal(t, "cfa-flow", start.Job.Namespace)

	pg, err := pgconn.ParseConfig(testDB.WorkerURL)
	require.NoError(t, err)
	opts := lineage.Options{Namespace: "cfa-flow", DatasetNamespace: fmt.Sprintf("postgres://%s:%d", pg.Host, pg.Port), Database: pg.Database}
	for _, e := range got {
		var inputs []string
		for _, d := range e.Inputs {
			require.Equal(t, opts.DatasetNamespace, d.Namespace, "the data plane, from DATABASE_URL")
			inputs = append(inputs, d.Name)
			require.NotNil(t, d.Facets.Schema, d.Name)
		}
		require.ElementsMatch(t, []string{pg.Database + ".bronze.nfe", pg.Database + ".bronze.clientes"}, inputs, "the sources, named in the data plane")
		require.Len(t, e.Outputs, 1)
		out := e.Outputs[0]
		require.Equal(t, pg.Database+".silver.silver_documentos", out.Name)
		require.NotNil(t, out.Facets.Schema)
		require.NotNil(t, out.Facets.ColumnLineage, "the plan that ran was read")
		cpf := out.Facets.ColumnLineage.Fields["cpf_hash"].InputFields
		require.Len(t, cpf, 1)
		require.Equal(t, "cpf", cpf[0].Field)
		require.True(t, cpf[0].Transformations[0].Masking, "PII reaches silver hashed")
	}

	g := done.Run.Facets.Governance
	require.Equal(t, id, g.IntentID)
	require.Equal(t, "approved", g.DecisionState)
	require.Equal(t, res.SignatureHash, g.IntentSignatureHash)
	require.Equal(t, res.PlanHash, g.PlanHash)
	require.Equal(t, res.Execution.RegistryVersionID, g.ProjectedVersionID)
	require.Equal(t, fmt.Sprintf("%s/%d", id, res.AuditEvents), g.ReceiptIDs[len(g.ReceiptIDs)-1], "through INTENT_COMPLETED")

	// The chain is the record: the same events, byte for byte, from it.
	trail, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	require.NoError(t, audit.CompletePerIntent(trail))
	x, err := lineage.Read(trail)
	require.NoError(t, err)
	rec, err := store.GetPlanOfSignature(context.Background(), id, x.SignatureHash)
	require.NoError(t, err)
	var plan planner.ExecutionPlan
	require.NoError(t, json.Unmarshal(rec.Plan, &plan))
	ems := x.Events(opts, cat, &plan)
	require.Len(t, ems, 2)
	for i, em := range ems {
		b, err := lineage.Marshal(em.Event)
		require.NoError(t, err)
		require.Equal(t, string(reqs[i].Body), string(b))
	}
}
