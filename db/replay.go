package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/replay"
)

// ReplayRecord reads what replaying an intent needs (internal/replay, ADR
// 0127): its audit trail, its planning records, the registry snapshots,
// policy bundles and catalogs its trail names, each loaded by version
// (from Postgres only: the files on disk play no part), and its units'
// fingerprints. A version that cannot be loaded is listed in Missing, not
// returned as an error: that the intent cannot be replayed is the answer.
// An intent with no trail is ErrIntentNotFound.
func (s *Store) ReplayRecord(ctx context.Context, intentID string) (replay.Record, error) {
	trail, err := s.AuditByIntent(ctx, intentID)
	if err != nil {
		return replay.Record{}, err
	}
	if len(trail) == 0 {
		return replay.Record{}, fmt.Errorf("replay intent %q: %w: no audit event is recorded for it in %s (`cfa list` shows the intents)", intentID, ErrIntentNotFound, describe(s.pool))
	}
	rec := replay.Record{IntentID: intentID, Trail: trail, Plans: map[string]replay.Plan{},
		Snapshots: map[string]registry.EnvironmentState{}, Bundles: map[string]*policy.Bundle{}, Catalogs: map[string]*catalog.Catalog{}}
	needs, err := replay.Needs(trail)
	if err != nil {
		return rec, fmt.Errorf("replay intent %q: %w", intentID, err)
	}
	for _, v := range needs.Snapshots {
		env, err := s.SnapshotByVersion(ctx, v)
		switch {
		case errors.Is(err, ErrSnapshotNotFound):
			rec.Missing = append(rec.Missing, "registry snapshot "+v+" is not committed")
		case err != nil:
			return rec, err
		default:
			rec.Snapshots[v] = env
		}
	}
	for _, v := range needs.Bundles {
		b, err := s.BundleByVersion(ctx, v)
		switch {
		case errors.Is(err, ErrVersionNotRecorded), errors.Is(err, policy.ErrInvalidBundle):
			rec.Missing = append(rec.Missing, err.Error())
		case err != nil:
			return rec, err
		default:
			rec.Bundles[v] = b
		}
	}
	for _, v := range needs.Catalogs {
		c, err := s.CatalogByVersion(ctx, v)
		switch {
		case errors.Is(err, ErrVersionNotRecorded), errors.Is(err, catalog.ErrInvalid):
			rec.Missing = append(rec.Missing, err.Error())
		case err != nil:
			return rec, err
		default:
			rec.Catalogs[v] = c
		}
	}
	plans, err := s.q.ListExecutionPlansOfIntent(ctx, intentID)
	if err != nil {
		return rec, fmt.Errorf("read the plans of intent %q: %w", intentID, err)
	}
	for _, p := range plans {
		rec.Plans[p.IntentSignatureHash] = replay.Plan{SignatureHash: p.IntentSignatureHash, PlanHash: deref(p.PlanHash), Plan: p.Plan,
			CodeHash: deref(p.CodeHash), Artifacts: p.Artifacts, ReadOnly: p.ReadOnly, DryRun: p.DryRun}
	}
	if rec.Units, err = s.UnitFingerprints(ctx, intentID); err != nil {
		return rec, err
	}
	return rec, nil
}

// UnitFingerprintRecord is what one attempt of a unit read and staged.
type UnitFingerprintRecord struct {
	IntentID      string
	UnitKey       string
	Attempt       int
	SignatureHash string
	CodeHash      string
	Partition     string
	dataplane.UnitFingerprints
}

// RecordUnitFingerprint keeps one unit attempt's fingerprints, once.
func (s *Store) RecordUnitFingerprint(ctx context.Context, r UnitFingerprintRecord) error {
	inputs, err := json.Marshal(r.Inputs)
	if err != nil {
		return fmt.Errorf("record the fingerprint of unit %s of intent %s: %w", r.UnitKey, r.IntentID, err)
	}
	err = s.q.RecordUnitFingerprint(ctx, dbsqlc.RecordUnitFingerprintParams{
		IntentID: r.IntentID, UnitKey: r.UnitKey, Attempt: int32(r.Attempt), IntentSignatureHash: r.SignatureHash, CodeHash: r.CodeHash,
		UnitPartition: r.Partition, OutputRows: r.Output.Rows, OutputSha256: r.Output.SHA256, Inputs: inputs,
	})
	if err != nil {
		return fmt.Errorf("record the fingerprint of unit %s of intent %s in %s: %w", r.UnitKey, r.IntentID, describe(s.pool), err)
	}
	return nil
}

