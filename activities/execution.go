package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// ErrEnvironmental is the error type of a unit the environment invalidated
// (permission revoked, policy bundle changed, connection lost, cancelled):
// never retried, it triggers Panic Rollback.
const ErrEnvironmental = "ENVIRONMENTAL_FAULT"

// EnvironmentalFault is the detail of an ErrEnvironmental error.
type EnvironmentalFault struct {
	Trigger partialexecution.Trigger `json:"trigger"`
	Reason  string                   `json:"reason"`
}

// UnitsInput names the plan whose consistency units are wanted.
type UnitsInput struct {
	IntentID string                `json:"intent_id"`
	Plan     planner.ExecutionPlan `json:"plan"`
}

// Units are the consistency units of one execution.
type Units struct {
	ConsistencyUnit partialexecution.ConsistencyUnit `json:"consistency_unit"`
	Target          string                           `json:"target"`
	Keys            []string                         `json:"keys"`
	// Partitioned: each key is a partition value of the sources and target.
	Partitioned bool `json:"partitioned"`
}

// DiscoverUnits lists the consistency units of a plan: for a partition unit,
// the partition values the window holds in the partitioned source (an empty
// partition is no unit); otherwise one unit, the target dataset.
func (a *Activities) DiscoverUnits(ctx context.Context, in UnitsInput) (Units, error) {
	p := in.Plan
	out := Units{Target: p.Target}
	load, ok := p.LoadStep()
	if !ok || p.ConsistencyUnit != planner.UnitPartition || p.Window == nil || load.Params.Load.PartitionKey == "" {
		out.ConsistencyUnit = partialexecution.ConsistencyUnit{Type: partialexecution.UnitType(unitType(p.ConsistencyUnit)), Key: p.Target}
		out.Keys = []string{p.Target}
		return out, nil
	}
	out.ConsistencyUnit = partialexecution.ConsistencyUnit{Type: partialexecution.UnitPartition, Key: load.Params.Load.PartitionKey}
	out.Partitioned = true
	var src catalog.Dataset
	for _, s := range p.Steps {
		if s.Kind == planner.KindExtract && s.Params.Filter != nil {
			if src, ok = a.Catalog.Get(s.Dataset); !ok {
				return out, invalid(fmt.Errorf("discover units of intent %s: dataset %s is not in the catalog", in.IntentID, s.Dataset))
			}
			break
		}
	}
	if src.Name == "" {
		return out, invalid(fmt.Errorf("discover units of intent %s: the plan partitions by %s but no extract is filtered on it", in.IntentID, load.Params.Load.PartitionKey))
	}
	keys, err := a.Store.Partitions(ctx, src, p.Window.From, p.Window.To)
	if err != nil {
		return out, fmt.Errorf("discover units of intent %s: %w", in.IntentID, err)
	}
	out.Keys = keys
	return out, nil
}

func unitType(u planner.ConsistencyUnit) string {
	if u == planner.UnitPartition {
		return string(planner.UnitDataset) // a partition unit with no window runs as one dataset unit
	}
	return string(u)
}

// LockInput asks for the target scopes of a plan (step 11).
type LockInput struct {
	IntentID   string                `json:"intent_id"`
	WorkflowID string                `json:"workflow_id"`
	RunID      string                `json:"run_id"`
	Plan       planner.ExecutionPlan `json:"plan"`
	OnConflict string                `json:"on_conflict,omitempty"`
}

// LockOutcome says whether the scopes are held, or who comes first.
type LockOutcome struct {
	Held      bool            `json:"held"`
	Rejected  bool            `json:"rejected,omitempty"`
	Scopes    []string        `json:"scopes"`
	Ahead     []db.LockHolder `json:"ahead,omitempty"`
	Recovered []string        `json:"recovered,omitempty"` // dead holders whose scopes were released
	// Wake lists the other intents queued on the recovered scopes.
	Wake []string `json:"wake,omitempty"`
}

