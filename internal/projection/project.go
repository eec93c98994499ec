package projection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/contextualflux/cfa/internal/registry"
)

// The names of the state_projection block.
const (
	Trigger                         = "post_runtime_validation"
	ActionBlockNextIntent           = "block_next_intent"
	ReasonEnvironmentStateUncertain = "environment_state_uncertain"
)

// Mode is partial_failure_policy.mode (whitepaper 5.8).
type Mode string

// The partial failure modes.
const (
	FullRollback           Mode = "full_rollback"
	SelectiveQuarantine    Mode = "selective_quarantine"
	PartialCommitNoPublish Mode = "partial_commit_no_publish"
	DegradedPublish        Mode = "degraded_publish"
)

// Modes lists the closed enum in the whitepaper's order.
var Modes = []Mode{FullRollback, SelectiveQuarantine, PartialCommitNoPublish, DegradedPublish}

// consistencyUnits is the closed consistency_unit enum of 5.5 (the same
// list as planner.ConsistencyUnits), for execution_history entries.
var consistencyUnits = []string{"partition", "dataset", "dag_branch", "time_window"}

// ErrInvalidInput: the execution's outcome cannot be projected as given.
var ErrInvalidInput = errors.New("invalid projection input")

// Outcome is what one execution did to one dataset it wrote, after
// retry_failed_units and apply_partial_failure_policy (step 15).
type Outcome struct {
	Dataset string `json:"dataset"`
	// State is the partial failure policy's verdict for this dataset:
	// registry.StateCommitted, StatePartiallyCommitted or StateQuarantined.
	// A committed verdict still projects partially_committed while units
	// of earlier executions remain pending.
	State string `json:"state"`
	// PublishAllowed is what the policy allows (consistency_policy.
	// publish_allowed for a dataset the intent publishes). The projection
	// grants it only to a dataset that ends committed (I7); otherwise it is
	// withheld and reported in Projection.Withheld.
	PublishAllowed bool `json:"publish_allowed"`
	// Mode is the partial failure mode applied; required when a unit failed
	// or the verdict is not committed.
	Mode Mode `json:"mode,omitempty"`
	// CommittedPartitions are this dataset's successful_units moved into the
	// target; FailedPartitions its failed_units after retries.
	CommittedPartitions []string `json:"committed_partitions,omitempty"`
	FailedPartitions    []string `json:"failed_partitions,omitempty"`
}

// Input is everything a projection reads.
type Input struct {
	// Previous is the latest committed snapshot when the projection runs
	// (not necessarily the one the intent consulted: other scopes may have
	// projected since; the held scope lock guarantees none touched these
	// datasets).
	Previous registry.EnvironmentState `json:"previous"`
	// Outcomes lists each dataset the execution wrote, once.
	Outcomes []Outcome `json:"outcomes"`
	// Execution is the execution_history entry to add; a zero Timestamp
	// takes Now.
	Execution registry.ExecutionRecord `json:"execution"`
	// Now stamps updated_at of every dataset entry the projection changes.
	Now time.Time `json:"now"`
}

// Projection is the next snapshot, ready for one atomic commit.
type Projection struct {
	// ParentVersionID is Previous.VersionID: the commit must fail if it is
	// no longer the latest committed (optimistic versioning, section 10).
	ParentVersionID string `json:"parent_version_id"`
	// VersionID is the new snapshot's version_id, derived from the parent
	// and the intent (VersionID), so a retried commit is idempotent.
	VersionID string `json:"version_id"`
	// Datasets is the whole next environment_state.datasets, sorted by name.
	Datasets []registry.DatasetState `json:"datasets"`
	// Changed lists only the entries that differ from Previous, sorted by
	// name: what a copy-on-write commit writes over the parent's rows.
	Changed []registry.DatasetState `json:"changed"`
	// ExecutionHistory holds the one entry this projection appends.
	ExecutionHistory []registry.ExecutionRecord `json:"execution_history"`
	// Withheld names the datasets whose requested publication I7 refused
	// (they did not end committed), sorted.
	Withheld []string `json:"withheld,omitempty"`
}

// Snapshot is the environment_state the commit produces, stamped with the
// time the store committed it.
func (p Projection) Snapshot(committedAt time.Time) registry.EnvironmentState {
	return registry.EnvironmentState{VersionID: p.VersionID, CommittedAt: committedAt, Datasets: slices.Clone(p.Datasets)}
}

// versionNamespace scopes the name-based version ids of VersionID.
var versionNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/contextualflux/cfa/context_registry/version_id"))

// VersionID is the version_id of the snapshot that writer (an intent id,
// or another writer such as the TTL sweeper with its run) commits on top of
// parentVersionID: a name-based (SHA-1, version 5) uuid, so a retried
// commit carries the same id and the store returns it unchanged, while a
// rebase on a newer parent gets a new one.
func VersionID(parentVersionID, writer string) string {
	return uuid.NewSHA1(versionNamespace, []byte(parentVersionID+"\x00"+writer)).String()
}

