package planner

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// publishOnly fills the publish-only template (docs/adr/0073): a signature
// that reads no source, names one target and asks to publish it plans to
// one step, 01_publish_<target>. Nothing is read or written: publishing is
// the Context Registry update the workflow makes (I7), so there is no load,
// no window and no schema contract.
func (b *builder) publishOnly() (ExecutionPlan, error) {
	target := b.target.Name
	for _, op := range b.sig.Operations {
		// merge is what the Policy Engine's set_merge_key replan adds to any
		// write into a governed layer; with nothing read it merges nothing.
		if op != signature.OpPublish && op != signature.OpMerge {
			return ExecutionPlan{}, fmt.Errorf("%w: operation %q needs a source to read, and the signature names none: name the source, or ask only to publish %s",
				ErrNoTemplate, op, target)
		}
	}
	c := b.sig.Constraints
	if len(c.Anonymize) > 0 {
		return ExecutionPlan{}, fmt.Errorf("%w: anonymize %v needs a source to read, and the signature names none: drop it from a publish",
			ErrNoTemplate, c.Anonymize)
	}
	if tf := c.TemporalFilter; tf != nil {
		return ExecutionPlan{}, violation(ConstraintTemporalFilter, "drop the temporal filter: a publish makes the whole dataset visible",
			"publish of %s reads no source to filter on %q", target, tf.Column)
	}
	if slices.Contains(c.PublishBlocked, target) {
		return ExecutionPlan{}, violation(ConstraintPublishBlocked, "drop publish from the intent until the registry unblocks the dataset",
			"%s must not be published (I7)", target)
	}
	if b.opts.Strategy == PartitionOverwriteSafe {
		return ExecutionPlan{}, violation(ConstraintIdempotency, "leave Options.Strategy empty: a publish is merge_with_deterministic_key",
			"publish of %s overwrites no partition", target)
	}
	unit, rule, err := publishConsistencyUnit(b.opts)
	if err != nil {
		return ExecutionPlan{}, err
	}
	b.add(Step{Kind: KindPublish, Dataset: target, Params: Params{Publish: target}, Idempotence: MergeWithDeterministicKey})
	return ExecutionPlan{
		CatalogSnapshotVersion: b.cat.SnapshotVersion,
		Intent:                 b.sig.Intent,
		Target:                 target,
		TargetLayer:            b.target.Layer,
		Strategy:               MergeWithDeterministicKey,
		ConsistencyUnit:        unit,
		ConsistencyRule:        rule,
		Steps:                  b.steps,
		Contract:               Contract{ExpectedColumns: []string{}, ForbiddenColumns: []string{}},
	}, nil
}

// publishConsistencyUnit applies the 5.5 selection rules to a plan that
// commits no partition. The explicit flags keep their precedence (ADR 0058);
// a batch publish is the dataset, since the registry update makes the whole
// dataset visible at once; micro_batch has no time window to commit.
func publishConsistencyUnit(o Options) (ConsistencyUnit, string, error) {
	switch {
	case o.CrossDatasetAtomic || o.Composite:
		return SelectConsistencyUnit(o, false)
	case o.ExecutionMode == ModeMicroBatch:
		return "", "", fmt.Errorf("%w: micro_batch needs a time_window, and a publish-only plan reads no window: run it as batch", ErrInvalidOptions)
	}
	return UnitDataset, "execution_mode == batch; publish only, no partition is written", nil
}

// verifyPublish checks a publish step of any plan: the signature asks for
// publish, the step publishes the plan's target, which is the signature's
// one target, the registry does not block it (I7), and it reads the load
// (after) or, in a publish-only plan (after == ""), nothing.
func verifyPublish(p ExecutionPlan, s Step, sig signature.Signature, after string) error {
	if !sig.HasOp(signature.OpPublish) {
		return fmt.Errorf("%w: step %s publishes %s, and the signature does not ask for publish", ErrNoTemplate, s.ID, s.Params.Publish)
	}
	targets := sig.Targets()
	if s.Params.Publish != s.Dataset || s.Dataset != p.Target || len(targets) != 1 || targets[0].Name != p.Target {
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = t.Name
		}
		return fmt.Errorf("%w: step %s publishes %q (dataset %q), the plan's target is %q and the signature's targets are %v: plan again",
			ErrNoTemplate, s.ID, s.Params.Publish, s.Dataset, p.Target, names)
	}
	if slices.Contains(sig.Constraints.PublishBlocked, p.Target) {
		return violation(ConstraintPublishBlocked, "drop publish from the intent until the registry unblocks the dataset",
			"step %s publishes %s, which must not be published (I7)", s.ID, p.Target)
	}
	var want []string
	if after != "" {
		want = []string{after}
	}
	if !slices.Equal(s.Inputs, want) {
		return fmt.Errorf("%w: step %s reads %v, a publish reads %v", ErrNoTemplate, s.ID, s.Inputs, want)
	}
	return nil
}

// verifyPublishOnly accepts exactly the shape publishOnly builds for a
// signature that reads no source.
func verifyPublishOnly(p ExecutionPlan, sig signature.Signature, cat *catalog.Catalog) error {
	if !p.PublishOnly() {
		ids := make([]string, len(p.Steps))
		for i, s := range p.Steps {
			ids[i] = s.ID
		}
		return fmt.Errorf("%w: the signature reads no source, so the plan must be one publish step, it has %v", ErrNoTemplate, ids)
	}
	s := p.Steps[0]
	if err := verifyPublish(p, s, sig, ""); err != nil {
		return err
	}
	d, ok := cat.Get(p.Target)
	if !ok {
		return fmt.Errorf("%w: publish of %s", ErrUnknownDataset, p.Target)
	}
	if want := fmt.Sprintf("01_%s_%s", KindPublish, p.Target); s.ID != want || p.TargetLayer != d.Layer {
		return fmt.Errorf("%w: publish-only plan has step %s of %s in layer %q, the template gives %s in layer %q", ErrNoTemplate, s.ID, p.Target, p.TargetLayer, want, d.Layer)
	}
	if s.Idempotence != MergeWithDeterministicKey || p.Strategy != MergeWithDeterministicKey {
		return violation(ConstraintIdempotency, "a publish is merge_with_deterministic_key, keyed by target and plan hash",
			"publish-only plan declares strategy %s and step %s %s", p.Strategy, s.ID, s.Idempotence)
	}
	if len(s.Columns) > 0 || !reflect.DeepEqual(s.Params, Params{Publish: p.Target}) || p.Window != nil ||
		len(p.Contract.ExpectedColumns) > 0 || len(p.Contract.ForbiddenColumns) > 0 {
		return fmt.Errorf("%w: publish-only plan of %s carries columns, parameters, a window or a contract: it reads and writes nothing", ErrNoTemplate, p.Target)
	}
	if p.ConsistencyUnit != UnitDataset && p.ConsistencyUnit != UnitDagBranch {
		return fmt.Errorf("%w: publish-only plan has consistency unit %q: it commits no partition or window, use dataset or dag_branch", ErrNoTemplate, p.ConsistencyUnit)
	}
	return nil
}