// AcquireScope requests the plan's target scopes (single_active_intent_per_
// target_scope). A holder whose workflow is no longer running (it died or
// was terminated before its projection) is recovered: its scopes are
// released, which is safe because its writes never left staging.
func (a *Activities) AcquireScope(ctx context.Context, in LockInput) (LockOutcome, error) {
	scopes, err := scopesOf(in.Plan)
	if err != nil {
		return LockOutcome{}, invalid(fmt.Errorf("lock scopes of intent %s: %w", in.IntentID, err))
	}
	req := db.LockRequest{IntentID: in.IntentID, WorkflowID: in.WorkflowID, RunID: in.RunID, OnConflict: in.OnConflict}
	out := LockOutcome{}
	for _, s := range scopes {
		req.Scopes = append(req.Scopes, db.LockScope{Dataset: s.Dataset, Partition: s.Partition})
		out.Scopes = append(out.Scopes, s.Key())
	}
	for range 2 { // a second try after recovering dead holders
		st, err := a.Store.AcquireScopes(ctx, req)
		if errors.Is(err, db.ErrScopeRejected) {
			out.Rejected, out.Ahead = true, st.Ahead
			return out, nil
		}
		if errors.Is(err, db.ErrInvalidLockRequest) {
			return out, invalid(err)
		}
		if err != nil {
			return out, err
		}
		out.Held, out.Ahead = st.Held, st.Ahead
		if st.Held || a.Temporal == nil {
			return out, nil
		}
		recovered := false
		for _, h := range st.Ahead {
			if slices.Contains(out.Recovered, h.IntentID) {
				continue
			}
			// The latest run: a reset holder runs on under a new run id.
			// Workflow ids are never reused, so a holder Temporal no longer
			// knows (history past retention) is gone too.
			status := "not found"
			desc, err := a.Temporal.DescribeWorkflowExecution(ctx, h.WorkflowID, "")
			var nf *serviceerror.NotFound
			switch {
			case errors.As(err, &nf):
			case err != nil:
				continue // Temporal unreachable: recovery waits for the next check
			case desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
				continue
			default:
				status = desc.GetWorkflowExecutionInfo().GetStatus().String()
			}
			wake, err := a.Store.ReleaseScopes(ctx, h.IntentID, db.ReleaseRecovered)
			if err != nil {
				return out, err
			}
			out.Wake = append(out.Wake, wake...)
			a.log(in.IntentID, "concurrency_control").Warn("recovered the scopes of a dead holder",
				zap.String("holder", h.IntentID), zap.String("status", status))
			out.Recovered = append(out.Recovered, h.IntentID)
			recovered = true
		}
		if !recovered {
			return out, nil
		}
	}
	return out, nil
}

// ReleaseInput releases an intent's scopes outside a projection.
type ReleaseInput struct {
	IntentID string `json:"intent_id"`
	Reason   string `json:"reason"`
}

// ReleaseScope releases the intent's scopes and returns who to wake.
func (a *Activities) ReleaseScope(ctx context.Context, in ReleaseInput) ([]string, error) {
	return a.Store.ReleaseScopes(ctx, in.IntentID, in.Reason)
}

func scopesOf(p planner.ExecutionPlan) ([]concurrency.Scope, error) {
	t := concurrency.Target{Dataset: p.Target}
	if load, ok := p.LoadStep(); ok && load.Params.Load != nil {
		t.PartitionKey = load.Params.Load.PartitionKey
		if w := p.Window; w != nil && w.Column == t.PartitionKey {
			t.From, t.To = w.From, w.To
		}
	}
	return concurrency.ScopesFor(t)
}

// RevalidateInput is step 12: the signed execution_context.
type RevalidateInput struct {
	IntentID         string                     `json:"intent_id"`
	ExecutionContext signature.ExecutionContext `json:"execution_context"`
}

// Revalidate compares the execution_context with the versions in force now
// (TOCTOU), after the lock is held.
func (a *Activities) Revalidate(ctx context.Context, in RevalidateInput) (revalidation.Result, error) {
	env, err := a.Store.LatestSnapshot(ctx)
	if err != nil {
		return revalidation.Result{}, fmt.Errorf("revalidate intent %s: %w", in.IntentID, err)
	}
	res, err := revalidation.Revalidate(in.ExecutionContext, signature.ExecutionContext{
		PolicyBundleVersion: a.Bundle.Version, CatalogSnapshotVersion: a.Catalog.SnapshotVersion, RegistryVersionID: env.VersionID,
	})
	if err != nil {
		return res, invalid(err)
	}
	return res, nil
}

