// Package bench_test measures governed execution against the same generated
// SQL run bare (issue 15, `make bench-exec`). It has no TestMain: `go test
// ./...` compiles it and runs nothing; each benchmark makes and drops a
// database of its own.
package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/tests/testenv"
)

// BenchmarkGovernedExecution runs the whitepaper reconciliation (nfe ⋈
// clientes merged into silver_documentos, one partition unit per day of a
// 30-day window holding three days) through the stage activities from the
// scope lock to the projection, as the worker runs them: AcquireScope,
// Revalidate, PrepareExecution, one ExecuteUnit per unit at once (the
// sandbox, runtime metrics, fingerprints, runtime validation),
// ApplyPartialFailurePolicy, Project, RecordProjection. The baseline is the
// plan's own script run once, bare, as the data plane's owner. Both start
// from an empty target. Each size reports the medians of CFA_BENCH_REPS
// pairs (3 by default) and the median of the pairs' governed/bare;
// evidence_ms is the promotion engine's key-uniqueness check of the
// committed partitions (step 18), outside the ratio. CFA_BENCH_ROWS runs
// one size only.
//
//	make bench-exec
func BenchmarkGovernedExecution(b *testing.B) {
	reps := 3
	if s := os.Getenv("CFA_BENCH_REPS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "CFA_BENCH_REPS")
		reps = max(1, n)
	}
	sizes := []int{2_000, 30_000, 300_000}
	if s := os.Getenv("CFA_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err, "CFA_BENCH_ROWS")
		sizes = []int{n}
	}
	for _, rows := range sizes {
		b.Run(fmt.Sprintf("rows_per_partition=%d", rows), func(b *testing.B) {
			e := newExecBench(b, rows)
			var pairs []measured
			for range b.N {
				for range reps {
					pairs = append(pairs, e.pair(b))
				}
			}
			m, ratios := median(pairs)
			b.ReportMetric(m.governed.Seconds()*1000, "governed_ms")
			b.ReportMetric(m.bare.Seconds()*1000, "bare_ms")
			b.ReportMetric(ratios[len(ratios)/2], "governed/bare")
			b.ReportMetric(m.evidence.Seconds()*1000, "evidence_ms")
			b.ReportMetric(0, "ns/op")
			b.Logf("rows/partition %d (%d partitions), medians of %d pairs: governed %s = lock+revalidate+prepare %s, units %s, partial %s, projection %s; bare %s; governed/bare %.2f (each pair: %.2f); evidence %s",
				rows, len(dataplane.DemoPartitions), len(pairs), ms(m.governed), ms(m.lock), ms(m.units), ms(m.partial), ms(m.projection), ms(m.bare),
				ratios[len(ratios)/2], ratios, ms(m.evidence))
		})
	}
}

type execBench struct {
	ctx    context.Context
	rows   int
	acts   *activities.Activities
	store  *db.Store
	plan   planner.ExecutionPlan
	code   codegen.Artifact
	signed activities.Signed
	target catalog.Dataset
	reset  func(b *testing.B)
	bare   func(b *testing.B) time.Duration
	n      int
}

