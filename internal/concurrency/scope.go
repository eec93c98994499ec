package concurrency

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Model is concurrency_control.model.
const Model = "single_active_intent_per_target_scope"

// LockPoint names where in the flow the lock is taken or given back.
type LockPoint string

// The lock points of concurrency_control.lock, named as in the whitepaper.
const (
	// BeforePreExecutionRevalidation is lock.acquisition: step 11, so that
	// revalidation (step 12) runs with the scope already exclusive and no
	// projection can land between the check and the execution.
	BeforePreExecutionRevalidation LockPoint = "before_pre_execution_revalidation"
	// AfterStateProjectionConfirmed is lock.release: step 16, once the new
	// registry snapshot is committed.
	AfterStateProjectionConfirmed LockPoint = "after_state_projection_confirmed"
)

// ScopeKind is one entry of scope_definition.
type ScopeKind string

// The scope_definition entries.
const (
	ScopeDataset          ScopeKind = "dataset"
	ScopeDatasetPartition ScopeKind = "dataset_partition"
)

// MaxPartitionScopes is the largest number of partition scopes ScopesFor
// lists for one dataset; a wider window locks the whole dataset instead,
// which conflicts with every partition and so is never less safe
// (docs/adr/0085).
const MaxPartitionScopes = 366

// dateLayout is the ISO date a window's bounds and daily partitions use.
const dateLayout = "2006-01-02"

// keySeparator splits a scope key into dataset and partition.
const keySeparator = "/partition:"

// ErrInvalidScope: a scope or a target cannot be turned into scopes.
var ErrInvalidScope = errors.New("invalid target scope")

// Scope is one target scope: a whole dataset (Partition == "") or one
// partition value of it.
type Scope struct {
	Dataset   string `json:"dataset" yaml:"dataset"`
	Partition string `json:"partition,omitempty" yaml:"partition,omitempty"`
}

// DatasetScope is the scope of the whole dataset.
func DatasetScope(dataset string) Scope { return Scope{Dataset: dataset} }

// PartitionScope is the scope of one partition of a dataset.
func PartitionScope(dataset, partition string) Scope {
	return Scope{Dataset: dataset, Partition: partition}
}

// Kind says whether s is a dataset or a dataset_partition scope.
func (s Scope) Kind() ScopeKind {
	if s.Partition == "" {
		return ScopeDataset
	}
	return ScopeDatasetPartition
}

// Key is the canonical string of s: "dataset:NAME" or
// "dataset:NAME/partition:VALUE", as db.LockScope prints it. Keys of
// distinct scopes differ, and ParseScope inverts Key.
func (s Scope) Key() string {
	if s.Partition == "" {
		return "dataset:" + s.Dataset
	}
	return "dataset:" + s.Dataset + keySeparator + s.Partition
}

// String returns Key.
func (s Scope) String() string { return s.Key() }

// Validate reports what is wrong with s, if anything.
func (s Scope) Validate() error {
	switch {
	case strings.TrimSpace(s.Dataset) == "":
		return fmt.Errorf("scope %q: %w: the dataset name is empty; name the target dataset", s.Key(), ErrInvalidScope)
	case strings.Contains(s.Dataset, keySeparator):
		return fmt.Errorf("scope %q: %w: a dataset name cannot contain %q; rename the dataset", s.Key(), ErrInvalidScope, keySeparator)
	case s.Partition != "" && strings.TrimSpace(s.Partition) == "":
		return fmt.Errorf("scope %q: %w: the partition value is blank; give the partition value or leave it empty for the whole dataset", s.Key(), ErrInvalidScope)
	}
	return nil
}

// ParseScope reads a Key back into a Scope.
func ParseScope(key string) (Scope, error) {
	rest, ok := strings.CutPrefix(key, "dataset:")
	if !ok {
		return Scope{}, fmt.Errorf("parse scope %q: %w: a key starts with \"dataset:\"", key, ErrInvalidScope)
	}
	var s Scope
	if ds, part, found := strings.Cut(rest, keySeparator); found {
		s = Scope{Dataset: ds, Partition: part}
		if part == "" {
			return Scope{}, fmt.Errorf("parse scope %q: %w: the partition after %q is empty; drop it to mean the whole dataset", key, ErrInvalidScope, keySeparator)
		}
	} else {
		s = Scope{Dataset: rest}
	}
	if err := s.Validate(); err != nil {
		return Scope{}, fmt.Errorf("parse scope: %w", err)
	}
	return s, nil
}

// Conflicts reports whether two scopes may not be held by two intents at
// once: same dataset, and either one is the whole dataset (a dataset lock
// covers its partitions) or both are the same partition. It is symmetric,
// and db's ScopeBlockers query applies the same condition.
func Conflicts(a, b Scope) bool {
	if a.Dataset != b.Dataset {
		return false
	}
	return a.Partition == "" || b.Partition == "" || a.Partition == b.Partition
}

