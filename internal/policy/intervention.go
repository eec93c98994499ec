package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// Intervention ops: the closed set of mandatory interventions a replan rule
// may declare. Each is implemented in Go by Apply; bundles only name them.
const (
	OpAnonymizePII       = "anonymize_pii"
	OpSetMergeKey        = "set_merge_key"
	OpAddTemporalFilter  = "add_temporal_filter"
	OpDropPublish        = "drop_publish"
	maxTemporalFilterDay = 3660
)

// interventionOps is the closed set, in the order Apply runs them.
var interventionOps = []string{OpAnonymizePII, OpSetMergeKey, OpAddTemporalFilter, OpDropPublish}

// Intervention is one declared mandatory intervention of a replan rule.
type Intervention struct {
	Op string `json:"op" yaml:"op"`
	// LastDays is add_temporal_filter's window; no other op takes it.
	LastDays int `json:"last_days,omitempty" yaml:"last_days,omitempty"`
}

func (iv Intervention) validate() error {
	if !slices.Contains(interventionOps, iv.Op) {
		return fmt.Errorf("op %q is not one of %v", iv.Op, interventionOps)
	}
	if iv.Op == OpAddTemporalFilter {
		if iv.LastDays < 1 || iv.LastDays > maxTemporalFilterDay {
			return fmt.Errorf("add_temporal_filter needs last_days between 1 and %d, got %d", maxTemporalFilterDay, iv.LastDays)
		}
	} else if iv.LastDays != 0 {
		return fmt.Errorf("op %s takes no last_days", iv.Op)
	}
	return nil
}

func compareInterventions(a, b Intervention) int {
	ra, rb := slices.Index(interventionOps, a.Op), slices.Index(interventionOps, b.Op)
	if ra != rb {
		return ra - rb
	}
	return cmp.Compare(a.LastDays, b.LastDays)
}

// mergeInterventions deduplicates ivs and orders them as Apply runs them.
func mergeInterventions(ivs []Intervention) []Intervention {
	if len(ivs) == 0 {
		return nil
	}
	return sortCompact(slices.Clone(ivs)) // never reorder the caller's slice
}

func sortCompact(ivs []Intervention) []Intervention {
	if len(ivs) == 0 {
		return nil
	}
	slices.SortFunc(ivs, compareInterventions)
	return slices.Compact(ivs)
}

// ErrInterventionFailed is wrapped by every InterventionError.
var ErrInterventionFailed = errors.New("policy intervention failed")

// InterventionError says why an intervention could not be applied; the
// replan loop turns it into a block.
type InterventionError struct {
	Op          string
	Dataset     string
	Reason      string
	Remediation string
}

func (e *InterventionError) Error() string {
	if e.Dataset != "" {
		return fmt.Sprintf("intervention %s on dataset %q: %s; %s", e.Op, e.Dataset, e.Reason, e.Remediation)
	}
	return fmt.Sprintf("intervention %s: %s; %s", e.Op, e.Reason, e.Remediation)
}

// Unwrap lets callers test errors.Is(err, ErrInterventionFailed).
func (e *InterventionError) Unwrap() error { return ErrInterventionFailed }

// Apply returns a new signature with ivs applied in their fixed op order and
// Replan incremented. sig is never mutated. cat supplies merge and partition
// keys; when it is nil, the keys the Normalizer copied from the catalog into
// the signature are used. On error sig is returned unchanged
// with an *InterventionError the caller turns into a block.
func Apply(sig signature.Signature, ivs []Intervention, cat *catalog.Catalog) (signature.Signature, error) {
	out := clone(sig)
	for _, iv := range mergeInterventions(ivs) {
		if err := iv.validate(); err != nil {
			return sig, fmt.Errorf("apply interventions to intent %q: %w: %w", sig.Intent, ErrInterventionFailed, err)
		}
		var err error
		switch iv.Op {
		case OpAnonymizePII:
			anonymizePII(&out)
		case OpSetMergeKey:
			err = setMergeKey(&out, cat)
		case OpAddTemporalFilter:
			err = addTemporalFilter(&out, cat, iv.LastDays)
		case OpDropPublish:
			out.Operations = slices.DeleteFunc(out.Operations, func(op string) bool { return op == signature.OpPublish })
		}
		if err != nil {
			return sig, fmt.Errorf("apply interventions to intent %q: %w", sig.Intent, err)
		}
	}
	out.Replan++
	return out, nil
}