func newExecBench(b *testing.B, rows int) *execBench {
	b.Helper()
	ctx := context.Background()
	d, cat := testenv.DataPlaneDB(ctx, b, "bench_exec", &dataplane.Options{RowsPerPartition: rows, Seed: 42})
	store := db.New(d.Worker)
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(b, err)
	require.NoError(b, store.RecordContextVersions(ctx, bundle, cat))
	e := &execBench{ctx: ctx, rows: rows, store: store, acts: activities.New(store, cat, bundle, zap.NewNop(), extension.Points{})}

	sig := plannertest.Reconciliation(cat)
	env, err := store.LatestSnapshot(ctx)
	require.NoError(b, err)
	sig.ExecutionContext = signature.ExecutionContext{PolicyBundleVersion: bundle.Version, CatalogSnapshotVersion: cat.SnapshotVersion, RegistryVersionID: env.VersionID}
	sig = sig.Canonical()
	hash, err := sig.Hash()
	require.NoError(b, err)
	e.signed = activities.Signed{Signature: sig, Hash: hash}
	e.plan, err = planner.Plan(sig, cat, planner.Options{AsOf: dataplane.DemoAsOf})
	require.NoError(b, err)
	e.code, err = codegen.Postgres{}.Generate(e.plan, cat)
	require.NoError(b, err)
	var ok bool
	e.target, ok = cat.Get(e.plan.Target)
	require.True(b, ok)

	script := ""
	for _, f := range e.code.Files {
		script += f.Content
	}
	owner := d.Worker // the worker owns the data plane (testenv.DataPlaneDB)
	e.reset = func(b *testing.B) {
		require.NoError(b, dataplane.Reset(ctx, owner, cat))
		_, err := owner.Exec(ctx, "VACUUM ANALYZE "+dataplane.Table(e.target)+", "+dataplane.StagingTable(e.target)+", "+dataplane.QuarantineTable(e.target)+", "+dataplane.PublicationTable)
		require.NoError(b, err)
	}
	e.bare = func(b *testing.B) time.Duration {
		start := time.Now()
		tx, err := owner.Begin(ctx)
		require.NoError(b, err)
		_, err = tx.Exec(ctx, script)
		require.NoError(b, err)
		require.NoError(b, tx.Commit(ctx))
		return time.Since(start)
	}
	_, err = owner.Exec(ctx, "VACUUM ANALYZE")
	require.NoError(b, err)
	return e
}

// measured is one governed run and one bare run of the same script.
type measured struct {
	governed, bare                   time.Duration
	lock, units, partial, projection time.Duration
	evidence                         time.Duration
}