// UnitInput is one attempt of one consistency unit (step 13).
type UnitInput struct {
	IntentID string                `json:"intent_id"`
	Plan     planner.ExecutionPlan `json:"plan"`
	// Code is the statically validated Postgres script.
	Code string `json:"code"`
	Key  string `json:"key"`
	// Partitioned: Key is a partition value the unit is narrowed to.
	Partitioned bool `json:"partitioned"`
	// PolicyBundleVersion is the signature's; a worker enforcing another
	// bundle must not run the unit (policy changed mid-execution).
	PolicyBundleVersion string `json:"policy_bundle_version"`
	// Role is the sandbox role PrepareSandbox granted for this plan. Units
	// never grant: a permission revoked mid-execution stays revoked.
	Role string `json:"role"`
}

// PrepareSandbox creates (or re-grants) the plan's sandbox role before its
// units run: SELECT on its sources, writes on its target's staging only.
func (a *Activities) PrepareSandbox(ctx context.Context, in UnitsInput) (string, error) {
	role, err := a.Store.EnsureSandboxRole(ctx, a.Catalog, dataplane.ScopeOf(in.Plan))
	if err != nil {
		return "", fmt.Errorf("prepare the sandbox of intent %s: %w", in.IntentID, err)
	}
	return role, nil
}

// UnitOutcome is a unit attempt that passed Runtime Validation.
type UnitOutcome struct {
	Report runtimevalidation.UnitReport `json:"report"`
}

// ExecuteUnit runs one consistency unit in the sandbox: under the plan's
// role, narrowed to its partition, writing only staging, with a statement
// timeout and heartbeats; then it measures the unit and validates it at
// runtime. A runtime fault is returned as an error of its code so the
// activity RetryPolicy retries it (the details carry the report); an
// environmental fault is ErrEnvironmental and never retried.
func (a *Activities) ExecuteUnit(ctx context.Context, in UnitInput) (UnitOutcome, error) {
	attempt := int(activity.GetInfo(ctx).Attempt)
	log := a.log(in.IntentID, "execution").With(zap.String("unit", in.Key), zap.Int("attempt", attempt))
	if in.PolicyBundleVersion != a.Bundle.Version {
		return UnitOutcome{}, environmental(partialexecution.TriggerPolicyBundleChangedMidExec,
			fmt.Sprintf("policy bundle changed mid-execution: signed %s, in force %s", in.PolicyBundleVersion, a.Bundle.Version))
	}
	target, ok := a.Catalog.Get(in.Plan.Target)
	if !ok {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: target %s is not in the catalog", in.Key, in.Plan.Target))
	}
	role := in.Role
	if role == "" {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: no sandbox role; run PrepareSandbox first", in.Key))
	}
	staged, err := dataplane.RedirectToStaging(in.Code, target)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: %w", in.Key, err))
	}
	unit := dataplane.Unit{IntentID: in.IntentID, Key: in.Key, StatementTimeout: a.statementTimeout()}
	if in.Partitioned {
		unit.Partition = in.Key
	}
	activity.RecordHeartbeat(ctx, in.Key)
	start := time.Now()
	run, err := a.Store.RunUnit(ctx, db.UnitRun{
		Target: target, Unit: unit, Role: role, Script: staged,
		Heartbeat: func() { activity.RecordHeartbeat(ctx, in.Key) }, HeartbeatEvery: 5 * time.Second,
	})
	m, written := run.Metrics, run.StagedBytes
	if err != nil {
		return UnitOutcome{}, classify(ctx, fmt.Errorf("execute unit %s of intent %s: %w", in.Key, in.IntentID, err), dataplane.ScopeOf(in.Plan).Sources...)
	}
	metrics := runtimevalidation.UnitMetrics{
		Dataset: target.Name, Key: in.Key, Attempt: attempt, RowsOut: m.Rows,
		NullRatio: map[string]float64{}, DurationMS: time.Since(start).Milliseconds(),
		CostDBU: precost.DefaultModel().WrittenDBU(written, in.Plan.Strategy == planner.MergeWithDeterministicKey),
	}
	for _, c := range m.Columns {
		metrics.NullRatio[c.Name] = c.NullRatio
	}
	for _, c := range m.Schema {
		metrics.OutputSchema = append(metrics.OutputSchema, runtimevalidation.Column{Name: c.Name, Type: c.Type})
	}
	load, _ := in.Plan.LoadStep()
	expected := make([]runtimevalidation.Column, 0, len(load.Columns))
	for _, c := range load.Columns {
		expected = append(expected, runtimevalidation.Column{Name: c.Name, Type: c.Type})
	}
	rep, err := runtimevalidation.Validate(a.limits(), expected, metrics)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("runtime validation of unit %s: %w", in.Key, err))
	}
	out := UnitOutcome{Report: rep}
	if f, failed := rep.Primary(); failed && !rep.Passed {
		retry := partialexecution.DefaultRetryPolicy()
		log.Warn("runtime validation failed", zap.String("code", f.Code), zap.String("message", f.Message))
		return out, temporal.NewApplicationErrorWithOptions(f.Message, f.Code, temporal.ApplicationErrorOptions{
			NonRetryable: !retry.Retryable(f.Family, f.Code), Details: []any{out},
		})
	}
	log.Info("unit executed", zap.Int64("rows_out", m.Rows))
	return out, nil
}

