package extension

import (
	"context"
	"io"

	"github.com/contextualflux/cfa/db"
)

// Errors an AuditStorage returns (wrapped): a retry cannot fix them.
var (
	ErrAuditConflict   = db.ErrAuditConflict
	ErrAuditOutOfOrder = db.ErrAuditOutOfOrder
)

// SnapshotProvider is context_registry.snapshot_provider: the
// snapshot_consistent implementation.
//
// CFA asks for the latest committed snapshot (latest_committed_before_
// intent_resolution) and for a snapshot by version_id; it must return a
// snapshot that was atomically committed, never one being written, and the
// same content for the same version_id every time.
//
// The core records the version_id in the signature's execution_context,
// revalidates it after the scope lock (TOCTOU) and replans when it moved.
type SnapshotProvider interface {
	LatestSnapshot(ctx context.Context) (EnvironmentState, error)
	SnapshotByVersion(ctx context.Context, versionID string) (EnvironmentState, error)
}

// RegistryStorage is context_registry.storage_backend: where snapshots and
// projection failures are committed.
//
// CFA gives ProjectExecution the units' moves and a pure function that
// computes the snapshot from the latest one; the backend must apply the
// moves, commit the snapshot and release the intent's scopes atomically
// (5.10 atomicity: required), once per intent (a retry returns the
// committed snapshot). The shipped backend keeps the registry in the data
// plane's Postgres for exactly that reason.
//
// The core marks a projection that did not commit (I4) and blocks the
// intents on conflicting scopes until an operator resolves it.
//
// What it covers today: projections and I4 markers. The TTL sweeps,
// publications and operator changes (cfa registry set and resolve) go
// through the shipped store, because each commits the registry together
// with the data plane, the scope locks or the audit chain kept in the same
// Postgres; a backend that keeps the registry elsewhere must still give a
// projection that atomicity, which in practice means the same database.
type RegistryStorage interface {
	ProjectExecution(ctx context.Context, req db.ProjectionRequest) (db.ProjectionResult, error)
	RecordProjectionFailure(ctx context.Context, f db.ProjectionFailure) error
	OpenProjectionFailures(ctx context.Context) ([]db.ProjectionFailure, error)
}

// AuditStorage is audit_trail.storage_backend: where audit events are
// sealed and kept (S3, Kafka, OpenLineage beside the chain).
//
// CFA gives Append an intent's next events in causal order, each keyed by
// intent_id and seq; the backend must seal them into the chain in that
// order, be idempotent on the key (a retry with the same content returns
// the stored receipt; different content is ErrAuditConflict, an event
// whose predecessor is missing ErrAuditOutOfOrder) and keep them
// append-only. Once it has sealed events, Append must not fail: a stage
// retried after that may compute other content for the same seq, which
// fails the intent. A backend that writes beside the chain (WrapAudit)
// reports its own failures apart.
//
// The core assigns every seq in workflow code, so retries never duplicate
// or reorder an event, and `cfa audit verify` checks the chain. Operator
// actions (cfa registry set and resolve) are sealed by the shipped store in
// the transaction of the change they record, not through Append.
type AuditStorage interface {
	// Append seals events and returns their receipts.
	Append(ctx context.Context, events ...Event) ([]Receipt, error)
}

// RegulatoryFormatter is audit_trail.regulatory_formatter: the audit format
// of a jurisdiction.
//
// CFA gives Format the receipts of an export, in chain order; it writes
// them in its format.
//
// The core exports the receipts as sealed (`cfa audit export --format
// NAME`); the JSONL export remains the one `cfa audit verify --file` checks.
type RegulatoryFormatter interface {
	Name() string
	Format(w io.Writer, receipts []Receipt) error
}