// anonymizePII marks every raw source PII column as hashed before any join
// or write, and declares the anonymize operation.
func anonymizePII(s *signature.Signature) {
	for _, d := range s.Datasets {
		if d.Role != signature.RoleSource {
			continue
		}
		for _, col := range d.PII {
			if e := d.Name + "." + col; !slices.Contains(s.Constraints.Anonymize, e) {
				s.Constraints.Anonymize = append(s.Constraints.Anonymize, e)
			}
		}
	}
	slices.Sort(s.Constraints.Anonymize)
	s.Constraints.NoPIIRaw = true
	addOp(s, signature.OpAnonymize)
}

// setMergeKey turns an append into a merge on the target's catalog merge key.
// A cross_dataset_atomic intent's targets may differ: each merges on its
// own catalog key (the planner's parts, docs/adr/0138), and the
// signature's merge_key is the first target's.
func setMergeKey(s *signature.Signature, cat *catalog.Catalog) error {
	key := ""
	targets := 0
	for i, d := range s.Datasets {
		if d.Role != signature.RoleTarget {
			continue
		}
		targets++
		cd, err := lookup(cat, d, OpSetMergeKey)
		if err != nil {
			return err
		}
		k := cd.MergeKey
		if k == "" {
			return &InterventionError{Op: OpSetMergeKey, Dataset: d.Name, Reason: "the catalog declares no merge_key",
				Remediation: "declare merge_key for the dataset in the catalog, or state the merge key in the intent"}
		}
		if key != "" && k != key && s.CrossDatasetAtomic {
			s.Datasets[i].MergeKey = k
			continue
		}
		if key != "" && k != key {
			return &InterventionError{Op: OpSetMergeKey, Dataset: d.Name,
				Reason:      fmt.Sprintf("merge_key %q differs from another target's %q", k, key),
				Remediation: "write one target per intent, or align the targets' merge keys in the catalog"}
		}
		key = k
		s.Datasets[i].MergeKey = k
	}
	if targets == 0 {
		return &InterventionError{Op: OpSetMergeKey, Reason: "the intent has no target dataset to take a merge key from",
			Remediation: "name the target dataset in the intent"}
	}
	s.Constraints.MergeKey = key
	s.Constraints.MergeKeyRequired = true
	addOp(s, signature.OpMerge)
	return nil
}