func environmental(trigger partialexecution.Trigger, reason string) error {
	return temporal.NewApplicationErrorWithOptions(reason, ErrEnvironmental, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{EnvironmentalFault{Trigger: trigger, Reason: reason}},
	})
}

// classify turns what the database said into a retryable error or an
// environmental fault. The order matters: a cancelled context first (what
// the database said then is a consequence), then a revoked permission,
// exhausted storage and a lost connection.
func classify(ctx context.Context, err error, sources ...string) error {
	var pg *pgconn.PgError
	if ctx.Err() != nil && workerStopping(ctx) {
		// A worker shutting down (a deploy) is no cancellation of the
		// intent: the attempt is retried on another worker.
		return err
	}
	switch {
	case ctx.Err() != nil:
		return environmental(partialexecution.TriggerExecutionCancelled, "execution cancelled: "+err.Error())
	case errors.As(err, &pg) && pg.Code == "42501":
		if permissionOutsideScope(pg.Message, sources) {
			// The unit touched what its plan does not: I6 over I4.
			return environmental(partialexecution.TriggerForbiddenOperation, "forbidden operation at run time: "+err.Error())
		}
		return environmental(partialexecution.TriggerExternalPermissionRevoked, "permission revoked: "+err.Error())
	case errors.As(err, &pg) && isStorageExhausted(pg.Code):
		return environmental(partialexecution.TriggerStorageQuotaExceeded, "storage exhausted: "+err.Error())
	case isConnectionLost(err):
		return environmental(partialexecution.TriggerConnectionLost, "connection lost: "+err.Error())
	}
	return err // retried by the activity RetryPolicy
}

// isStorageExhausted: disk_full, out_of_memory, io_error.
func isStorageExhausted(code string) bool {
	return code == "53100" || code == "53200" || code == "58030"
}

// isConnectionLost reports whether the unit's session is gone: the server
// ended it (a backend terminated by pg_terminate_backend reports FATAL
// 57P01 admin_shutdown, with pgx's *pgconn.PgError, before closing the
// socket), it was shutting down or starting, a connection exception (class
// 08), the socket closed under the client (EOF, reset, broken pipe), or no
// connection could be made. The statement's work is lost with the session.
func isConnectionLost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case strings.HasPrefix(pg.Code, "08"): // connection_exception
			return true
		}
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

func (a *Activities) statementTimeout() time.Duration {
	if a.Execution.StatementTimeout > 0 {
		return a.Execution.StatementTimeout
	}
	return 5 * time.Minute
}

