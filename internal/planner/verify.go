package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// Verify checks a plan against the signature's constraints and the 5.5
// execution semantics, then that it stays inside what the signature signed
// and the catalog declares: target, sources and columns, windows, join
// keys, a merge key that is a key, dedupe keys (docs/adr/0112; such a
// violation wraps ErrOutsideSignature, or ErrMergeKeyNotUnique). Plan calls
// it on every plan it returns; call it again on a plan read back from
// storage or supplied from outside before generating code from it (and
// Conform on a supplied one). The error is a *ConstraintError naming the
// constraint when one is violated. A signature with no source admits only
// the publish-only plan (ADR 0073).
func Verify(p ExecutionPlan, sig signature.Signature, cat *catalog.Catalog) error {
	if IsRead(sig) {
		return verifyRead(p, sig, cat)
	}
	if len(p.Parts) > 0 || len(sig.Targets()) > 1 {
		return verifyAtomic(p, sig, cat) // each part against its target's (docs/adr/0138)
	}
	seen := map[string]bool{}
	var load *Step
	for i := range p.Steps {
		s := &p.Steps[i]
		if seen[s.ID] || s.ID == "" {
			return fmt.Errorf("%w: step ID %q is empty or repeated", ErrNoTemplate, s.ID)
		}
		for _, in := range s.Inputs {
			if !seen[in] {
				return fmt.Errorf("%w: step %s reads %q, which is not an earlier step", ErrNoTemplate, s.ID, in)
			}
		}
		seen[s.ID] = true
		switch s.Idempotence {
		case MergeWithDeterministicKey, PartitionOverwriteSafe:
		case AppendWithoutDedup:
			return &ConstraintError{Constraint: ConstraintIdempotency, sentinel: ErrAppendForbidden,
				Detail:      fmt.Sprintf("step %s declares append_without_dedup", s.ID),
				Remediation: "use merge_with_deterministic_key or partition_overwrite_safe"}
		default:
			return violation(ConstraintIdempotency, "every step declares merge_with_deterministic_key or partition_overwrite_safe",
				"step %s declares idempotence %q", s.ID, s.Idempotence)
		}
		switch s.Kind {
		case KindExtract:
			if err := verifyExtract(*s, cat); err != nil {
				return err
			}
		case KindLoad:
			if load != nil {
				return fmt.Errorf("%w: plan has two load steps (%s, %s): one intent writes one target", ErrNoTemplate, load.ID, s.ID)
			}
			load = s
		case KindAnonymize, KindJoin, KindDedupe, KindAggregate, KindPublish:
		default:
			return fmt.Errorf("%w: step %s has kind %q, outside the closed set of templates", ErrNoTemplate, s.ID, s.Kind)
		}
	}
	if len(sig.Sources()) == 0 {
		return verifyPublishOnly(p, sig, cat)
	}
	if load == nil || load.Params.Load == nil {
		return fmt.Errorf("%w: plan has no load step", ErrNoTemplate)
	}
	for _, s := range p.Steps {
		if s.Kind == KindPublish {
			if err := verifyPublish(p, s, sig, load.ID); err != nil {
				return err
			}
		}
	}
	if err := verifyLoad(p, *load, sig, cat); err != nil {
		return err
	}
	if err := verifyTimeWindows(p, cat); err != nil {
		return err
	}
	return verifyInsideSignature(p, *load, sig, cat)
}

func verifyExtract(s Step, cat *catalog.Catalog) error {
	d, ok := cat.Get(s.Dataset)
	if !ok {
		return fmt.Errorf("%w: step %s reads %s", ErrUnknownDataset, s.ID, s.Dataset)
	}
	if d.Classification != "high_volume" {
		return nil
	}
	if f := s.Params.Filter; f == nil || f.Column != d.PartitionKey || (f.From == "" && f.To == "") {
		return &ConstraintError{Constraint: ConstraintTemporalFilter, sentinel: ErrUnboundedScan,
			Detail:      fmt.Sprintf("step %s reads high_volume %s without a bound on %q", s.ID, s.Dataset, d.PartitionKey),
			Remediation: "the Policy Engine must replan with add_temporal_filter"}
	}
	return nil
}

