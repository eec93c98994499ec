package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
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

// PlanRef names the recorded plan and code of one signature of an intent:
// the execution reads them from the planning record, so neither travels in
// the workflow's history again.
type PlanRef struct {
	IntentID      string `json:"intent_id"`
	SignatureHash string `json:"intent_signature_hash"`
}

// executable is a recorded plan and its Postgres code.
type executable struct {
	Plan planner.ExecutionPlan
	Code codegen.Artifact
}

func (a *Activities) executable(ctx context.Context, ref PlanRef) (executable, error) {
	rec, err := a.Store.GetPlanOfSignature(ctx, ref.IntentID, ref.SignatureHash)
	if errors.Is(err, db.ErrPlanNotFound) {
		return executable{}, invalid(fmt.Errorf("%w: step 10 records the plan of every signature that executes", err))
	}
	if err != nil {
		return executable{}, err
	}
	var out executable
	if err := json.Unmarshal(rec.Plan, &out.Plan); err != nil || rec.Plan == nil {
		return executable{}, invalid(fmt.Errorf("read the plan of intent %s: %v: the planning record has no valid plan", ref.IntentID, err))
	}
	var arts []codegen.Artifact
	if err := json.Unmarshal(rec.Artifacts, &arts); err != nil || len(arts) == 0 {
		return executable{}, invalid(fmt.Errorf("read the code of intent %s: %v: the planning record has no code", ref.IntentID, err))
	}
	out.Code = arts[0] // the Postgres artifact, first (Code.Artifacts)
	return out, nil
}

// sources are the catalog datasets a plan reads.
func (a *Activities) sources(p planner.ExecutionPlan) ([]catalog.Dataset, error) {
	var out []catalog.Dataset
	for _, n := range dataplane.ScopeOf(p).Sources {
		d, ok := a.Catalog.Get(n)
		if !ok {
			return nil, fmt.Errorf("source %s of plan %s is not in catalog %s", n, p.Hash, a.Catalog.SnapshotVersion)
		}
		out = append(out, d)
	}
	return out, nil
}

func (e executable) script() string {
	var b strings.Builder
	for _, f := range e.Code.Files {
		b.WriteString(f.Content)
	}
	return b.String()
}

// LockInput asks for the target scopes of a plan (step 11).
type LockInput struct {
	Plan       PlanRef `json:"plan"`
	WorkflowID string  `json:"workflow_id"`
	RunID      string  `json:"run_id"`
	OnConflict string  `json:"on_conflict,omitempty"`
	// Queued: the intent already waits (SCOPE_LOCK_QUEUED is recorded once).
	Queued bool `json:"queued,omitempty"`
}

// Locked says whether the scopes are held, or who comes first.
type Locked struct {
	Stage
	Held     bool     `json:"held"`
	Rejected bool     `json:"rejected,omitempty"`
	Queued   bool     `json:"queued,omitempty"`
	Scopes   []string `json:"scopes"`
	// Recovered are dead holders whose scopes were released.
	Recovered []string `json:"recovered,omitempty"`
	// Wake lists the other intents queued on the recovered scopes.
	Wake []string `json:"wake,omitempty"`
}

// AcquireScope requests the plan's target scopes (single_active_intent_per_
// target_scope), held until the projection. With conflict_resolution
// reject a busy scope blocks the intent; with queue it waits in FIFO
// order. A holder whose workflow is no longer running (it died or was
// terminated before its projection) is recovered: its scopes are released,
// which is safe because its writes never left staging.
func (a *Activities) AcquireScope(ctx context.Context, st Step, in LockInput) (Locked, error) {
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return Locked{}, err
	}
	scopes, err := scopesOf(ex.Plan)
	if err != nil {
		return Locked{}, invalid(fmt.Errorf("lock scopes of intent %s: %w", st.IntentID, err))
	}
	req := db.LockRequest{IntentID: st.IntentID, WorkflowID: in.WorkflowID, RunID: in.RunID, OnConflict: in.OnConflict}
	out := Locked{Queued: in.Queued}
	for _, s := range scopes {
		req.Scopes = append(req.Scopes, db.LockScope{Dataset: s.Dataset, Partition: s.Partition})
		out.Scopes = append(out.Scopes, s.Key())
	}
	ahead, err := a.acquire(ctx, st.IntentID, req, &out)
	if err != nil {
		return out, err
	}
	t := newTrail(st)
	targets := scopeTargets(out.Scopes)
	switch {
	case out.Held:
		t.add(intent.StageLock, "acquired", audit.ActionWrite, targets, events.ScopeAcquired{
			Scopes: out.Scopes, Queued: in.Queued, Recovered: out.Recovered, LockPoint: "before_pre_execution_revalidation",
		})
		out.Summary = fmt.Sprintf("%d scopes held (%s)", len(out.Scopes), firstScope(out.Scopes))
	case out.Rejected:
		v := concurrency.ConflictVote(ahead)
		t.add(intent.StageLock, "blocked", audit.ActionInvoke, targets, events.ScopeRejected{Scopes: out.Scopes, Ahead: ahead})
		out.Summary = "rejected: " + v.Reason
		out.stop(v)
	case !in.Queued:
		out.Queued = true
		t.add(intent.StageLock, "queued", audit.ActionInvoke, targets, events.ScopeQueued{Scopes: out.Scopes, Ahead: ahead})
		out.Summary = "queued behind " + strings.Join(ahead, ", ")
	}
	return out, a.finish(ctx, t, &out.Stage)
}