func (a *Activities) limits() runtimevalidation.Limits {
	if a.Execution.Limits != nil {
		return *a.Execution.Limits
	}
	return runtimevalidation.DefaultLimits()
}

// ExecutionConfig tunes the sandbox; the zero value is the whitepaper's.
type ExecutionConfig struct {
	StatementTimeout time.Duration
	Limits           *runtimevalidation.Limits
}

// ProjectInput is step 16: what the partial failure policy decided.
type ProjectInput struct {
	IntentID            string                   `json:"intent_id"`
	Plan                planner.ExecutionPlan    `json:"plan"`
	Outcome             partialexecution.Outcome `json:"outcome"`
	Partitioned         bool                     `json:"partitioned"`
	PolicyBundleVersion string                   `json:"policy_bundle_version"`
	Now                 time.Time                `json:"now"`
	// ShapeHash keys the pre-cost history; ActualDBU is the sum of the
	// units' measured cost (every attempt), recorded after the commit.
	ShapeHash string  `json:"shape_hash"`
	ActualDBU float64 `json:"actual_dbu"`
}

// Projected is the committed registry snapshot and who to wake.
type Projected struct {
	Environment registry.EnvironmentState `json:"environment"`
	Wake        []string                  `json:"wake,omitempty"`
	Replayed    bool                      `json:"replayed,omitempty"`
	Withheld    []string                  `json:"withheld,omitempty"`
	Moved       map[string]int64          `json:"moved"`
}

// Project runs the State Projection Protocol: in one transaction the units'
// outputs are moved (commit → target, quarantine, discard), publication is
// updated, the new snapshot is committed and the scopes are released.
func (a *Activities) Project(ctx context.Context, in ProjectInput) (Projected, error) {
	target, ok := a.Catalog.Get(in.Plan.Target)
	if !ok {
		return Projected{}, invalid(fmt.Errorf("project intent %s: target %s is not in the catalog", in.IntentID, in.Plan.Target))
	}
	moves := make([]db.UnitMove, 0, len(in.Outcome.Actions))
	for _, act := range in.Outcome.Actions {
		m := db.UnitMove{Key: act.Key, FaultCode: act.ErrorCode}
		if in.Partitioned {
			m.Partition = act.Key
		}
		switch act.Action {
		case partialexecution.ActionCommit:
			m.Move = db.MoveCommit
		case partialexecution.ActionQuarantine:
			m.Move = db.MoveQuarantine
		default:
			m.Move = db.MoveDiscard
		}
		moves = append(moves, m)
	}
	var out Projected
	res, err := a.Store.ProjectExecution(ctx, db.ProjectionRequest{
		IntentID: in.IntentID, Plan: in.Plan, Catalog: a.Catalog, Target: target, Moves: moves,
		Project: func(latest registry.EnvironmentState) (db.ProjectionCommit, []db.PublicationChange, error) {
			p, err := projection.Project(projection.Input{
				Previous: latest, Outcomes: in.Outcome.Projections(), Now: in.Now,
				Execution: registry.ExecutionRecord{
					IntentID: in.IntentID, Outcome: string(in.Outcome.State.OverallState), ConsistencyUnit: string(in.Plan.ConsistencyUnit),
					Timestamp: in.Now, PolicyBundleVersion: in.PolicyBundleVersion,
				},
			})
			if err != nil {
				return db.ProjectionCommit{}, nil, err
			}
			out.Withheld = p.Withheld
			// Publication follows the state the projection writes (I7: a
			// dataset left partially_committed is at most degraded).
			projected := map[string]string{}
			for _, d := range p.Datasets {
				projected[d.Name] = d.State
			}
			var pubs []db.PublicationChange
			for _, d := range in.Outcome.Datasets {
				if len(d.CommittedPartitions) == 0 {
					continue
				}
				if status := dataplane.PublishStatus(d.PublishStatusAfter(projected[d.Dataset])); status != "" {
					pubs = append(pubs, db.PublicationChange{Partitions: d.CommittedPartitions, Status: status})
				}
			}
			return db.ProjectionCommit{ParentVersionID: p.ParentVersionID, VersionID: p.VersionID, Datasets: p.Changed, History: p.ExecutionHistory}, pubs, nil
		},
	})
	if err != nil {
		return Projected{}, err
	}
	out.Moved = res.Moved
	out.Environment, out.Wake, out.Replayed = res.Environment, res.Wake, res.Replayed
	// The feedback loop (5.5): the real cost of this execution, once.
	if in.ShapeHash != "" {
		if err := a.Store.RecordCost(ctx, in.ShapeHash, db.CostRun{IntentID: in.IntentID, ExecutedAt: in.Now, ActualDBU: in.ActualDBU}); err != nil {
			return out, err
		}
	}
	a.log(in.IntentID, "state_projection").Info("projected",
		zap.String("version_id", res.Environment.VersionID), zap.Bool("replayed", res.Replayed), zap.Any("moved", out.Moved))
	return out, nil
}