// Project computes the next snapshot from the previous one and the
// execution's outcomes. The rules of 5.10, per touched dataset:
//
//   - pending_partitions = (previous pending ∪ failed) − committed
//   - quarantined_units = (previous quarantined − committed) ∪ failed when
//     the mode is selective_quarantine
//   - last_successful_partition = the greatest of the previous one and the
//     committed partitions (ISO dates order as strings)
//   - state = quarantined on a quarantined verdict, else
//     partially_committed while anything is pending, else committed
//   - publish_allowed = the requested value only when the state is
//     committed (I7); full_rollback leaves the entry unchanged.
func Project(in Input) (Projection, error) {
	if in.Now.IsZero() {
		return Projection{}, fmt.Errorf("project state: %w: Now is zero; pass the workflow's time", ErrInvalidInput)
	}
	if in.Previous.VersionID == "" {
		return Projection{}, fmt.Errorf("project state: %w: the previous snapshot has no version_id; read the latest committed snapshot (genesis on a new registry)", ErrInvalidInput)
	}
	rec, err := historyEntry(in.Execution, in.Now)
	if err != nil {
		return Projection{}, err
	}
	prev := map[string]registry.DatasetState{}
	for _, d := range in.Previous.Datasets {
		prev[d.Name] = d
	}
	next := map[string]registry.DatasetState{}
	var changed []registry.DatasetState
	var withheld []string
	seen := map[string]bool{}
	for _, o := range in.Outcomes {
		if seen[o.Dataset] {
			return Projection{}, fmt.Errorf("project state of intent %s: %w: dataset %q has two outcomes; give one per dataset", rec.IntentID, ErrInvalidInput, o.Dataset)
		}
		seen[o.Dataset] = true
		if err := o.validate(); err != nil {
			return Projection{}, fmt.Errorf("project state of intent %s: %w", rec.IntentID, err)
		}
		if o.Mode == FullRollback {
			// Nothing of this execution remains in the target: the entry
			// stays as it was (a dataset never projected stays absent).
			continue
		}
		old, existed := prev[o.Dataset]
		d, withhold := apply(old, existed, o, in.Now)
		if withhold {
			withheld = append(withheld, o.Dataset)
		}
		if existed && equal(old, d) {
			continue // nothing changed: keep updated_at, the TTL clock (docs/adr/0089)
		}
		next[o.Dataset] = d
		changed = append(changed, d)
	}
	datasets := make([]registry.DatasetState, 0, len(prev)+len(next))
	for _, d := range in.Previous.Datasets {
		if n, ok := next[d.Name]; ok {
			d = n
		}
		datasets = append(datasets, clone(d))
	}
	for _, d := range changed {
		if _, ok := prev[d.Name]; !ok {
			datasets = append(datasets, d)
		}
	}
	byName := func(a, b registry.DatasetState) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(datasets, byName)
	slices.SortFunc(changed, byName)
	slices.Sort(withheld)
	return Projection{
		ParentVersionID:  in.Previous.VersionID,
		VersionID:        VersionID(in.Previous.VersionID, rec.IntentID),
		Datasets:         datasets,
		Changed:          changed,
		ExecutionHistory: []registry.ExecutionRecord{rec},
		Withheld:         withheld,
	}, nil
}

// apply merges one validated outcome into the dataset's previous entry
// and reports whether I7 withheld a requested publication.
func apply(old registry.DatasetState, existed bool, o Outcome, now time.Time) (registry.DatasetState, bool) {
	if !existed {
		old = registry.DatasetState{Name: o.Dataset, State: registry.StateUnknown}
	}
	committed := set(o.CommittedPartitions)
	pending := union(minus(old.PendingPartitions, committed), o.FailedPartitions)
	quarantined := minus(old.QuarantinedUnits, committed)
	if o.Mode == SelectiveQuarantine {
		quarantined = union(quarantined, o.FailedPartitions)
	}
	last := old.LastSuccessfulPartition
	for _, p := range o.CommittedPartitions {
		last = max(last, p)
	}
	state := registry.StateCommitted
	switch {
	case o.State == registry.StateQuarantined:
		state = registry.StateQuarantined
	case len(pending) > 0:
		state = registry.StatePartiallyCommitted
	}
	publish := o.PublishAllowed && state == registry.StateCommitted // I7
	return registry.DatasetState{
		Name:                    o.Dataset,
		State:                   state,
		PublishAllowed:          publish,
		LastSuccessfulPartition: last,
		PendingPartitions:       pending,
		QuarantinedUnits:        quarantined,
		UpdatedAt:               now,
	}, o.PublishAllowed && !publish
}