// acquire asks the store for the scopes, recovering dead holders once, and
// returns who is ahead.
func (a *Activities) acquire(ctx context.Context, intentID string, req db.LockRequest, out *Locked) ([]string, error) {
	var ahead []db.LockHolder
	for range 2 { // a second try after recovering dead holders
		st, err := a.Store.AcquireScopes(ctx, req)
		if errors.Is(err, db.ErrScopeRejected) {
			out.Rejected, ahead = true, st.Ahead
			break
		}
		if errors.Is(err, db.ErrInvalidLockRequest) {
			return nil, invalid(err)
		}
		if err != nil {
			return nil, err
		}
		out.Held, ahead = st.Held, st.Ahead
		if st.Held || a.Temporal == nil {
			break
		}
		recovered, err := a.recoverDeadHolders(ctx, intentID, st.Ahead, out)
		if err != nil {
			return nil, err
		}
		if !recovered {
			break
		}
	}
	ids := make([]string, 0, len(ahead))
	for _, h := range distinctHolders(ahead) {
		ids = append(ids, h.IntentID)
	}
	return ids, nil
}

// distinctHolders keeps the first row of each intent ahead: the store
// returns one row per blocking scope (30 for a holder of 30 partitions).
func distinctHolders(ahead []db.LockHolder) []db.LockHolder {
	seen := make(map[string]bool, len(ahead))
	out := make([]db.LockHolder, 0, len(ahead))
	for _, h := range ahead {
		if !seen[h.IntentID] {
			seen[h.IntentID] = true
			out = append(out, h)
		}
	}
	return out
}

// describeTimeout bounds one question to Temporal about a holder, so an
// unresponsive frontend delays recovery, not the queued intent.
const describeTimeout = 5 * time.Second

// recoverDeadHolders releases the scopes of holders whose workflow is no
// longer running (by its latest run: a reset holder runs on under a new
// run id; a holder Temporal no longer knows is gone too). Each distinct
// holder is asked about once.
func (a *Activities) recoverDeadHolders(ctx context.Context, intentID string, ahead []db.LockHolder, out *Locked) (bool, error) {
	recovered := false
	for _, h := range distinctHolders(ahead) {
		if slices.Contains(out.Recovered, h.IntentID) {
			continue
		}
		status := "not found"
		dctx, cancel := context.WithTimeout(ctx, describeTimeout)
		desc, err := a.Temporal.DescribeWorkflowExecution(dctx, h.WorkflowID, "")
		cancel()
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
			return recovered, err
		}
		out.Wake = append(out.Wake, wake...)
		a.log(intentID, intent.StageLock).Warn("recovered the scopes of a dead holder", zap.String("holder", h.IntentID), zap.String("status", status))
		out.Recovered = append(out.Recovered, h.IntentID)
		recovered = true
	}
	return recovered, nil
}

// ReleaseInput releases an intent's scopes outside a projection.
type ReleaseInput struct {
	Reason string `json:"reason"`
}

// ReleaseScope releases the intent's scopes (waiting or held) and returns
// who to wake.
func (a *Activities) ReleaseScope(ctx context.Context, st Step, in ReleaseInput) ([]string, error) {
	return a.Store.ReleaseScopes(ctx, st.IntentID, in.Reason)
}

func scopesOf(plan planner.ExecutionPlan) ([]concurrency.Scope, error) {
	var targets []concurrency.Target // every target of a cross_dataset_atomic plan (docs/adr/0138)
	for _, p := range plan.PerTarget() {
		t := concurrency.Target{Dataset: p.Target}
		if load, ok := p.LoadStep(); ok && load.Params.Load != nil {
			t.PartitionKey = load.Params.Load.PartitionKey
			if w := p.Window; w != nil && w.Column == t.PartitionKey {
				t.From, t.To = w.From, w.To
			}
		}
		targets = append(targets, t)
	}
	return concurrency.ScopesFor(targets...)
}

// RevalidateInput is step 12: the signed signature and the scopes held.
type RevalidateInput struct {
	Signed Signed   `json:"signed"`
	Scopes []string `json:"scopes"`
}

// Revalidated is step 12's outcome. When Stale, the intent is signed again
// as Next under Consultation and planned again from step 6.
type Revalidated struct {
	Stage
	Stale        bool                `json:"stale,omitempty"`
	Next         signature.Signature `json:"next"`
	Consultation Consultation        `json:"consultation"`
}

// Revalidate is step 12, after the lock is held: I4 first (a projection
// that failed on a conflicting scope while the intent waited leaves its
// environment uncertain), then the execution_context against the versions
// in force now (TOCTOU). A stale environment counts as a replan; past the
// limit, replan_policy.on_max_exceeded blocks.
func (a *Activities) Revalidate(ctx context.Context, st Step, in RevalidateInput) (Revalidated, error) {
	out := Revalidated{}
	gate, err := a.certain(ctx, st.IntentID, in.Scopes)
	if err != nil {
		return out, err
	}
	if v := gate.Violation(); v != nil {
		out.Summary = "environment_state_uncertain: the projection of " + gate.Blockers() + " failed"
		out.veto(*v)
		return out, nil
	}
	env, err := a.Extensions.Snapshots.LatestSnapshot(ctx)
	if err != nil {
		return out, fmt.Errorf("revalidate intent %s: %w", st.IntentID, err)
	}
	now := Consultation{RegistryVersionID: env.VersionID, CatalogSnapshotVersion: a.Catalog.SnapshotVersion,
		PolicyBundleVersion: a.Bundle.Version, MaxReplanAttempts: a.Bundle.MaxReplanAttempts}
	rv, err := revalidation.Revalidate(in.Signed.Signature.ExecutionContext, now.ExecutionContext())
	if err != nil {
		return out, invalid(err)
	}
	t := newTrail(st)
	// The registry version it read is a target (MUST-005: a consultation
	// names what it consulted), besides the intent.
	t.add(intent.StageRevalidation, string(rv.Outcome), audit.ActionRead,
		[]string{"intent:" + st.IntentID, "context_registry:" + env.VersionID}, events.Revalidation{Result: rv})
	if rv.Outcome != revalidation.Replan {
		out.Summary = "execution_context current"
		return out, a.finish(ctx, t, &out.Stage)
	}
	out.Summary = "stale_environment_state: " + rv.Summary()
	next := in.Signed.Signature
	next.Replan++
	if next.Replan > now.MaxReplanAttempts {
		t.add(intent.StageRevalidation, "blocked", audit.ActionInvoke, nil, events.MaxReplanAttemptsExceeded{
			Reason: "max_replan_attempts_exceeded", Cause: revalidation.ReasonStaleEnvironmentState, Replans: in.Signed.Signature.Replan,
		})
		out.stop(revalidation.MaxReplansExceeded(next.Replan, now.MaxReplanAttempts, rv))
		return out, a.finish(ctx, t, &out.Stage)
	}
	// The scope stays held while the intent replans: it keeps its place, and
	// nothing else can change its datasets meanwhile.
	out.Stale, out.Next, out.Consultation = true, next, now
	return out, a.finish(ctx, t, &out.Stage)
}

