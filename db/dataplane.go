package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/registry"
)

// The data plane lives in the same Postgres as the registry: its statements
// are internal/dataplane's, its connections and transactions the store's,
// so that a unit's writes, a projection's moves and the registry snapshot
// that records them share one transaction where they must.

// EnsureDataPlane creates the layer, staging, quarantine and publication
// schemas of the catalog's datasets (idempotent).
func (s *Store) EnsureDataPlane(ctx context.Context, cat *catalog.Catalog) error {
	if err := dataplane.Ensure(ctx, s.pool, cat); err != nil {
		return fmt.Errorf("prepare the data plane on %s: %w", describe(s.pool), err)
	}
	return nil
}

// SeedDataPlane fills the data plane with the deterministic demo data.
func (s *Store) SeedDataPlane(ctx context.Context, cat *catalog.Catalog, opts dataplane.Options) error {
	return dataplane.Seed(ctx, s.pool, cat, opts)
}

// ResetDataPlane empties every table of the data plane (demo and tests).
func (s *Store) ResetDataPlane(ctx context.Context, cat *catalog.Catalog) error {
	return dataplane.Reset(ctx, s.pool, cat)
}

// Partitions lists the partition values of d between from and to
// (inclusive; empty bounds are open) that hold rows.
func (s *Store) Partitions(ctx context.Context, d catalog.Dataset, from, to string) ([]string, error) {
	return dataplane.Partitions(ctx, s.pool, d, from, to)
}

// PartitionCount is one partition of a dataset and its rows.
type PartitionCount struct {
	Partition string `json:"partition"`
	Rows      int64  `json:"rows"`
}

// Where a dataset's rows are: its layer table, or its quarantine.
type Where int

// The tables PartitionCounts counts.
const (
	InTarget Where = iota
	InQuarantine
)

// PartitionCounts counts the rows of d in its layer table or its
// quarantine by d's partition key; a dataset without one gives one row
// with an empty partition.
func (s *Store) PartitionCounts(ctx context.Context, d catalog.Dataset, where Where) ([]PartitionCount, error) {
	table := dataplane.Table(d)
	if where == InQuarantine {
		table = dataplane.QuarantineTable(d)
	}
	pk := "''"
	if d.PartitionKey != "" {
		pk = pgx.Identifier{d.PartitionKey}.Sanitize()
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf("SELECT %s::text, count(*) FROM %s GROUP BY 1 ORDER BY 1", pk, table))
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PartitionCount, error) {
		var c PartitionCount
		return c, r.Scan(&c.Partition, &c.Rows)
	})
	if err != nil {
		return nil, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return out, nil
}

// Publications lists the publication status of d's partitions.
func (s *Store) Publications(ctx context.Context, d catalog.Dataset) ([]dataplane.Publication, error) {
	return dataplane.Publications(ctx, s.pool, d)
}

// EnsureSandboxRole has the sandbox role of a plan's scope made (by
// cfa_ensure_sandbox_role, ADR 0114), grants it the scope and returns its
// name.
func (s *Store) EnsureSandboxRole(ctx context.Context, cat *catalog.Catalog, scope dataplane.Scope) (string, error) {
	return dataplane.EnsureSandboxRole(ctx, s.pool, cat, scope)
}

// RevokeSandboxSelect revokes SELECT on source from every sandbox role, as
// an IAM change mid-execution would (a fault the demo and tests inject). It
// returns the number of roles revoked.
func (s *Store) RevokeSandboxSelect(ctx context.Context, source catalog.Dataset) (int, error) {
	return dataplane.RevokeSandboxSelect(ctx, s.pool, source)
}

// DuplicateKeys counts the merge keys of d that occur more than once in the
// given partitions (all of d when none).
func (s *Store) DuplicateKeys(ctx context.Context, d catalog.Dataset, partitions []string) (int64, error) {
	return dataplane.DuplicateKeys(ctx, s.pool, d, partitions)
}

// UnitRun is one attempt of one consistency unit in the sandbox.
type UnitRun struct {
	Target catalog.Dataset
	// Unit tags the staged rows and narrows the sources to its partition.
	Unit dataplane.Unit
	// Role is the plan's sandbox role; the script runs as it.
	Role string
	// Script is the statically validated code, redirected to staging.
	Script string
	// Sources are the datasets the plan reads: their rows, as the unit
	// reads them, are fingerprinted with its output (ADR 0128).
	Sources []catalog.Dataset
	// Heartbeat is called every HeartbeatEvery while the unit waits for a
	// connection and runs, so a worker that dies is noticed while a long
	// statement is in flight.
	Heartbeat      func()
	HeartbeatEvery time.Duration
}

// UnitRunResult is what the unit staged.
type UnitRunResult struct {
	Metrics     dataplane.Metrics
	StagedBytes int64
	// Fingerprints are what the unit read and staged, for replay.
	Fingerprints dataplane.UnitFingerprints
}

