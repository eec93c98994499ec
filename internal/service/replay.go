package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/replay"
)

// ErrNotReplayable says an intent's record does not allow its units to be
// run again: no plan or code recorded for the signature they ran.
var ErrNotReplayable = errors.New("cannot be replayed")

// ReplayTimeout bounds each statement of a unit run again (the worker's
// default statement timeout).
const ReplayTimeout = 5 * time.Minute

// Replay replays an intent from its record (`cfa replay`, ADR 0127): the
// governed flow runs again on the inputs recorded and each stage is
// compared with what was recorded. With execute, the units that ran are
// run again in the sandbox, rolled back, and their output compared with
// the fingerprint recorded at execution time (ADR 0128). It needs
// Postgres only.
func (s *Service) Replay(ctx context.Context, intentID string, execute bool) (replay.Result, error) {
	if s.Store == nil {
		return replay.Result{}, errors.New("replay: no database: set DATABASE_URL")
	}
	rec, err := s.Store.ReplayRecord(ctx, intentID)
	if err != nil {
		return replay.Result{}, err
	}
	res, err := replay.Replay(ctx, rec)
	if err != nil {
		return res, fmt.Errorf("replay intent %s: %w", intentID, err)
	}
	if !execute {
		return res, nil
	}
	ex, err := s.rerun(ctx, rec)
	if err != nil {
		return res, fmt.Errorf("replay intent %s --execute: %w", intentID, err)
	}
	res.Execution = &ex
	return res, nil
}

// rerun runs every recorded unit again and compares.
func (s *Service) rerun(ctx context.Context, rec replay.Record) (replay.Execution, error) {
	var reruns []replay.Rerun
	for _, u := range rec.Units {
		r, err := s.rerunUnit(ctx, rec, u)
		if err != nil {
			return replay.Execution{}, err
		}
		reruns = append(reruns, r)
	}
	return replay.CompareUnits(rec.Units, reruns), nil
}

// rerunUnit runs one unit's recorded code again, as the unit ran it: the
// Postgres artifact of its signature's planning record, redirected to
// staging, on the sandbox login as the plan's role, narrowed to its
// partition; then rolled back.
func (s *Service) rerunUnit(ctx context.Context, rec replay.Record, u replay.UnitFingerprint) (replay.Rerun, error) {
	p, ok := rec.Plans[u.SignatureHash]
	if !ok || len(p.Plan) == 0 || len(p.Artifacts) == 0 {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w: no plan and code are recorded for signature %s", u.Key, ErrNotReplayable, u.SignatureHash)
	}
	var plan planner.ExecutionPlan
	if err := json.Unmarshal(p.Plan, &plan); err != nil {
		return replay.Rerun{}, fmt.Errorf("unit %s: read the recorded plan: %w", u.Key, err)
	}
	var arts []codegen.Artifact
	if err := json.Unmarshal(p.Artifacts, &arts); err != nil || len(arts) == 0 {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w: the recorded code does not decode (%v)", u.Key, ErrNotReplayable, err)
	}
	code := arts[0] // the Postgres artifact, first
	if code.Hash != u.CodeHash {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w: it ran code %s, the planning record holds %s", u.Key, ErrNotReplayable, u.CodeHash, code.Hash)
	}
	cat, err := s.catalogOf(ctx, rec, plan.CatalogSnapshotVersion)
	if err != nil {
		return replay.Rerun{}, err
	}
	// The unit's own target, sources and script: a time window's file, a
	// cross_dataset_atomic target's part (docs/adr/0137, 0138).
	ku, err := kernel.UnitOf(plan, u.Key, false)
	if err != nil {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w: %w", u.Key, ErrNotReplayable, err)
	}
	script, err := kernel.UnitScript(plan, code, u.Key)
	if err != nil {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w: %w", u.Key, ErrNotReplayable, err)
	}
	target, ok := cat.Get(ku.Target)
	if !ok {
		return replay.Rerun{}, fmt.Errorf("unit %s: target %s is not in catalog %s", u.Key, ku.Target, cat.SnapshotVersion)
	}
	scope := dataplane.ScopeOf(plan)
	var sources []catalog.Dataset
	for _, n := range dataplane.ScopeOf(ku.Plan).Sources {
		d, ok := cat.Get(n)
		if !ok {
			return replay.Rerun{}, fmt.Errorf("unit %s: source %s is not in catalog %s", u.Key, n, cat.SnapshotVersion)
		}
		sources = append(sources, d)
	}
	staged, err := dataplane.RedirectToStaging(script, target)
	if err != nil {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w", u.Key, err)
	}
	role, err := s.Store.EnsureSandboxRole(ctx, cat, scope)
	if err != nil {
		return replay.Rerun{}, fmt.Errorf("unit %s: %w", u.Key, err)
	}
	f, err := s.Store.RerunUnit(ctx, db.UnitRun{
		Target: target, Role: role, Script: staged, Sources: sources,
		Unit: dataplane.Unit{IntentID: "replay:" + rec.IntentID, Key: u.Key, Partition: u.Partition, StatementTimeout: ReplayTimeout},
	})
	if err != nil {
		return replay.Rerun{}, err
	}
	return replay.Rerun{Key: u.Key, Output: replay.Fingerprint{Rows: f.Output.Rows, SHA256: f.Output.SHA256}, Inputs: db.InputFingerprints(f.Inputs)}, nil
}

func (s *Service) catalogOf(ctx context.Context, rec replay.Record, version string) (*catalog.Catalog, error) {
	if c, ok := rec.Catalogs[version]; ok {
		return c, nil
	}
	return s.Store.CatalogByVersion(ctx, version)
}