// PrepareInput names the plan whose execution is prepared.
type PrepareInput struct {
	Plan PlanRef `json:"plan"`
	// Mode is partial_failure_policy.mode; empty is selective_quarantine.
	Mode string `json:"mode,omitempty"`
}

// Units are the consistency units of one execution.
type Units struct {
	ConsistencyUnit partialexecution.ConsistencyUnit `json:"consistency_unit"`
	Target          string                           `json:"target"`
	Keys            []string                         `json:"keys"`
	// Partitioned: each key is a partition value of the sources and target.
	Partitioned bool `json:"partitioned"`
	// Atomic: the keys are the targets of a cross_dataset_atomic plan,
	// Datasets, committed together or not at all (docs/adr/0138).
	Atomic   bool     `json:"atomic,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
}

// Prepared is the start of step 13: the units to run and the sandbox role
// they run as; with no unit, the flow stops with nothing to run.
type Prepared struct {
	Stage
	Units Units  `json:"units"`
	Role  string `json:"role"`
}

// PrepareExecution lists the plan's consistency units (for a partition
// unit, the partitions of the window that hold data in the partitioned
// source; otherwise one unit, the target) and creates or re-grants the
// plan's sandbox role: SELECT on its sources, writes on its target's
// staging only.
func (a *Activities) PrepareExecution(ctx context.Context, st Step, in PrepareInput) (Prepared, error) {
	if _, err := partialFailurePolicy(in.Mode); err != nil {
		return Prepared{}, err
	}
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return Prepared{}, err
	}
	units, err := a.units(ctx, st.IntentID, ex.Plan)
	if err != nil {
		return Prepared{}, err
	}
	out := Prepared{Units: units}
	if len(units.Keys) == 0 {
		// Nothing in the window: nothing runs, nothing changes.
		out.Summary, out.Stop = "no partition of the window holds data: nothing to run", true
		return out, nil
	}
	if out.Role, err = a.Store.EnsureSandboxRole(ctx, a.Catalog, dataplane.ScopeOf(ex.Plan)); err != nil {
		return out, fmt.Errorf("prepare the sandbox of intent %s: %w", st.IntentID, err)
	}
	out.Summary = fmt.Sprintf("%d consistency units (%s by %s): %s", len(units.Keys), units.ConsistencyUnit.Type, units.ConsistencyUnit.Key, strings.Join(units.Keys, ", "))
	return out, nil
}

func (a *Activities) units(ctx context.Context, intentID string, p planner.ExecutionPlan) (Units, error) {
	out := Units{Target: p.Target}
	out.ConsistencyUnit, out.Partitioned = kernel.ConsistencyUnitOf(p)
	if kernel.Atomic(p) { // one unit per target (docs/adr/0138)
		out.Keys, out.Atomic, out.Datasets = kernel.UnitKeys(p, nil), true, kernel.Targets(p)
		return out, nil
	}
	if !out.Partitioned && p.TimeWindows == nil {
		out.Keys = []string{p.Target}
		return out, nil
	}
	load, _ := p.LoadStep()
	var src catalog.Dataset
	var ok bool
	for _, s := range p.Steps {
		if s.Kind == planner.KindExtract && s.Params.Filter != nil {
			if src, ok = a.Catalog.Get(s.Dataset); !ok {
				return out, invalid(fmt.Errorf("discover units of intent %s: dataset %s is not in the catalog", intentID, s.Dataset))
			}
			break
		}
	}
	if src.Name == "" {
		return out, invalid(fmt.Errorf("discover units of intent %s: the plan partitions by %s but no extract is filtered on it", intentID, load.Params.Load.PartitionKey))
	}
	keys, err := a.Store.Partitions(ctx, src, p.Window.From, p.Window.To)
	if err != nil {
		return out, fmt.Errorf("discover units of intent %s: %w", intentID, err)
	}
	out.Keys = keys
	if p.TimeWindows != nil { // the windows of the days that hold data (docs/adr/0137)
		out.Keys = kernel.UnitKeys(p, keys)
	}
	return out, nil
}

// UnitInput is one attempt of one consistency unit (step 13).
type UnitInput struct {
	IntentID string  `json:"intent_id"`
	Plan     PlanRef `json:"plan"`
	Key      string  `json:"key"`
	// Partitioned: Key is a partition value the unit is narrowed to.
	Partitioned bool `json:"partitioned"`
	// PolicyBundleVersion is the signature's; a worker enforcing another
	// bundle must not run the unit (policy changed mid-execution).
	PolicyBundleVersion string `json:"policy_bundle_version"`
	// Role is the sandbox role PrepareExecution granted for this plan.
	// Units never grant: a permission revoked mid-execution stays revoked.
	Role string `json:"role"`
}

// UnitOutcome is a unit attempt that passed Runtime Validation.
type UnitOutcome struct {
	Report runtimevalidation.UnitReport `json:"report"`
}

// ExecuteUnit runs one consistency unit in the sandbox (steps 13 and 14):
// under the plan's role, narrowed to its partition, writing only staging,
// with a statement timeout and heartbeats; then it measures the unit and
// validates it at runtime. A runtime fault is returned as an error of its
// code so the activity RetryPolicy retries it (the details carry the
// report); an environmental fault is ErrEnvironmental and never retried.
func (a *Activities) ExecuteUnit(ctx context.Context, in UnitInput) (UnitOutcome, error) {
	// The unit's attempt counts its own failures only: an attempt lost
	// with a worker (Temporal retries it after the heartbeat timeout) does
	// not use up retry_failed_units' max_attempts.
	failed, err := a.Store.UnitFailures(ctx, in.IntentID, in.Key)
	if err != nil {
		return UnitOutcome{}, err
	}
	attempt := failed + 1
	log := a.log(in.IntentID, intent.StageExecution).With(zap.String("unit", in.Key), zap.Int("attempt", attempt),
		zap.Int32("temporal_attempt", activity.GetInfo(ctx).Attempt))
	if in.PolicyBundleVersion != a.Bundle.Version {
		return UnitOutcome{}, environmental(partialexecution.TriggerPolicyBundleChangedMidExec,
			fmt.Sprintf("policy bundle changed mid-execution: signed %s, in force %s", in.PolicyBundleVersion, a.Bundle.Version))
	}
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return UnitOutcome{}, err
	}
	// The unit's own plan (a cross_dataset_atomic target's part), target,
	// partition (a time window's day) and script (docs/adr/0137, 0138).
	ku, err := kernel.UnitOf(ex.Plan, in.Key, in.Partitioned)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: %w", in.Key, err))
	}
	script, err := kernel.UnitScript(ex.Plan, ex.Code, in.Key)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: %w", in.Key, err))
	}
	target, ok := a.Catalog.Get(ku.Target)
	if !ok {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: target %s is not in the catalog", in.Key, ku.Target))
	}
	if in.Role == "" {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: no sandbox role; run PrepareExecution first", in.Key))
	}
	staged, err := dataplane.RedirectToStaging(script, target)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: %w", in.Key, err))
	}
	unit := dataplane.Unit{IntentID: in.IntentID, Key: in.Key, StatementTimeout: a.statementTimeout(), Partition: ku.Partition}
	activity.RecordHeartbeat(ctx, in.Key)
	start := time.Now()
	sources, err := a.sources(ku.Plan)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("execute unit %s: %w", in.Key, err))
	}
	run, err := a.Store.RunUnit(ctx, db.UnitRun{
		Target: target, Unit: unit, Role: in.Role, Script: staged, Sources: sources,
		Heartbeat: func() { activity.RecordHeartbeat(ctx, in.Key) }, HeartbeatEvery: HeartbeatEvery,
	})
	if err != nil {
		err = classify(ctx, err, dataplane.ScopeOf(ex.Plan).Sources...)
		var appErr *temporal.ApplicationError
		if ctx.Err() != nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
			return UnitOutcome{}, err // a stopping worker, or an environmental fault
		}
		return UnitOutcome{}, a.unitFailed(ctx, in, fault.CodeExecutionUnitFailed, err.Error(), true, nil, err)
	}
	activity.RecordHeartbeat(ctx, in.Key)
	// What the unit read and staged, for `cfa replay --execute` (ADR 0128);
	// a failure to record it is retried with the unit.
	if err := a.Store.RecordUnitFingerprint(ctx, db.UnitFingerprintRecord{
		IntentID: in.IntentID, UnitKey: in.Key, Attempt: int(activity.GetInfo(ctx).Attempt), SignatureHash: in.Plan.SignatureHash,
		CodeHash: ex.Code.Hash, Partition: unit.Partition, UnitFingerprints: run.Fingerprints,
	}); err != nil {
		return UnitOutcome{}, err
	}
	m := run.Metrics
	metrics := runtimevalidation.UnitMetrics{
		Dataset: target.Name, Key: in.Key, Attempt: attempt, RowsOut: m.Rows,
		NullRatio: map[string]float64{}, DurationMS: time.Since(start).Milliseconds(),
		CostDBU: precost.DefaultModel().WrittenDBU(run.StagedBytes, ex.Plan.Strategy == planner.MergeWithDeterministicKey),
	}
	for _, c := range m.Columns {
		metrics.NullRatio[c.Name] = c.NullRatio
	}
	for _, c := range m.Schema {
		metrics.OutputSchema = append(metrics.OutputSchema, runtimevalidation.Column{Name: c.Name, Type: c.Type})
	}
	load, _ := ku.Plan.LoadStep()
	expected := make([]runtimevalidation.Column, 0, len(load.Columns))
	for _, c := range load.Columns {
		expected = append(expected, runtimevalidation.Column{Name: c.Name, Type: c.Type})
	}
	rep, err := runtimevalidation.Validate(kernel.UnitLimits(ex.Plan, a.limits()), expected, metrics)
	if err != nil {
		return UnitOutcome{}, invalid(fmt.Errorf("runtime validation of unit %s: %w", in.Key, err))
	}
	out := UnitOutcome{Report: rep}
	if f, failed := rep.Primary(); failed && !rep.Passed {
		// The data is not what the plan expects: an expected outcome the
		// partial failure policy handles, so one warn line says it (the
		// error is benign, which the SDK logs at debug only).
		retryable := partialexecution.DefaultRetryPolicy().Retryable(f.Family, f.Code)
		err := a.unitFailed(ctx, in, f.Code, f.Message, retryable, &out, nil)
		var appErr *temporal.ApplicationError
		log.Warn("runtime validation failed", zap.String("fault_code", f.Code), zap.String("fault_family", string(f.Family)),
			zap.String("message", f.Message), zap.Bool("retried", !errors.As(err, &appErr) || !appErr.NonRetryable()))
		return out, err
	}
	log.Info("unit executed", zap.Int64("rows_out", m.Rows))
	return out, nil
}

// unitFailed counts a failure of the unit's own and returns the error that
// tells Temporal whether to run it again: not once it has failed
// max_attempts times, or when its fault is not retryable. out is the
// failed attempt's report, carried in the error's details; cause is the
// statement's error when there is no report.
func (a *Activities) unitFailed(ctx context.Context, in UnitInput, code, message string, retryable bool, out *UnitOutcome, cause error) error {
	var report []byte
	if out != nil {
		b, err := json.Marshal(out.Report)
		if err != nil {
			return invalid(fmt.Errorf("unit %s: encode its report: %w", in.Key, err))
		}
		report = b
	}
	n, err := a.Store.RecordUnitFailure(ctx, in.IntentID, in.Key, code, report)
	if err != nil {
		return err // counted on the retry, which runs the unit again
	}
	opts := temporal.ApplicationErrorOptions{NonRetryable: !retryable || n >= partialexecution.DefaultRetryPolicy().MaxAttempts, Cause: cause}
	if out != nil {
		// A runtime validation fault is benign: the SDK logs it at debug,
		// not as an "Activity error." at error, and leaves it out of the
		// failed-activity metrics; its type, message, details and
		// retryability reach the workflow unchanged.
		opts.Details = []any{*out}
		opts.Category = temporal.ApplicationErrorCategoryBenign
	}
	return temporal.NewApplicationErrorWithOptions(message, code, opts)
}

func environmental(trigger partialexecution.Trigger, reason string) error {
	return temporal.NewApplicationErrorWithOptions(reason, ErrEnvironmental, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{EnvironmentalFault{Trigger: trigger, Reason: reason}},
	})
}

// UnitRan is how one unit's activity ended, as the workflow read it.
type UnitRan struct {
	Key string `json:"key"`
	// Report is the last attempt's report (passed or failed at runtime).
	Report *runtimevalidation.UnitReport `json:"report,omitempty"`
	// Error is why a unit with no report failed (its retries ran out).
	Error string `json:"error,omitempty"`
	// Environmental is set when the environment invalidated the unit.
	Environmental *EnvironmentalFault `json:"environmental,omitempty"`
}

// ReadUnit reads one unit's activity result: a report (passed, or failed
// at run time with the report in the error's details), an environmental
// fault, a cancellation, or an error without a report. It decodes what
// ExecuteUnit encodes, so the workflow never interprets an error itself.
// cancelled says the workflow was cancelled meanwhile: a unit that had
// finished is then interrupted all the same (execution_cancelled).
func ReadUnit(key string, out UnitOutcome, err error, cancelled bool) UnitRan {
	ran := readUnit(key, out, err)
	if cancelled && ran.Environmental == nil {
		return UnitRan{Key: key, Environmental: &EnvironmentalFault{Trigger: partialexecution.TriggerExecutionCancelled, Reason: "execution cancelled"}}
	}
	return ran
}

func readUnit(key string, out UnitOutcome, err error) UnitRan {
	ran := UnitRan{Key: key}
	if err == nil {
		rep := out.Report
		ran.Report = &rep
		return ran
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == ErrEnvironmental {
			env := EnvironmentalFault{Trigger: partialexecution.TriggerConnectionLost, Reason: appErr.Error()}
			if appErr.HasDetails() {
				_ = appErr.Details(&env)
			}
			ran.Environmental = &env
			return ran
		}
		var failed UnitOutcome
		if appErr.HasDetails() && appErr.Details(&failed) == nil {
			if _, ok := failed.Report.Primary(); ok {
				rep := failed.Report
				ran.Report = &rep
				return ran
			}
		}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		ran.Environmental = &EnvironmentalFault{Trigger: partialexecution.TriggerExecutionCancelled, Reason: "execution cancelled"}
		return ran
	}
	ran.Error = err.Error()
	return ran
}

// State is the unit's line in `cfa status` once its activity ended:
// successful, or failed with its fault's code.
func (r UnitRan) State() UnitState {
	st := UnitState{Key: r.Key, State: string(partialexecution.StatusSuccessful), RowsOut: rows(r.Report)}
	if r.Report != nil {
		st.Attempts = max(r.Report.Attempt, 1)
	}
	switch f, _ := primary(r.Report); {
	case r.Report == nil:
		st.State, st.Attempts, st.ErrorCode = string(partialexecution.StatusFailed), int(partialexecution.DefaultRetryPolicy().MaxAttempts), fault.CodeExecutionUnitFailed
	case !r.Report.Passed:
		st.State, st.ErrorCode = string(partialexecution.StatusFailed), f.Code
	}
	return st
}

// PartialInput is step 15: how every unit ran, and the panic that stopped
// the execution, if one did.
type PartialInput struct {
	Plan             PlanRef   `json:"plan"`
	Units            Units     `json:"units"`
	Ran              []UnitRan `json:"ran"` // the units that finished, in key order
	Mode             string    `json:"mode,omitempty"`
	PublishRequested bool      `json:"publish_requested,omitempty"`
	// Panic is the first environmental fault; every unit not in Ran was
	// interrupted.
	Panic *EnvironmentalFault `json:"panic,omitempty"`
	// Signature is the signed one, whose shape keys the cost history.
	Signature signature.Signature `json:"signature"`
}

// Executed is what step 18 needs of an execution, gathered on its way.
type Executed struct {
	ShapeHash string `json:"shape_hash"`
	Units     int    `json:"units"`
	Attempts  int    `json:"attempts"` // over every unit
	// Committed are the units committed into the target: their partitions
	// are where the merge key must still be unique.
	Committed []string                  `json:"committed,omitempty"`
	Critical  bool                      `json:"critical,omitempty"` // panic rollback or projection failure
	Runtime   *runtimevalidation.Report `json:"runtime,omitempty"`
	ActualDBU float64                   `json:"actual_dbu"`
}

// Partial is step 15's outcome: what to project (Outcome), or the panic
// rollback to apply (Panic); the unit states for `cfa status`.
type Partial struct {
	Stage
	Outcome  *partialexecution.Outcome      `json:"outcome,omitempty"`
	Panic    *partialexecution.PanicOutcome `json:"panic,omitempty"`
	Executed Executed                       `json:"executed"`
	States   []UnitState                    `json:"states"`
}

// UnitState is one consistency unit as `cfa status` shows it.
type UnitState struct {
	Key       string `json:"key"`
	State     string `json:"state"` // running, successful, failed, commit, quarantine, discard, interrupted, quarantined
	Attempts  int    `json:"attempts,omitempty"`
	RowsOut   int64  `json:"rows_out,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// ApplyPartialFailurePolicy is step 15, retry_failed_units →
// apply_partial_failure_policy → project_state, granular by
// consistency_unit: each finished unit is recorded (CONSISTENCY_UNIT_
// EXECUTED), the runtime validation of the units is aggregated, and the
// policy decides each unit's action (PARTIAL_EXECUTION_STATE). After an
// environmental fault the policy is not applied: Panic Rollback
// quarantines every unit instead.
func (a *Activities) ApplyPartialFailurePolicy(ctx context.Context, st Step, in PartialInput) (Partial, error) {
	shape, err := skill.Key(in.Signature) // the skill: the promotion unit (ADR 0121)
	if err != nil {
		return Partial{}, invalid(err)
	}
	kin := kernel.PartialInput{Target: in.Units.Target, Keys: in.Units.Keys, ConsistencyUnit: in.Units.ConsistencyUnit,
		Mode: in.Mode, PublishRequested: in.PublishRequested, Limits: a.limits(), Atomic: in.Units.Atomic}
	for _, r := range in.Ran {
		kin.Ran = append(kin.Ran, kernel.RanUnit{Key: r.Key, Report: r.Report, Error: r.Error})
	}
	if in.Panic != nil {
		kin.Panic = &kernel.Panic{Trigger: in.Panic.Trigger, Reason: in.Panic.Reason}
	}
	k, err := kernel.ApplyPartialFailurePolicy(kin)
	if err != nil {
		return Partial{}, invalid(err)
	}
	out := Partial{Executed: Executed{ShapeHash: shape, Units: len(in.Units.Keys), Runtime: k.Runtime}}
	out.Votes = k.Votes
	t := newTrail(st)
	for i, r := range in.Ran {
		res := k.Finished[i]
		if r.Report != nil {
			out.Executed.ActualDBU += r.Report.Metrics.CostDBU
		}
		out.States = append(out.States, UnitState{Key: r.Key, State: string(res.Status), Attempts: res.Attempts, RowsOut: rows(r.Report), ErrorCode: res.ErrorCode})
		t.add(intent.StageExecution, string(res.Status), audit.ActionWrite, []string{fmt.Sprintf("unit:%s/%s", in.Units.Target, r.Key)}, events.UnitExecuted{
			Unit: r.Key, Attempts: res.Attempts, ErrorCode: res.ErrorCode, Report: r.Report,
		})
	}
	if p := k.Panic; p != nil {
		// Panic Rollback's verdict: every unit, finished or in flight, is
		// quarantined; nothing is projected. Finished units count with
		// their attempts; each interrupted one ran once.
		for _, key := range k.InFlight {
			out.States = append(out.States, UnitState{Key: key, State: "interrupted", ErrorCode: ErrEnvironmental})
		}
		out.Executed.Critical = true
		out.Executed.Attempts = len(k.InFlight)
		for _, f := range k.Finished {
			out.Executed.Attempts += f.Attempts
		}
		out.Panic = p
		return out, a.finish(ctx, t, &out.Stage)
	}
	outcome := *k.Outcome
	for _, act := range outcome.Actions {
		out.Executed.Attempts += act.Attempts
		if act.Action == partialexecution.ActionCommit {
			out.Executed.Committed = append(out.Executed.Committed, act.Key)
		}
	}
	s := outcome.State
	t.add(intent.StagePartial, string(s.OverallState), audit.ActionInvoke, []string{"dataset:" + in.Units.Target}, events.PartialExecution{
		State: s, UnitActions: outcome.Actions, PublishStatus: outcome.PublishStatus,
	})
	out.Outcome = &outcome
	out.Summary = fmt.Sprintf("%s (%s)", s.OverallState, s.ConsistencyPolicy.Mode)
	return out, a.finish(ctx, t, &out.Stage)
}

func primary(rep *runtimevalidation.UnitReport) (f fault.Fault, failed bool) {
	if rep == nil {
		return f, false
	}
	return rep.Primary()
}

// rows is what a unit wrote; -1 when it reported nothing (setUnit then
// keeps what is known).
func rows(rep *runtimevalidation.UnitReport) int64 {
	if rep == nil {
		return -1
	}
	return rep.Metrics.RowsOut
}

func partialFailurePolicy(mode string) (partialexecution.Policy, error) {
	p, err := kernel.PartialFailurePolicy(mode)
	if err != nil {
		return p, invalid(err)
	}
	return p, nil
}

// PanicInput is a Panic Rollback to apply.
type PanicInput struct {
	Plan    PlanRef                       `json:"plan"`
	Outcome partialexecution.PanicOutcome `json:"outcome"`
}

// PanicRollback quarantines the staged output of every unit of the intent
// and releases its scopes, the registry untouched (I6 over I4), then
// records PANIC_ROLLBACK_TRIGGERED. It returns who to wake and the
// decision's inputs: the quarantined vote and, for a forbidden operation,
// I6's veto.
func (a *Activities) PanicRollback(ctx context.Context, st Step, in PanicInput) (Released, error) {
	defer heartbeating(ctx, HeartbeatEvery)()
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return Released{}, err
	}
	target, ok := a.Catalog.Get(ex.Plan.Target)
	if !ok {
		return Released{}, invalid(fmt.Errorf("panic rollback of intent %s: target %s is not in the catalog", st.IntentID, ex.Plan.Target))
	}
	keys := make([]string, 0, len(in.Outcome.Actions))
	for _, act := range in.Outcome.Actions {
		keys = append(keys, act.Key)
	}
	also, err := a.otherTargets(ex.Plan)
	if err != nil {
		return Released{}, err
	}
	wake, err := a.Store.PanicRollback(ctx, target, st.IntentID, keys, in.Outcome.Fault.Code, also...)
	if err != nil {
		return Released{}, err
	}
	p := in.Outcome
	out := Released{Wake: wake, Stage: Stage{Summary: fmt.Sprintf("PANIC_ROLLBACK_TRIGGERED (%s): every unit quarantined, nothing projected", p.Trigger)}}
	t := newTrail(st)
	t.add(intent.StageExecution, "quarantined", audit.ActionWrite, []string{"dataset:" + target.Name}, events.PanicRollback{
		Trigger: p.Trigger, Reason: p.Reason, UnitActions: p.Actions, ProjectionAllowed: false,
	})
	out.vote(p.Vote)
	if p.Violation != nil {
		out.veto(*p.Violation)
	}
	out.Stop = true
	return out, a.finish(ctx, t, &out.Stage)
}