func (o Outcome) validate() error {
	if strings.TrimSpace(o.Dataset) == "" {
		return fmt.Errorf("%w: an outcome has no dataset; name the dataset the execution wrote", ErrInvalidInput)
	}
	switch o.State {
	case registry.StateCommitted, registry.StatePartiallyCommitted, registry.StateQuarantined:
	case registry.StateStale:
		return fmt.Errorf("dataset %q: %w: an execution never projects stale (only the TTL sweeper does); give committed, partially_committed or quarantined", o.Dataset, ErrInvalidInput)
	default:
		return fmt.Errorf("dataset %q: %w: state %q; give committed, partially_committed or quarantined", o.Dataset, ErrInvalidInput, o.State)
	}
	if o.Mode != "" && !slices.Contains(Modes, o.Mode) {
		return fmt.Errorf("dataset %q: %w: mode %q is not one of %v", o.Dataset, ErrInvalidInput, o.Mode, Modes)
	}
	if o.Mode == "" && (len(o.FailedPartitions) > 0 || o.State != registry.StateCommitted) {
		return fmt.Errorf("dataset %q: %w: units failed or the verdict is %s but no partial failure mode is given; pass the mode apply_partial_failure_policy used", o.Dataset, ErrInvalidInput, o.State)
	}
	for _, p := range append(slices.Clone(o.CommittedPartitions), o.FailedPartitions...) {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("dataset %q: %w: a partition value is blank; list partition values", o.Dataset, ErrInvalidInput)
		}
	}
	committed := set(o.CommittedPartitions)
	for _, p := range o.FailedPartitions {
		if committed[p] {
			return fmt.Errorf("dataset %q: %w: partition %q is both committed and failed; a unit ends in one of them", o.Dataset, ErrInvalidInput, p)
		}
	}
	switch {
	case o.Mode == FullRollback && len(o.CommittedPartitions) > 0:
		return fmt.Errorf("dataset %q: %w: full_rollback commits nothing, yet partitions %v are listed as committed; list them as failed", o.Dataset, ErrInvalidInput, o.CommittedPartitions)
	case o.State == registry.StateCommitted && len(o.FailedPartitions) > 0:
		return fmt.Errorf("dataset %q: %w: a committed verdict lists failed partitions %v; the verdict is partially_committed or quarantined", o.Dataset, ErrInvalidInput, o.FailedPartitions)
	case o.State == registry.StatePartiallyCommitted && len(o.FailedPartitions) == 0 && o.Mode != FullRollback:
		return fmt.Errorf("dataset %q: %w: a partially_committed verdict lists no failed partitions; name the failed units (an unpartitioned dataset is committed, quarantined or rolled back)", o.Dataset, ErrInvalidInput)
	}
	return nil
}

func historyEntry(r registry.ExecutionRecord, now time.Time) (registry.ExecutionRecord, error) {
	switch {
	case strings.TrimSpace(r.IntentID) == "":
		return r, fmt.Errorf("project state: %w: the execution record has no intent_id", ErrInvalidInput)
	case strings.TrimSpace(r.Outcome) == "":
		return r, fmt.Errorf("project state of intent %s: %w: the execution record has no outcome; give the partial execution's overall_state", r.IntentID, ErrInvalidInput)
	case strings.TrimSpace(r.PolicyBundleVersion) == "":
		return r, fmt.Errorf("project state of intent %s: %w: the execution record has no policy_bundle_version; copy it from the signature's execution_context", r.IntentID, ErrInvalidInput)
	case r.ConsistencyUnit != "" && !slices.Contains(consistencyUnits, r.ConsistencyUnit):
		return r, fmt.Errorf("project state of intent %s: %w: consistency_unit %q is not one of %v", r.IntentID, ErrInvalidInput, r.ConsistencyUnit, consistencyUnits)
	}
	if r.Timestamp.IsZero() {
		r.Timestamp = now
	}
	return r, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// minus returns xs without the members of drop, sorted and unique.
func minus(xs []string, drop map[string]bool) []string {
	var out []string
	for _, x := range xs {
		if !drop[x] {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// union returns the sorted, unique union; nil when empty.
func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func clone(d registry.DatasetState) registry.DatasetState {
	d.PendingPartitions = slices.Clone(d.PendingPartitions)
	d.QuarantinedUnits = slices.Clone(d.QuarantinedUnits)
	return d
}

// equal compares two entries ignoring updated_at.
func equal(a, b registry.DatasetState) bool {
	return a.Name == b.Name && a.State == b.State && a.PublishAllowed == b.PublishAllowed &&
		a.LastSuccessfulPartition == b.LastSuccessfulPartition &&
		slices.Equal(a.PendingPartitions, b.PendingPartitions) && slices.Equal(a.QuarantinedUnits, b.QuarantinedUnits)
}