// UnitFingerprints returns the last recorded attempt of each unit of an
// intent, by unit key.
func (s *Store) UnitFingerprints(ctx context.Context, intentID string) ([]replay.UnitFingerprint, error) {
	rows, err := s.q.UnitFingerprintsOfIntent(ctx, intentID)
	if err != nil {
		return nil, fmt.Errorf("read the unit fingerprints of intent %q: %w", intentID, err)
	}
	out := make([]replay.UnitFingerprint, 0, len(rows))
	for _, r := range rows {
		u := replay.UnitFingerprint{Key: r.UnitKey, Attempt: int(r.Attempt), SignatureHash: r.IntentSignatureHash, CodeHash: r.CodeHash,
			Partition: r.UnitPartition, Output: replay.Fingerprint{Rows: r.OutputRows, SHA256: r.OutputSha256}}
		var inputs []dataplane.InputFingerprint
		if err := json.Unmarshal(r.Inputs, &inputs); err != nil {
			return nil, fmt.Errorf("read the fingerprint of unit %s of intent %q: %w", r.UnitKey, intentID, err)
		}
		u.Inputs = InputFingerprints(inputs)
		out = append(out, u)
	}
	return out, nil
}

// InputFingerprints converts the data plane's input fingerprints.
func InputFingerprints(in []dataplane.InputFingerprint) []replay.InputFingerprint {
	out := make([]replay.InputFingerprint, len(in))
	for i, f := range in {
		out[i] = replay.InputFingerprint{Dataset: f.Dataset, Partition: f.Partition, Fingerprint: replay.Fingerprint{Rows: f.Rows, SHA256: f.SHA256}}
	}
	return out
}

// RerunUnit runs one unit's recorded script again, as RunUnit does (on the
// sandbox login, as the plan's role, narrowed to the unit's partition,
// writing staging only), fingerprints what it read and staged, and rolls
// it all back: the rerun's rows are seen by its own transaction only and
// nothing is left behind, even if the process dies (ADR 0128). Give it a
// unit IntentID of its own, so its rows never meet the intent's.
func (s *Store) RerunUnit(ctx context.Context, r UnitRun) (dataplane.UnitFingerprints, error) {
	// Narrowed as RunUnit narrows it: the same rows, read the same way.
	script, err := dataplane.NarrowToPartition(r.Script, r.Sources, r.Unit.Partition)
	if err != nil {
		return dataplane.UnitFingerprints{}, fmt.Errorf("rerun unit %s: %w", r.Unit.Key, err)
	}
	sandbox, err := s.sandboxPool(ctx)
	if err != nil {
		return dataplane.UnitFingerprints{}, fmt.Errorf("rerun unit %s: %w", r.Unit.Key, err)
	}
	tx, err := sandbox.Begin(ctx)
	if err != nil {
		return dataplane.UnitFingerprints{}, fmt.Errorf("rerun unit %s: begin: %w", r.Unit.Key, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := dataplane.BeginUnit(ctx, tx, r.Role, r.Unit); err != nil {
		return dataplane.UnitFingerprints{}, fmt.Errorf("rerun unit %s: %w", r.Unit.Key, err)
	}
	if _, err := tx.Exec(ctx, script); err != nil {
		return dataplane.UnitFingerprints{}, fmt.Errorf("rerun unit %s: run its script: %w", r.Unit.Key, err)
	}
	f, err := dataplane.FingerprintUnit(ctx, tx, r.Target, r.Sources, r.Unit)
	if err != nil {
		return f, fmt.Errorf("rerun unit %s: %w", r.Unit.Key, err)
	}
	return f, nil
}