// Released is a stage that released the intent's scopes: who to wake.
type Released struct {
	Stage
	Wake []string `json:"wake,omitempty"`
}

// ProjectInput is step 16: what the partial failure policy decided.
type ProjectInput struct {
	IntentID            string                   `json:"intent_id"`
	Plan                PlanRef                  `json:"plan"`
	Outcome             partialexecution.Outcome `json:"outcome"`
	Partitioned         bool                     `json:"partitioned"`
	PolicyBundleVersion string                   `json:"policy_bundle_version"`
	Now                 time.Time                `json:"now"`
	// ShapeHash keys the pre-cost history; ActualDBU is the units'
	// measured cost, recorded after the commit (the feedback loop).
	ShapeHash string  `json:"shape_hash"`
	ActualDBU float64 `json:"actual_dbu"`
}

// Projected is the committed registry snapshot and who to wake.
type Projected struct {
	VersionID string           `json:"version_id"`
	Wake      []string         `json:"wake,omitempty"`
	Replayed  bool             `json:"replayed,omitempty"`
	Withheld  []string         `json:"withheld,omitempty"`
	Moved     map[string]int64 `json:"moved"`
}

// Project runs the State Projection Protocol (step 16): in one transaction
// the units' outputs are moved (commit → target, quarantine, discard),
// publication is updated, the new snapshot is committed and the scopes are
// released; then the real cost feeds the Pre-cost Estimator's history.
func (a *Activities) Project(ctx context.Context, in ProjectInput) (Projected, error) {
	// The transaction may wait on locks: heartbeats tell Temporal the
	// worker is alive, so a dead one's projection is retried in seconds
	// (HeartbeatTimeout), not after StartToClose.
	defer heartbeating(ctx, HeartbeatEvery)()
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return Projected{}, err
	}
	target, ok := a.Catalog.Get(ex.Plan.Target)
	if !ok {
		return Projected{}, invalid(fmt.Errorf("project intent %s: target %s is not in the catalog", in.IntentID, ex.Plan.Target))
	}
	moves := make([]db.UnitMove, 0, len(in.Outcome.Actions))
	for _, act := range in.Outcome.Actions {
		m := db.UnitMove{Key: act.Key, FaultCode: act.ErrorCode, Move: db.MoveDiscard}
		// A partition unit's and a time window's partition; the target of
		// a cross_dataset_atomic unit (docs/adr/0137, 0138).
		u, err := kernel.UnitOf(ex.Plan, act.Key, in.Partitioned)
		if err != nil {
			return Projected{}, invalid(fmt.Errorf("project intent %s: %w", in.IntentID, err))
		}
		m.Partition = u.Partition
		if kernel.Atomic(ex.Plan) {
			m.Dataset = u.Target
		}
		switch act.Action {
		case partialexecution.ActionCommit:
			m.Move = db.MoveCommit
		case partialexecution.ActionQuarantine:
			m.Move = db.MoveQuarantine
		}
		moves = append(moves, m)
	}
	var out Projected
	res, err := a.Extensions.Registry.ProjectExecution(ctx, db.ProjectionRequest{
		IntentID: in.IntentID, Plan: ex.Plan, Catalog: a.Catalog, Target: target, Moves: moves,
		Project: func(latest registry.EnvironmentState) (db.ProjectionCommit, []db.PublicationChange, error) {
			p, err := projection.Project(projection.Input{
				Previous: latest, Outcomes: in.Outcome.Projections(), Now: in.Now,
				Execution: registry.ExecutionRecord{
					IntentID: in.IntentID, Outcome: string(in.Outcome.State.OverallState), ConsistencyUnit: string(ex.Plan.ConsistencyUnit),
					Timestamp: in.Now, PolicyBundleVersion: in.PolicyBundleVersion,
				},
			})
			if err != nil {
				return db.ProjectionCommit{}, nil, err
			}
			out.Withheld = p.Withheld
			return db.ProjectionCommit{ParentVersionID: p.ParentVersionID, VersionID: p.VersionID, Datasets: p.Changed, History: p.ExecutionHistory},
				publications(in.Outcome, p.Datasets), nil
		},
	})
	if err != nil {
		if rejected(err) || errors.Is(err, dataplane.ErrInvalidOptions) || errors.Is(err, projection.ErrInvalidInput) {
			// The database, or the projection's own checks, refused the
			// change itself: no retry helps, I4 marks the scopes uncertain.
			return Projected{}, invalid(err)
		}
		return Projected{}, err // an outage: retried until it ends
	}
	out.VersionID, out.Wake, out.Replayed, out.Moved = res.Environment.VersionID, res.Wake, res.Replayed, res.Moved
	// The feedback loop (5.5): the real cost of this execution, once.
	if in.ShapeHash != "" {
		if err := a.Store.RecordCost(ctx, in.ShapeHash, db.CostRun{IntentID: in.IntentID, ExecutedAt: in.Now, ActualDBU: in.ActualDBU}); err != nil {
			return out, err
		}
	}
	a.log(in.IntentID, intent.StageProjection).Info("projected",
		zap.String("version_id", out.VersionID), zap.Bool("replayed", res.Replayed), zap.Any("moved", out.Moved))
	return out, nil
}