// PanicInput is a Panic Rollback: every unit's output goes to quarantine,
// nothing is projected, the scopes are released.
type PanicInput struct {
	IntentID string                        `json:"intent_id"`
	Plan     planner.ExecutionPlan         `json:"plan"`
	Outcome  partialexecution.PanicOutcome `json:"outcome"`
}

// PanicRollback quarantines the staged output of every unit of the intent
// and releases its scopes; the registry is not touched (I6 over I4).
func (a *Activities) PanicRollback(ctx context.Context, in PanicInput) ([]string, error) {
	target, ok := a.Catalog.Get(in.Plan.Target)
	if !ok {
		return nil, invalid(fmt.Errorf("panic rollback of intent %s: target %s is not in the catalog", in.IntentID, in.Plan.Target))
	}
	keys := make([]string, 0, len(in.Outcome.Actions))
	for _, act := range in.Outcome.Actions {
		keys = append(keys, act.Key)
	}
	return a.Store.PanicRollback(ctx, target, in.IntentID, keys, in.Outcome.Fault.Code)
}

// PublishInput publishes a dataset (a publish-only plan).
type PublishInput struct {
	IntentID string `json:"intent_id"`
	Dataset  string `json:"dataset"`
}

// Published lists the partitions made visible to readers.
type Published struct {
	Partitions []string `json:"partitions"`
	Refused    string   `json:"refused,omitempty"` // why nothing was published (I7)
}

// PublishDataset marks every committed partition of the dataset published,
// so the published view shows it. The latest registry snapshot is read in
// the same transaction: a dataset that is not committed with
// publish_allowed is refused (I7), whatever the plan said.
func (a *Activities) PublishDataset(ctx context.Context, in PublishInput) (Published, error) {
	d, ok := a.Catalog.Get(in.Dataset)
	if !ok || !dataplane.Governed(d) {
		return Published{}, invalid(fmt.Errorf("publish %s: not a silver or gold dataset of the catalog", in.Dataset))
	}
	pub, err := a.Store.Publish(ctx, d, in.IntentID, func(env registry.EnvironmentState) string {
		st, ok := env.Dataset(d.Name)
		switch {
		case !ok:
			// No projection ever recorded the dataset: whatever its table
			// holds did not come through a governed write (I7).
			return fmt.Sprintf("%s has no entry in registry %s: no execution was projected into it, so it is not known to be trusted (I7); write it with a governed intent first", d.Name, env.VersionID)
		case st.State != registry.StateCommitted || !st.PublishAllowed:
			return fmt.Sprintf("%s is %s with publish_allowed=%v in registry %s (I7)", d.Name, st.State, st.PublishAllowed, env.VersionID)
		}
		return ""
	})
	if err != nil {
		return Published{}, err
	}
	return Published{Partitions: pub.Partitions, Refused: pub.Refused}, nil
}

// ScopeCheckInput is step 3: the datasets an intent will write.
type ScopeCheckInput struct {
	IntentID string   `json:"intent_id"`
	Datasets []string `json:"datasets"`
}

// ScopeCheck says who holds or waits for those datasets now.
type ScopeCheck struct {
	Busy    bool     `json:"busy"`
	Holders []string `json:"holders,omitempty"`
}