// addTemporalFilter bounds the scan of the high_volume sources on their
// partition key. One filter per signature: sources partitioned differently
// cannot both be bounded, which fails the intervention.
func addTemporalFilter(s *signature.Signature, cat *catalog.Catalog, days int) error {
	tf := s.Constraints.TemporalFilter
	for _, d := range s.Datasets {
		if d.Role != signature.RoleSource || d.Classification != "high_volume" {
			continue
		}
		cd, err := lookup(cat, d, OpAddTemporalFilter)
		if err != nil {
			return err
		}
		pk := cd.PartitionKey
		if pk == "" {
			return &InterventionError{Op: OpAddTemporalFilter, Dataset: d.Name, Reason: "no partition_key to filter on",
				Remediation: "declare partition_key for the dataset in the catalog, or bound the scan in the intent"}
		}
		switch {
		case tf == nil || tf.Column == "":
			tf = &signature.TemporalFilter{Column: pk, LastDays: days}
		case tf.Column != pk:
			return &InterventionError{Op: OpAddTemporalFilter, Dataset: d.Name,
				Reason:      fmt.Sprintf("the signature already filters on %q, the dataset is partitioned by %q", tf.Column, pk),
				Remediation: "split the intent so each high_volume source gets its own temporal filter"}
		case tf.From == "" && tf.To == "" && (tf.LastDays == 0 || tf.LastDays > days):
			tf = &signature.TemporalFilter{Column: pk, LastDays: days}
		}
	}
	if tf == nil {
		// No high_volume source to bound (the policy rules never ask then):
		// the Pre-cost Estimator's filter bounds the largest partitioned
		// source, the column its hint was computed on (docs/adr/0052).
		var best *catalog.Dataset
		for _, d := range s.Datasets {
			if d.Role != signature.RoleSource {
				continue
			}
			cd, err := lookup(cat, d, OpAddTemporalFilter)
			if err != nil {
				return err
			}
			if cd.PartitionKey != "" && (best == nil || cd.SizeBytes > best.SizeBytes || cd.SizeBytes == best.SizeBytes && cd.Name < best.Name) {
				best = &cd
			}
		}
		if best == nil {
			return &InterventionError{Op: OpAddTemporalFilter, Dataset: s.Intent, Reason: "no partitioned source to filter on",
				Remediation: "declare partition_key for a source in the catalog, or split the intent"}
		}
		tf = &signature.TemporalFilter{Column: best.PartitionKey, LastDays: days}
	}
	s.Constraints.TemporalFilter = tf
	return nil
}

func addOp(s *signature.Signature, op string) {
	if !s.HasOp(op) {
		s.Operations = append(s.Operations, op)
		slices.SortStableFunc(s.Operations, func(a, b string) int { return rank(a) - rank(b) })
	}
}

func rank(op string) int {
	if r := signature.OpRank(op); r >= 0 {
		return r
	}
	return 1 << 16
}

// lookup finds name in cat. With no catalog it falls back to the keys the
// Normalizer copied into the signature; with one, a dataset missing from the
// snapshot fails the intervention rather than trusting stale copies.
func lookup(cat *catalog.Catalog, d signature.Dataset, op string) (catalog.Dataset, error) {
	if cat == nil {
		return catalog.Dataset{Name: d.Name, MergeKey: d.MergeKey, PartitionKey: d.PartitionKey}, nil
	}
	for _, cd := range cat.Datasets {
		if cd.Name == d.Name {
			return cd, nil
		}
	}
	return catalog.Dataset{}, &InterventionError{Op: op, Dataset: d.Name,
		Reason:      fmt.Sprintf("not in catalog snapshot %q", cat.SnapshotVersion),
		Remediation: "resolve the intent against the current catalog snapshot"}
}

// clone deep-copies every slice and pointer of s, so edits to the copy never
// reach the caller's signature.
func clone(s signature.Signature) signature.Signature {
	c := s
	c.Operations = slices.Clone(s.Operations)
	c.Datasets = slices.Clone(s.Datasets)
	for i := range c.Datasets {
		c.Datasets[i].PII = slices.Clone(s.Datasets[i].PII)
	}
	c.Constraints.PartitionBy = slices.Clone(s.Constraints.PartitionBy)
	c.Constraints.Anonymize = slices.Clone(s.Constraints.Anonymize)
	c.Constraints.PublishBlocked = slices.Clone(s.Constraints.PublishBlocked)
	if s.Constraints.TemporalFilter != nil {
		tf := *s.Constraints.TemporalFilter
		c.Constraints.TemporalFilter = &tf
	}
	c.DeclaredImports = slices.Clone(s.DeclaredImports)
	c.DeclaredPatterns = slices.Clone(s.DeclaredPatterns)
	return c
}

// String renders the intervention as the audit shows it: op or op(N).
func (iv Intervention) String() string {
	if iv.LastDays > 0 {
		return fmt.Sprintf("%s(last_days=%d)", iv.Op, iv.LastDays)
	}
	return iv.Op
}