func verifyLoad(p ExecutionPlan, s Step, sig signature.Signature, cat *catalog.Catalog) error {
	l := s.Params.Load
	names := Names(s.Columns)
	governed := l.Layer == signature.LayerSilver || l.Layer == signature.LayerGold
	if governed || sig.Constraints.MergeKeyRequired {
		if l.MergeKey == "" || !slices.Contains(names, l.MergeKey) || !slices.Contains(s.Params.Key, l.MergeKey) {
			return violation(ConstraintMergeKeyRequired, "merge on the signature's merge key",
				"load %s into %s (%s) does not carry merge key %q", s.ID, l.Target, l.Layer, l.MergeKey)
		}
	}
	switch l.Mode {
	case LoadMerge:
		if s.Idempotence != MergeWithDeterministicKey || len(s.Params.Key) == 0 {
			return violation(ConstraintIdempotency, "a merge needs a deterministic key",
				"load %s merges with key %v and declares %s", s.ID, s.Params.Key, s.Idempotence)
		}
	case LoadPartitionOverwrite:
		if s.Idempotence != PartitionOverwriteSafe || l.Window == nil || l.Window.Column != l.PartitionKey || (l.Window.From == "" && l.Window.To == "") {
			return violation(ConstraintIdempotency, "overwrite a bounded window on the partition key",
				"load %s overwrites %s without a bounded window on %q", s.ID, l.Target, l.PartitionKey)
		}
		if err := verifyOverwriteWindow(p, s); err != nil {
			return err
		}
	default:
		return &ConstraintError{Constraint: ConstraintIdempotency, sentinel: ErrAppendForbidden,
			Detail: fmt.Sprintf("load %s has mode %q", s.ID, l.Mode), Remediation: "merge or overwrite a partition window"}
	}
	for _, k := range s.Params.Key {
		if !slices.Contains(names, k) {
			return fmt.Errorf("%w: load key %q is not among the columns written by %s", ErrUnknownColumn, k, s.ID)
		}
	}
	if !sig.Constraints.NoPIIRaw {
		return nil
	}
	raw := rawPII(sig, cat)
	for _, c := range s.Columns {
		if slices.Contains(p.Contract.ForbiddenColumns, c.Name) || (c.Transform == "" && slices.Contains(raw, c.Origin)) {
			return violation(ConstraintNoPIIRaw, "anonymize the column (sha256) or drop it before the load",
				"load %s writes raw PII %s as %s.%s", s.ID, c.Origin, l.Target, c.Name)
		}
	}
	return nil
}

// verifyOverwriteWindow: every row an overwrite inserts must fall in the
// window it deletes, or the rows outside it are appended again on each run.
// The template guarantees it by copying the target's partition key from a
// source column the extract filters by exactly the load's window.
func verifyOverwriteWindow(p ExecutionPlan, s Step) error {
	l := s.Params.Load
	origin := ""
	if i := slices.IndexFunc(s.Columns, func(c Column) bool { return c.Name == l.PartitionKey }); i >= 0 && s.Columns[i].Transform == "" {
		origin = s.Columns[i].Origin
	}
	for _, e := range p.Steps {
		if e.Kind == KindExtract && origin == e.Dataset+"."+l.Window.Column && e.Params.Filter != nil && *e.Params.Filter == *l.Window {
			return nil
		}
	}
	return violation(ConstraintIdempotency, "read the source of the partition key through exactly the window the load replaces",
		"load %s replaces %s on %s in [%s, %s), but %s.%s comes from %q, which no extract reads through that window",
		s.ID, l.Target, l.PartitionKey, l.Window.From, l.Window.To, l.Target, l.PartitionKey, origin)
}

// rawPII lists "dataset.column" for every PII column of the sources, from
// the catalog and the signature.
func rawPII(sig signature.Signature, cat *catalog.Catalog) []string {
	var out []string
	for _, d := range sig.Sources() {
		pii := slices.Clone(d.PII)
		if cd, ok := cat.Get(d.Name); ok {
			pii = append(pii, cd.PII...)
		}
		for _, c := range pii {
			out = append(out, d.Name+"."+c)
		}
	}
	slices.SortFunc(out, strings.Compare)
	return slices.Compact(out)
}
