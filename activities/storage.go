package activities

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/signature"
)

// Storage is what the stages keep in Postgres besides the registry and the
// audit trail (those are extension points): the intents index, the plans,
// the scope locks, the cost history, the data plane, the skills' evidence
// and the TTL escalations. db.Store implements it.
type Storage interface {
	UpsertIntent(ctx context.Context, in db.Intent) (db.Intent, error)
	CompleteIntent(ctx context.Context, intentID, decisionState, signatureHash, confirmationMode string) error
	// AuditByIntent is the intent's trail in the chain, read to decide an
	// interrupted intent after the events its last stage recorded.
	AuditByIntent(ctx context.Context, intentID string) ([]audit.Receipt, error)

	RecordPlan(ctx context.Context, r db.PlanRecord) error
	GetPlanOfSignature(ctx context.Context, intentID, signatureHash string) (db.PlanRecord, error)
	CostHistory(ctx context.Context, shapeHash string, now time.Time, window time.Duration) ([]db.CostRun, error)
	RecordCost(ctx context.Context, shapeHash string, run db.CostRun) error

	AcquireScopes(ctx context.Context, req db.LockRequest) (db.LockState, error)
	ReleaseScopes(ctx context.Context, intentID, reason string) ([]string, error)
	ActiveLocks(ctx context.Context) ([]db.LockHolder, error)

	Partitions(ctx context.Context, d catalog.Dataset, from, to string) ([]string, error)
	EnsureSandboxRole(ctx context.Context, cat *catalog.Catalog, scope dataplane.Scope) (string, error)
	RunUnit(ctx context.Context, r db.UnitRun) (db.UnitRunResult, error)
	// A read's role and query (docs/adr/0132).
	EnsureReadRole(ctx context.Context, cat *catalog.Catalog, sources []string) (string, error)
	RunRead(ctx context.Context, r db.ReadRun) ([][]any, error)
	RecordUnitFingerprint(ctx context.Context, r db.UnitFingerprintRecord) error
	// ReplayRecord is an intent's record for replay.Check, the Promotion
	// Engine's I8 signal (ADR 0127).
	ReplayRecord(ctx context.Context, intentID string) (replay.Record, error)
	UnitFailures(ctx context.Context, intentID, unitKey string) (int, error)
	RecordUnitFailure(ctx context.Context, intentID, unitKey, code string, report []byte) (int, error)
	PanicRollback(ctx context.Context, target catalog.Dataset, intentID string, keys []string, faultCode string, also ...catalog.Dataset) ([]string, error)
	DiscardStaged(ctx context.Context, target catalog.Dataset, intentID string) (int64, error)
	Publish(ctx context.Context, d catalog.Dataset, intentID string, refuse func(registry.EnvironmentState) string) (db.Published, error)
	DuplicateKeys(ctx context.Context, d catalog.Dataset, partitions []string) (int64, error)

	SkillExecutions(ctx context.Context, unit string, since, until time.Time) ([]lifecycle.Execution, error)
	SkillEvaluation(ctx context.Context, intentID string) (*lifecycle.Evaluation, error)
	RecordSkillExecution(ctx context.Context, e lifecycle.Execution, ev lifecycle.Evaluation) (lifecycle.Evaluation, error)
	// The skill registry (5.12, ADR 0121).
	EnsureSkill(ctx context.Context, sig signature.Signature) (db.Skill, bool, error)
	ApplySkillTransition(ctx context.Context, c db.SkillChange) (db.SkillTransition, error)
	Skill(ctx context.Context, id string) (db.Skill, error)
	SkillHistory(ctx context.Context, id string) ([]db.SkillTransition, error)
	NotReproducible(ctx context.Context, unit string) (string, error)

	// Schedules and their standing approvals (ADR 0124, 0125).
	BindScheduleSkill(ctx context.Context, name, skillID string) (bool, error)
	SchedulesOfSkill(ctx context.Context, skillID string) ([]db.Schedule, error)
	SetSchedulePaused(ctx context.Context, name string, paused bool, reason string, by audit.Principal) (db.Schedule, error)
	StandingApprovals(ctx context.Context, name, skillID string) ([]db.StandingApproval, error)
	GrantStandingApproval(ctx context.Context, g db.StandingGrant) (db.StandingApproval, error)

	Escalations(ctx context.Context) ([]db.Escalation, error)
	ReviewedEscalations(ctx context.Context, datasets []string) ([]db.Escalation, error)
	SweepOf(ctx context.Context, sweepID string) (*db.Sweep, error)
	CommitSweep(ctx context.Context, sw db.Sweep, parentVersionID string, changed []registry.DatasetState, escalations []db.Escalation) (db.Sweep, error)
}

// New returns the activities over store with the catalog, the bundle and
// the extension points in force; unset points are the shipped ones.
func New(store *db.Store, cat *catalog.Catalog, bundle *policy.Bundle, logger *zap.Logger, ext extension.Points) *Activities {
	return &Activities{Store: store, Catalog: cat, Bundle: bundle, Logger: logger, Extensions: ext.WithDefaults(store), Notifier: &Notifier{}}
}

// snapshots caches registry snapshots by version_id: a committed snapshot
// never changes (copy-on-write), so every stage of an intent reads the one
// it consulted without another round trip.
type snapshots struct {
	mu   sync.Mutex
	byID map[string]registry.EnvironmentState
}

const maxCachedSnapshots = 64

// snapshot returns the committed snapshot versionID.
func (a *Activities) snapshot(ctx context.Context, versionID string) (registry.EnvironmentState, error) {
	a.cache.mu.Lock()
	env, ok := a.cache.byID[versionID]
	a.cache.mu.Unlock()
	if ok {
		return env, nil
	}
	env, err := a.Extensions.Snapshots.SnapshotByVersion(ctx, versionID)
	if err != nil {
		return registry.EnvironmentState{}, err
	}
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	if a.cache.byID == nil || len(a.cache.byID) >= maxCachedSnapshots {
		a.cache.byID = map[string]registry.EnvironmentState{}
	}
	a.cache.byID[versionID] = env
	return env, nil
}
