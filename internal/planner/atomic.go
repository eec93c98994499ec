package planner

import (
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// PerTarget lists the plans a plan commits: itself (its Parts cleared)
// then, for a cross_dataset_atomic plan, each of its Parts. Use it
// wherever a plan's target, load or scope is read: a part writes a target
// of its own. The first element keeps p's Hash, which covers the parts.
func (p ExecutionPlan) PerTarget() []ExecutionPlan {
	head := p
	head.Parts = nil
	return append([]ExecutionPlan{head}, p.Parts...)
}

// ForTarget returns the plan (p, or one of its Parts) that writes target.
func (p ExecutionPlan) ForTarget(target string) (ExecutionPlan, bool) {
	for _, q := range p.PerTarget() {
		if q.Target == target {
			return q, true
		}
	}
	return ExecutionPlan{}, false
}

// AtomicParts splits a cross_dataset_atomic signature into one signature
// per target, by target name (docs/adr/0138). Each part keeps what the
// intent signed as it applies to its target:
//   - sources: a target the catalog declares the anonymized copy of a
//     source (anonymized_from) reads that source alone; any other reads
//     every source of the intent;
//   - operations: join and enrich are dropped from a part with one source
//     (the join is between the other target's sources);
//   - anonymize entries of its sources only; the temporal filter when a
//     source of the part is partitioned by its column;
//   - the merge key when it is a key of the target, else the target's
//     catalog merge_key (the only key a MERGE may match on, ADR 0112).
//
// Everything else (no_pii_raw, enforce_types, publish_blocked, the
// execution context) is the intent's.
func AtomicParts(sig signature.Signature, cat *catalog.Catalog) ([]signature.Signature, error) {
	sig = sig.Canonical()
	sources, targets := sig.Sources(), sig.Targets()
	out := make([]signature.Signature, 0, len(targets))
	for _, t := range targets {
		td, ok := cat.Get(t.Name)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, t.Name, cat.SnapshotVersion)
		}
		srcs := sources
		if i := slices.IndexFunc(sources, func(s signature.Dataset) bool { return s.Name == td.AnonymizedFrom }); td.AnonymizedFrom != "" && i >= 0 {
			srcs = sources[i : i+1]
		}
		if len(srcs) == 0 {
			return nil, fmt.Errorf("%w: cross_dataset_atomic target %s reads no source: name the sources every target is written from", ErrNoTemplate, t.Name)
		}
		part := sig.Clone()
		part.Datasets = append(slices.Clone(srcs), t)
		if len(srcs) == 1 {
			part.Operations = slices.DeleteFunc(part.Operations, func(op string) bool { return op == signature.OpJoin || op == signature.OpEnrich })
		}
		c := &part.Constraints
		c.Anonymize = slices.DeleteFunc(c.Anonymize, func(entry string) bool {
			return !slices.ContainsFunc(srcs, func(s signature.Dataset) bool { return len(entry) > len(s.Name) && entry[:len(s.Name)+1] == s.Name+"." })
		})
		if tf := c.TemporalFilter; tf != nil && !slices.ContainsFunc(srcs, func(s signature.Dataset) bool {
			d, _ := cat.Get(s.Name)
			return d.PartitionKey == tf.Column
		}) {
			c.TemporalFilter = nil
		}
		if mk := c.MergeKey; td.MergeKey != "" && (mk == "" && c.MergeKeyRequired || mk != "" && mergeKeyIsAKey(mk, td) != nil) {
			c.MergeKey = td.MergeKey
		}
		out = append(out, part.Canonical())
	}
	return out, nil
}

// planAtomic plans a cross_dataset_atomic signature with several targets:
// one plan per part (AtomicParts), each verified against its part; the
// first carries the others as Parts (docs/adr/0138).
func planAtomic(sig signature.Signature, sigHash string, cat *catalog.Catalog, opts Options) (ExecutionPlan, error) {
	parts, err := AtomicParts(sig, cat)
	if err != nil {
		return ExecutionPlan{}, err
	}
	plans := make([]ExecutionPlan, len(parts))
	for i, ps := range parts {
		b := &builder{sig: ps, cat: cat, opts: opts}
		p, err := b.build()
		if err == nil && p.PublishOnly() {
			err = fmt.Errorf("%w: target %s only publishes; cross_dataset_atomic writes every target from its sources", ErrNoTemplate, p.Target)
		}
		if err != nil {
			return ExecutionPlan{}, fmt.Errorf("cross_dataset_atomic target %s: %w", ps.Targets()[0].Name, err)
		}
		p.SignatureHash = sigHash
		if err := Verify(p, ps, cat); err != nil {
			return ExecutionPlan{}, fmt.Errorf("cross_dataset_atomic target %s: %w", p.Target, err)
		}
		if p.Hash, err = HashPlan(p); err != nil {
			return ExecutionPlan{}, err
		}
		plans[i] = p
	}
	head := plans[0]
	head.Parts = plans[1:]
	return head, nil
}

// verifyAtomic verifies a cross_dataset_atomic plan: the signature asks
// for it, and each of its plans is its target's part's, verified against
// that part.
func verifyAtomic(p ExecutionPlan, sig signature.Signature, cat *catalog.Catalog) error {
	if !sig.CrossDatasetAtomic {
		return fmt.Errorf("%w: the plan writes %d targets and the signature has %d without cross_dataset_atomic: split the intent",
			ErrNoTemplate, len(p.Parts)+1, len(sig.Targets()))
	}
	parts, err := AtomicParts(sig, cat)
	if err != nil {
		return err
	}
	plans := p.PerTarget()
	if len(plans) != len(parts) {
		return outside(ConstraintTarget, reexport, "the plan writes %d targets, the signature %d", len(plans), len(parts))
	}
	for i, q := range plans {
		want := parts[i].Targets()[0].Name
		if q.Target != want || q.SignatureHash != p.SignatureHash || q.CatalogSnapshotVersion != p.CatalogSnapshotVersion {
			return outside(ConstraintTarget, reexport, "part %d writes %s for signature %s, the signature's part %d writes %s", i+1, q.Target, q.SignatureHash, i+1, want)
		}
		if q.ConsistencyUnit != UnitDataset {
			return outside(ConstraintExecution, reexport, "part %s commits by %s; a cross_dataset_atomic plan commits every target as one dataset unit", q.Target, q.ConsistencyUnit)
		}
		if err := Verify(q, parts[i], cat); err != nil {
			return fmt.Errorf("cross_dataset_atomic target %s: %w", q.Target, err)
		}
		if i > 0 {
			if h, err := HashPlan(q); err != nil || h != q.Hash {
				return outside(ConstraintSignature, reexport, "part %s's hash %s does not match its content", q.Target, q.Hash)
			}
		}
	}
	return nil
}
