package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestProjectExecutionCommitsUnitsOfEachKind drives the State Projection
// with the moves of the two unit kinds the signature selects: a
// cross_dataset_atomic plan's targets commit in the projection's one
// transaction, or, when it fails, neither does; a micro_batch plan's
// windows publish the day they belong to.
func TestProjectExecutionCommitsUnitsOfEachKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_projection_units")
	s := db.New(d.Pool)
	cat := plannertest.Catalog()
	require.NoError(t, s.EnsureDataPlane(ctx, cat))
	count := func(sql string) (n int) {
		require.NoError(t, d.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	project := func(intent string, plan planner.ExecutionPlan, target string, moves []db.UnitMove, pubs []db.PublicationChange, fail bool) (db.ProjectionResult, error) {
		tgt, ok := cat.Get(target)
		require.True(t, ok)
		return s.ProjectExecution(ctx, db.ProjectionRequest{
			IntentID: intent, Plan: plan, Catalog: cat, Target: tgt, Moves: moves,
			Project: func(latest registry.EnvironmentState) (db.ProjectionCommit, []db.PublicationChange, error) {
				if fail {
					return db.ProjectionCommit{}, nil, errors.New("storage lost")
				}
				return db.ProjectionCommit{ParentVersionID: latest.VersionID, VersionID: uuid.NewString(),
					History: []registry.ExecutionRecord{{IntentID: intent, Outcome: "committed", Timestamp: time.Now(), PolicyBundleVersion: "v1"}},
				}, pubs, nil
			},
		})
	}

	t.Run("cross_dataset_atomic", func(t *testing.T) {
		sig := plannertest.Reconciliation(cat)
		sig.CrossDatasetAtomic = true
		sig.Datasets = append(sig.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
		plan, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
		require.NoError(t, err)
		_, err = d.Pool.Exec(ctx, `INSERT INTO staging.clientes_anon (cliente_id, cfa_intent_id, cfa_unit_key) VALUES ('c1', 'a1', 'clientes_anon');
			INSERT INTO staging.silver_documentos (nfe_id, processing_date, cfa_intent_id, cfa_unit_key) VALUES ('n1', '2026-03-01', 'a1', 'silver_documentos')`)
		require.NoError(t, err)
		moves := []db.UnitMove{
			{Key: "clientes_anon", Dataset: "clientes_anon", Move: db.MoveCommit},
			{Key: "silver_documentos", Dataset: "silver_documentos", Move: db.MoveCommit},
		}
		pubs := []db.PublicationChange{
			{Dataset: "clientes_anon", Partitions: []string{"clientes_anon"}, Status: dataplane.Published},
			{Dataset: "silver_documentos", Partitions: []string{"silver_documentos"}, Status: dataplane.CommittedNotPublished},
		}
		// The projection fails: neither target is written.
		_, err = project("a1", plan, plan.Target, moves, pubs, true)
		require.ErrorContains(t, err, "storage lost")
		require.Zero(t, count("SELECT count(*) FROM silver.clientes_anon")+count("SELECT count(*) FROM silver.silver_documentos"))
		require.Equal(t, 2, count("SELECT count(*) FROM staging.clientes_anon")+count("SELECT count(*) FROM staging.silver_documentos"))

		res, err := project("a1", plan, plan.Target, moves, pubs, false)
		require.NoError(t, err)
		require.Equal(t, int64(2), res.Moved["committed"])
		require.Equal(t, 1, count("SELECT count(*) FROM silver.clientes_anon"))
		require.Equal(t, 1, count("SELECT count(*) FROM silver.silver_documentos"))
		require.Equal(t, 1, count("SELECT count(*) FROM public.cfa_publication WHERE dataset = 'clientes_anon' AND partition_value = '' AND status = 'published'"))
		require.Equal(t, 1, count("SELECT count(*) FROM public.cfa_publication WHERE dataset = 'silver_documentos' AND partition_value = '2026-03-01' AND status = 'committed_not_published'"),
			"a dataset unit publishes the partitions it wrote")
	})

	t.Run("time_window", func(t *testing.T) {
		sig := plannertest.Reconciliation(cat)
		sig.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-02-01", To: "2026-02-02"}
		sig.ExecutionMode, sig.TimeWindow = signature.ModeMicroBatch, "12h"
		plan, err := planner.Plan(sig, cat, planner.Options{})
		require.NoError(t, err)
		_, err = d.Pool.Exec(ctx, `INSERT INTO staging.silver_documentos (nfe_id, processing_date, emitted_at, cfa_intent_id, cfa_unit_key) VALUES
			('w1', '2026-02-01', '2026-02-01 01:00', 'm1', '2026-02-01T00:00:00'),
			('w2', '2026-02-01', '2026-02-01 13:00', 'm1', '2026-02-01T12:00:00')`)
		require.NoError(t, err)
		moves := []db.UnitMove{
			{Key: "2026-02-01T00:00:00", Partition: "2026-02-01", Move: db.MoveCommit},
			{Key: "2026-02-01T12:00:00", Partition: "2026-02-01", Move: db.MoveQuarantine, FaultCode: "RUNTIME_NULL_RATIO_EXCEEDED"},
		}
		pubs := []db.PublicationChange{{Dataset: "silver_documentos", Partitions: []string{"2026-02-01T00:00:00"}, Status: dataplane.CommittedNotPublished}}
		res, err := project("m1", plan, plan.Target, moves, pubs, false)
		require.NoError(t, err)
		require.Equal(t, int64(1), res.Moved["committed"])
		require.Equal(t, int64(1), res.Moved["quarantined"])
		require.Equal(t, 1, count("SELECT count(*) FROM silver.silver_documentos WHERE nfe_id = 'w1'"))
		require.Equal(t, 1, count("SELECT count(*) FROM quarantine.silver_documentos WHERE nfe_id = 'w2' AND cfa_unit_key = '2026-02-01T12:00:00'"))
		require.Equal(t, 1, count("SELECT count(*) FROM public.cfa_publication WHERE dataset = 'silver_documentos' AND partition_value = '2026-02-01' AND intent_id = 'm1'"),
			"a window publishes its day")
	})
}