// AnyConflict reports whether some scope of as conflicts with some scope
// of bs.
func AnyConflict(as, bs []Scope) bool {
	for _, a := range as {
		for _, b := range bs {
			if Conflicts(a, b) {
				return true
			}
		}
	}
	return false
}

// Compare orders scopes by dataset, then partition; a dataset scope comes
// before its partitions.
func Compare(a, b Scope) int {
	return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Partition, b.Partition))
}

// Normalize returns the scopes sorted by Compare without duplicates, with
// partition scopes dropped where the same list holds their dataset scope
// (it already covers them).
func Normalize(scopes []Scope) []Scope {
	if len(scopes) == 0 {
		return nil
	}
	whole := map[string]bool{}
	for _, s := range scopes {
		if s.Partition == "" {
			whole[s.Dataset] = true
		}
	}
	out := make([]Scope, 0, len(scopes))
	for _, s := range scopes {
		if s.Partition != "" && whole[s.Dataset] {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, Compare)
	return slices.Compact(out)
}

// Target is one dataset an intent writes, with the partitions its window
// covers. Give Partitions, or a [From, To) window of ISO dates (one
// partition per day), or neither: a write with no bound on the partition
// key covers the whole dataset.
type Target struct {
	Dataset string
	// PartitionKey is the dataset's partition column ("" when the dataset is
	// not partitioned: the scope is then always the whole dataset).
	PartitionKey string
	Partitions   []string
	From, To     string // YYYY-MM-DD, From inclusive, To exclusive
}

// ScopesFor returns the target scopes of an intent that writes targets,
// normalised (sorted, unique, partitions folded into a dataset scope the
// same intent also takes). No target (a read-only intent) gives no scope.
func ScopesFor(targets ...Target) ([]Scope, error) {
	keys := map[string]string{}
	var out []Scope
	for _, t := range targets {
		if prev, seen := keys[t.Dataset]; seen && prev != t.PartitionKey {
			return nil, fmt.Errorf("scopes of dataset %q: %w: partition keys %q and %q disagree; give the dataset's one partition key", t.Dataset, ErrInvalidScope, prev, t.PartitionKey)
		}
		keys[t.Dataset] = t.PartitionKey
		scopes, err := t.scopes()
		if err != nil {
			return nil, err
		}
		out = append(out, scopes...)
	}
	return Normalize(out), nil
}

func (t Target) scopes() ([]Scope, error) {
	whole := []Scope{DatasetScope(t.Dataset)}
	if err := whole[0].Validate(); err != nil {
		return nil, err
	}
	window := t.From != "" || t.To != ""
	switch {
	case t.PartitionKey == "" && (len(t.Partitions) > 0 || window):
		return nil, fmt.Errorf("scopes of dataset %q: %w: partitions or a window are given but the dataset has no partition key; give its partition key or drop the partitions", t.Dataset, ErrInvalidScope)
	case len(t.Partitions) > 0 && window:
		return nil, fmt.Errorf("scopes of dataset %q: %w: both partitions and a window [%s, %s) are given; give one of them", t.Dataset, ErrInvalidScope, t.From, t.To)
	case t.PartitionKey == "":
		return whole, nil
	}
	values := t.Partitions
	if window {
		days, err := days(t.From, t.To)
		if err != nil {
			return nil, fmt.Errorf("scopes of dataset %q by %s: %w", t.Dataset, t.PartitionKey, err)
		}
		values = days
	}
	if len(values) == 0 {
		return whole, nil // no bound on the partition key: every partition
	}
	values = slices.Clone(values)
	slices.Sort(values)
	values = slices.Compact(values)
	if len(values) > MaxPartitionScopes {
		return whole, nil
	}
	out := make([]Scope, len(values))
	for i, v := range values {
		out[i] = PartitionScope(t.Dataset, v)
		if err := out[i].Validate(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// days expands [from, to) into ISO dates. A window longer than
// MaxPartitionScopes days returns MaxPartitionScopes+1 values, enough for
// the caller to fall back to the dataset scope without listing them all.
func days(from, to string) ([]string, error) {
	if from == "" || to == "" {
		return nil, fmt.Errorf("window [%s, %s): %w: give both bounds as YYYY-MM-DD (or neither, to lock the whole dataset)", from, to, ErrInvalidScope)
	}
	f, err := time.Parse(dateLayout, from)
	if err != nil {
		return nil, fmt.Errorf("window from %q: %w: write it as YYYY-MM-DD (%v)", from, ErrInvalidScope, err)
	}
	u, err := time.Parse(dateLayout, to)
	if err != nil {
		return nil, fmt.Errorf("window to %q: %w: write it as YYYY-MM-DD (%v)", to, ErrInvalidScope, err)
	}
	if !f.Before(u) {
		return nil, fmt.Errorf("window [%s, %s): %w: it covers no day; to is exclusive and must be after from", from, to, ErrInvalidScope)
	}
	var out []string
	for d := f; d.Before(u) && len(out) <= MaxPartitionScopes; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(dateLayout))
	}
	return out, nil
}