// median is the median of each duration, and the ratios governed/bare of
// each pair, sorted: a pair runs close in time, so its ratio is what a
// busy machine disturbs least.
func median(ms []measured) (measured, []float64) {
	ratios := make([]float64, len(ms))
	for i, m := range ms {
		ratios[i] = m.governed.Seconds() / m.bare.Seconds()
	}
	slices.Sort(ratios)
	pick := func(f func(measured) time.Duration) time.Duration {
		v := make([]time.Duration, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return measured{
		governed: pick(func(m measured) time.Duration { return m.governed }), bare: pick(func(m measured) time.Duration { return m.bare }),
		lock: pick(func(m measured) time.Duration { return m.lock }), units: pick(func(m measured) time.Duration { return m.units }),
		partial: pick(func(m measured) time.Duration { return m.partial }), projection: pick(func(m measured) time.Duration { return m.projection }),
		evidence: pick(func(m measured) time.Duration { return m.evidence }),
	}, ratios
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// pair runs the bare script and the governed execution once each, each on
// an empty target.
func (e *execBench) pair(b *testing.B) measured {
	var m measured
	e.reset(b)
	m.bare = e.bare(b)
	e.reset(b)
	e.governed(b, &m)
	return m
}

// activityEnv is a test activity environment that logs nothing.
func activityEnv() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(app.NewTemporalLogger(zap.NewNop()))
	return s.NewTestActivityEnvironment()
}

// call runs one activity as the worker would (arguments and results
// through the data converter), in a test activity environment of its own.
func call[T any](b *testing.B, fn any, args ...any) T {
	b.Helper()
	env := activityEnv()
	env.RegisterActivity(fn)
	v, err := env.ExecuteActivity(fn, args...)
	require.NoError(b, err)
	var out T
	require.NoError(b, v.Get(&out))
	return out
}

func (e *execBench) governed(b *testing.B, m *measured) {
	e.n++
	id := fmt.Sprintf("bench-exec-%d-%d", time.Now().UnixNano(), e.n)
	ctx := e.ctx
	_, err := e.store.UpsertIntent(ctx, db.Intent{IntentID: id, WorkflowID: id, RunID: "run", CorrelationID: id, Source: db.SourceText,
		Input: "reconcile nfe with clientes and persist to silver", SubmittedAt: time.Now(), Status: "running"})
	require.NoError(b, err)
	// Signed against the registry as it is now: the previous run projected.
	env, err := e.store.LatestSnapshot(ctx)
	require.NoError(b, err)
	e.signed.Signature.ExecutionContext.RegistryVersionID = env.VersionID
	e.signed.Hash, err = e.signed.Signature.Hash()
	require.NoError(b, err)
	planJSON, err := json.Marshal(e.plan)
	require.NoError(b, err)
	arts, err := json.Marshal([]codegen.Artifact{e.code})
	require.NoError(b, err)
	require.NoError(b, e.store.RecordPlan(ctx, db.PlanRecord{IntentID: id, SignatureHash: e.signed.Hash, PlanHash: e.plan.Hash,
		Plan: planJSON, PreCost: []byte(`{}`), Artifacts: arts, CodeHash: e.code.Hash}))
	ref := activities.PlanRef{IntentID: id, SignatureHash: e.signed.Hash}
	seq := int64(1)
	step := func(events int64) activities.Step {
		st := activities.Step{IntentID: id, CorrelationID: id, PolicyBundleVersion: e.signed.Signature.ExecutionContext.PolicyBundleVersion, Seq: seq, At: time.Now().UTC()}
		seq += events
		return st
	}
	a := e.acts

	start := time.Now()
	lock := call[activities.Locked](b, a.AcquireScope, step(1), activities.LockInput{Plan: ref, WorkflowID: id, RunID: "run"})
	require.True(b, lock.Held, "scope held")
	rv := call[activities.Revalidated](b, a.Revalidate, step(1), activities.RevalidateInput{Signed: e.signed, Scopes: lock.Scopes})
	require.False(b, rv.Stop || rv.Stale, "revalidation passes: %s", rv.Summary)
	prep := call[activities.Prepared](b, a.PrepareExecution, step(0), activities.PrepareInput{Plan: ref})
	require.Len(b, prep.Units.Keys, len(dataplane.DemoPartitions))
	m.lock = time.Since(start)

	unitsStart := time.Now()
	ran := make([]activities.UnitRan, len(prep.Units.Keys))
	var wg sync.WaitGroup
	for i, k := range prep.Units.Keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := activityEnv()
			env.RegisterActivity(a.ExecuteUnit)
			v, err := env.ExecuteActivity(a.ExecuteUnit, activities.UnitInput{IntentID: id, Plan: ref, Key: k, Partitioned: prep.Units.Partitioned,
				PolicyBundleVersion: e.signed.Signature.ExecutionContext.PolicyBundleVersion, Role: prep.Role})
			var out activities.UnitOutcome
			if err == nil {
				err = v.Get(&out)
			}
			ran[i] = activities.ReadUnit(k, out, err, false)
		}()
	}
	wg.Wait()
	m.units = time.Since(unitsStart)
	for _, r := range ran {
		require.True(b, r.Report != nil && r.Report.Passed, "unit %s: %+v", r.Key, r)
	}

	partialStart := time.Now()
	p := call[activities.Partial](b, a.ApplyPartialFailurePolicy, step(int64(len(ran))+1), activities.PartialInput{Plan: ref, Units: prep.Units, Ran: ran,
		Signature: e.signed.Signature})
	require.NotNil(b, p.Outcome)
	m.partial = time.Since(partialStart)

	projStart := time.Now()
	proj := call[activities.Projected](b, a.Project, activities.ProjectInput{IntentID: id, Plan: ref, Outcome: *p.Outcome, Partitioned: prep.Units.Partitioned,
		PolicyBundleVersion: e.signed.Signature.ExecutionContext.PolicyBundleVersion, Now: time.Now().UTC(), ShapeHash: p.Executed.ShapeHash, ActualDBU: p.Executed.ActualDBU})
	_ = call[activities.Stage](b, a.RecordProjection, step(1), activities.ProjectionRecord{Projected: proj, Scopes: lock.Scopes})
	m.projection = time.Since(projStart)
	m.governed = time.Since(start)
	require.Equal(b, int64(len(dataplane.DemoPartitions)*e.rows), proj.Moved["committed"], "every row committed")

	// Step 18's key-uniqueness evidence over the committed partitions.
	evStart := time.Now()
	dups, err := e.store.DuplicateKeys(ctx, e.target, p.Executed.Committed)
	require.NoError(b, err)
	require.Zero(b, dups)
	m.evidence = time.Since(evStart)
}