// CheckScope is the lock check of step 3: a read of the scope table, no
// acquisition (that is step 11, before revalidation).
func (a *Activities) CheckScope(ctx context.Context, in ScopeCheckInput) (ScopeCheck, error) {
	active, err := a.Store.ActiveLocks(ctx)
	if err != nil {
		return ScopeCheck{}, err
	}
	var out ScopeCheck
	for _, h := range active {
		if h.IntentID != in.IntentID && slices.Contains(in.Datasets, h.Scope.Dataset) && !slices.Contains(out.Holders, h.IntentID) {
			out.Holders = append(out.Holders, h.IntentID)
		}
	}
	out.Busy = len(out.Holders) > 0
	return out, nil
}

// CertainInput asks I4 whether an intent may run on its scopes.
type CertainInput struct {
	IntentID string   `json:"intent_id"`
	Scopes   []string `json:"scopes"` // concurrency.Scope keys
}

// CheckEnvironmentCertain applies I4: an unresolved failed projection on a
// conflicting scope blocks the intent (ENVIRONMENT_STATE_UNCERTAIN).
func (a *Activities) CheckEnvironmentCertain(ctx context.Context, in CertainInput) (projection.Gate, error) {
	open, err := a.Store.OpenProjectionFailures(ctx)
	if err != nil {
		return projection.Gate{}, err
	}
	scopes, err := parseScopes(in.Scopes)
	if err != nil {
		return projection.Gate{}, invalid(err)
	}
	failed := make([]projection.FailedProjection, 0, len(open))
	for _, f := range open {
		fs, err := parseScopes(f.Scopes)
		if err != nil {
			return projection.Gate{}, fmt.Errorf("failed projection of intent %s: %w", f.IntentID, err)
		}
		failed = append(failed, projection.FailedProjection{IntentID: f.IntentID, Scopes: fs, ParentVersionID: f.ParentVersionID, FailedAt: f.FailedAt, Cause: f.Cause})
	}
	return projection.CheckCertain(in.IntentID, scopes, failed), nil
}

func parseScopes(keys []string) ([]concurrency.Scope, error) {
	out := make([]concurrency.Scope, 0, len(keys))
	for _, k := range keys {
		s, err := concurrency.ParseScope(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ProjectionFailedInput records a projection that did not commit.
type ProjectionFailedInput struct {
	IntentID        string    `json:"intent_id"`
	Scopes          []string  `json:"scopes"`
	ParentVersionID string    `json:"parent_version_id"`
	Cause           string    `json:"cause"`
	At              time.Time `json:"at"`
}

// MarkProjectionFailed records the I4 marker, then releases the intent's
// scopes: queued intents wake and are blocked by the marker (with a clear
// fault) instead of waiting forever. The staged outputs stay in staging.
func (a *Activities) MarkProjectionFailed(ctx context.Context, in ProjectionFailedInput) ([]string, error) {
	if err := a.Store.RecordProjectionFailure(ctx, db.ProjectionFailure{
		IntentID: in.IntentID, Scopes: in.Scopes, ParentVersionID: in.ParentVersionID, Cause: in.Cause, FailedAt: in.At,
	}); err != nil {
		return nil, err
	}
	return a.Store.ReleaseScopes(ctx, in.IntentID, db.ReleaseProjectionFailed)
}

// permissionOutsideScope tells a permission the environment took away (on a
// source the plan reads) from an operation the plan never declared (any
// other relation): Postgres says "permission denied for table T".
func permissionOutsideScope(msg string, sources []string) bool {
	const prefix = "permission denied for table "
	i := strings.Index(msg, prefix)
	if i < 0 || len(sources) == 0 {
		return false
	}
	table := strings.Trim(strings.Fields(msg[i+len(prefix):] + " ")[0], `"`)
	for _, s := range sources {
		if s == table || strings.HasSuffix(s, "."+table) {
			return false
		}
	}
	return true
}

func workerStopping(ctx context.Context) bool {
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return true
	default:
		return false
	}
}