// HeartbeatEvery is how often a unit and the projection heartbeat while
// Postgres works; HeartbeatTimeout, how long Temporal waits for one before
// it runs the activity again on another worker (the SDK sends at most one
// heartbeat per 80% of the timeout, so the two leave a margin of 4).
const (
	HeartbeatEvery   = 2 * time.Second
	HeartbeatTimeout = 10 * time.Second
)

// heartbeating records a heartbeat now and every period until the
// returned stop is called.
func heartbeating(ctx context.Context, every time.Duration) (stop func()) {
	activity.RecordHeartbeat(ctx)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// publications: publication follows the state the projection writes (I7:
// a dataset left partially_committed is at most degraded).
func publications(o partialexecution.Outcome, projected []registry.DatasetState) []db.PublicationChange {
	state := map[string]string{}
	for _, d := range projected {
		state[d.Name] = d.State
	}
	var out []db.PublicationChange
	for _, d := range o.Datasets {
		if len(d.CommittedPartitions) == 0 {
			continue
		}
		if status := dataplane.PublishStatus(d.PublishStatusAfter(state[d.Dataset])); status != "" {
			out = append(out, db.PublicationChange{Partitions: d.CommittedPartitions, Status: status, Dataset: d.Dataset})
		}
	}
	return out
}

// ProjectionRecord is a committed projection to record.
type ProjectionRecord struct {
	Projected Projected `json:"projected"`
	Scopes    []string  `json:"scopes"`
}

// RecordProjection records a committed projection (ENVIRONMENT_UPDATE,
// projected): the new registry version and the scopes released.
func (a *Activities) RecordProjection(ctx context.Context, st Step, in ProjectionRecord) (Stage, error) {
	p := in.Projected
	t := newTrail(st)
	t.add(intent.StageProjection, "projected", audit.ActionWrite, []string{"context_registry:" + p.VersionID}, events.EnvironmentProjected{
		VersionID: p.VersionID, Moved: p.Moved, Withheld: p.Withheld, ReleasedScopes: in.Scopes, Replayed: p.Replayed,
	})
	out := Stage{Summary: fmt.Sprintf("registry %s; scopes released", p.VersionID)}
	return out, a.finish(ctx, t, &out)
}

// ProjectionFailedInput records a projection that did not commit.
type ProjectionFailedInput struct {
	Scopes          []string `json:"scopes"`
	ParentVersionID string   `json:"parent_version_id"`
	Cause           string   `json:"cause"`
	Target          string   `json:"target"`
	// Datasets are every target of a cross_dataset_atomic plan (Units.Datasets).
	Datasets []string `json:"datasets,omitempty"`
}

// MarkProjectionFailed applies I4 when the projection did not commit: the
// marker blocks every intent on a conflicting scope until an operator
// resolves it (`cfa registry resolve`); the scopes are released so queued
// intents wake and are blocked with a clear fault instead of waiting. The
// staged outputs stay in staging for the resolution; the intent is rolled
// back.
func (a *Activities) MarkProjectionFailed(ctx context.Context, st Step, in ProjectionFailedInput) (Released, error) {
	if err := a.Extensions.Registry.RecordProjectionFailure(ctx, db.ProjectionFailure{
		IntentID: st.IntentID, Scopes: in.Scopes, ParentVersionID: in.ParentVersionID, Cause: in.Cause, FailedAt: st.At,
	}); err != nil {
		return Released{}, err
	}
	// Nothing was projected: the staged rows go (the decision rolls the
	// intent back).
	for _, name := range append([]string{in.Target}, in.Datasets...) {
		if target, ok := a.Catalog.Get(name); ok {
			if _, err := a.Store.DiscardStaged(ctx, target, st.IntentID); err != nil {
				return Released{}, err
			}
		}
	}
	wake, err := a.Store.ReleaseScopes(ctx, st.IntentID, db.ReleaseProjectionFailed)
	if err != nil {
		return Released{}, err
	}
	out := Released{Wake: wake, Stage: Stage{Summary: "failed: environment_state_uncertain until `cfa registry resolve " + st.IntentID + "`"}}
	t := newTrail(st)
	t.add(intent.StageProjection, "failed", audit.ActionWrite, []string{"dataset:" + in.Target}, events.ProjectionFailed{
		Error: in.Cause, EnvironmentState: "uncertain", Scopes: in.Scopes,
	})
	out.veto(projection.FailedViolation(st.IntentID, in.Cause))
	return out, a.finish(ctx, t, &out.Stage)
}

func scopeTargets(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, "scope:"+s)
	}
	return out
}

func firstScope(scopes []string) string {
	switch len(scopes) {
	case 0:
		return "-"
	case 1:
		return scopes[0]
	}
	return scopes[0] + " … " + scopes[len(scopes)-1]
}

// otherTargets are the catalog datasets of a cross_dataset_atomic plan's
// other targets (docs/adr/0138); none for any other plan.
func (a *Activities) otherTargets(p planner.ExecutionPlan) ([]catalog.Dataset, error) {
	var out []catalog.Dataset
	for _, part := range p.Parts {
		d, ok := a.Catalog.Get(part.Target)
		if !ok {
			return nil, invalid(fmt.Errorf("target %s of plan %s is not in catalog %s", part.Target, p.Hash, a.Catalog.SnapshotVersion))
		}
		out = append(out, d)
	}
	return out, nil
}