// RunUnit runs one attempt of a unit in one transaction on the sandbox
// login (ADR 0114): it enters the sandbox (the plan's role, the unit's
// partition, statement timeout), discards what an earlier attempt staged,
// runs the script, its reads narrowed to the unit's partition (ADR 0140),
// and measures what it staged, all as the plan's role. The
// database's error is returned wrapped, so a caller can classify it
// (permission, storage, connection).
func (s *Store) RunUnit(ctx context.Context, r UnitRun) (UnitRunResult, error) {
	var out UnitRunResult
	script, err := dataplane.NarrowToPartition(r.Script, r.Sources, r.Unit.Partition)
	if err != nil {
		return out, fmt.Errorf("run unit %s of intent %s: %w", r.Unit.Key, r.Unit.IntentID, err)
	}
	sandbox, err := s.sandboxPool(ctx)
	if err != nil {
		return out, fmt.Errorf("run unit %s of intent %s: %w", r.Unit.Key, r.Unit.IntentID, err)
	}
	// From before a connection is free: units beyond the sandbox pool's
	// size wait for one, and must not look dead to Temporal meanwhile.
	if r.Heartbeat != nil && r.HeartbeatEvery > 0 {
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(r.HeartbeatEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					r.Heartbeat()
				}
			}
		}()
	}
	err = pgx.BeginFunc(ctx, sandbox, func(tx pgx.Tx) error {
		if err := dataplane.BeginUnit(ctx, tx, r.Role, r.Unit); err != nil {
			return err
		}
		// A retry starts from an empty slot: the unit's earlier rows go
		// (row security lets the role delete its own unit's rows only).
		if _, err := dataplane.Discard(ctx, tx, r.Target, r.Unit.IntentID, r.Unit.Key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, script); err != nil {
			return err
		}
		var err error
		out.Metrics, out.StagedBytes, out.Fingerprints, err = dataplane.ReportUnit(ctx, tx, r.Target, r.Sources, r.Unit)
		return err
	})
	if err != nil {
		return UnitRunResult{}, fmt.Errorf("run unit %s of intent %s: %w", r.Unit.Key, r.Unit.IntentID, err)
	}
	return out, nil
}

// PanicRollback quarantines the staged output of the given units of an
// intent and releases its scopes, in one transaction; the registry is not
// touched (I6 over I4). It returns the workflows waiting on the scopes.
// also are the other targets of a cross_dataset_atomic plan, whose units
// are keyed by their names (docs/adr/0138): such a unit is quarantined
// from its own target's staging.
func (s *Store) PanicRollback(ctx context.Context, target catalog.Dataset, intentID string, keys []string, faultCode string, also ...catalog.Dataset) ([]string, error) {
	var wake []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			in := target
			for _, t := range also {
				if t.Name == k {
					in = t
				}
			}
			if _, err := dataplane.Quarantine(ctx, tx, in, intentID, k, faultCode); err != nil {
				return err
			}
		}
		// Nothing of a rolled-back intent stays in staging.
		for _, t := range append([]catalog.Dataset{target}, also...) {
			if _, err := dataplane.DiscardIntent(ctx, tx, t, intentID); err != nil {
				return err
			}
		}
		var err error
		wake, err = releaseScopes(ctx, s.q.WithTx(tx), intentID, ReleasePanicRollback)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("panic rollback of intent %s: %w", intentID, err)
	}
	return wake, nil
}

// DiscardStaged deletes every row the intent left in target's staging
// table (an intent that ends without a projection) and returns how many.
func (s *Store) DiscardStaged(ctx context.Context, target catalog.Dataset, intentID string) (int64, error) {
	return dataplane.DiscardIntent(ctx, s.pool, target, intentID)
}

// Published is what a publish did: the partitions made visible, or why
// nothing was.
type Published struct {
	Partitions []string
	Refused    string
}

// Publish marks every committed partition of d published, so its published
// view shows them, unless refuse, given the latest committed snapshot, says
// why not. The snapshot is read in the same transaction, holding
// projections off, so what refuse decided still holds when the write lands.
func (s *Store) Publish(ctx context.Context, d catalog.Dataset, intentID string, refuse func(registry.EnvironmentState) string) (Published, error) {
	var out Published
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.LockSnapshotsShared(ctx); err != nil {
			return fmt.Errorf("lock registry for reading: %w", err)
		}
		row, err := q.LatestCommittedSnapshot(ctx)
		if err != nil {
			return fmt.Errorf("read latest registry snapshot: %w", err)
		}
		env, err := loadEnvironment(ctx, q, row)
		if err != nil {
			return err
		}
		if out.Refused = refuse(env); out.Refused != "" {
			return nil
		}
		if out.Partitions, err = dataplane.Partitions(ctx, tx, d, "", ""); err != nil {
			return err
		}
		if d.PartitionKey != "" && len(out.Partitions) == 0 {
			return nil
		}
		return dataplane.SetPublication(ctx, tx, d, out.Partitions, dataplane.Published, intentID)
	})
	if err != nil {
		return Published{}, fmt.Errorf("publish %s: %w", d.Name, err)
	}
	return out, nil
}

// UnitFailures is how often the unit failed by itself (runtime faults,
// statement errors), not counting attempts lost with a worker.
func (s *Store) UnitFailures(ctx context.Context, intentID, unitKey string) (int, error) {
	n, err := s.q.UnitFailures(ctx, dbsqlc.UnitFailuresParams{IntentID: intentID, UnitKey: unitKey})
	if err != nil {
		return 0, fmt.Errorf("read the failures of unit %s of intent %s: %w", unitKey, intentID, err)
	}
	return int(n), nil
}

// RecordUnitFailure counts one more failure of the unit's own, with its
// code and report (JSON, may be nil), and returns the count.
func (s *Store) RecordUnitFailure(ctx context.Context, intentID, unitKey, code string, report []byte) (int, error) {
	n, err := s.q.RecordUnitFailure(ctx, dbsqlc.RecordUnitFailureParams{IntentID: intentID, UnitKey: unitKey, LastCode: code, LastReport: report})
	if err != nil {
		return 0, fmt.Errorf("record a failure of unit %s of intent %s: %w", unitKey, intentID, err)
	}
	return int(n), nil
}
