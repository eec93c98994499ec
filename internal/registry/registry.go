// Package registry holds the read model of the Context Registry
// (whitepaper 5.9): environment_state per dataset and execution_history,
// versioned by snapshot.
package registry

import (
	"slices"
	"time"
)

// Dataset states the registry tracks.
const (
	StateCommitted          = "committed"
	StatePartiallyCommitted = "partially_committed"
	StateStale              = "stale"
	StateQuarantined        = "quarantined"
	StateUnknown            = "unknown" // never written by a projection
)

// DatasetState is one entry of environment_state.datasets.
type DatasetState struct {
	Name                    string    `json:"name" yaml:"name"`
	State                   string    `json:"state" yaml:"state"`
	PublishAllowed          bool      `json:"publish_allowed" yaml:"publish_allowed"`
	LastSuccessfulPartition string    `json:"last_successful_partition,omitempty" yaml:"last_successful_partition,omitempty"`
	PendingPartitions       []string  `json:"pending_partitions,omitempty" yaml:"pending_partitions,omitempty"`
	QuarantinedUnits        []string  `json:"quarantined_units,omitempty" yaml:"quarantined_units,omitempty"`
	UpdatedAt               time.Time `json:"updated_at" yaml:"updated_at"`
}

// ExecutionRecord is one entry of execution_history.
type ExecutionRecord struct {
	IntentID            string    `json:"intent_id" yaml:"intent_id"`
	Outcome             string    `json:"outcome" yaml:"outcome"`
	ConsistencyUnit     string    `json:"consistency_unit,omitempty" yaml:"consistency_unit,omitempty"`
	Timestamp           time.Time `json:"timestamp" yaml:"timestamp"`
	PolicyBundleVersion string    `json:"policy_bundle_version" yaml:"policy_bundle_version"`
}

// EnvironmentState is one committed snapshot of the registry: the
// latest_committed_before_intent_resolution that the Normalizer reads (I3).
type EnvironmentState struct {
	VersionID   string         `json:"version_id" yaml:"version_id"`
	CommittedAt time.Time      `json:"committed_at" yaml:"committed_at"`
	Datasets    []DatasetState `json:"datasets" yaml:"datasets"` // sorted by name
}

// Dataset returns the state of the named dataset, if the snapshot has one.
func (e EnvironmentState) Dataset(name string) (DatasetState, bool) {
	for _, d := range e.Datasets {
		if d.Name == name {
			return d, true
		}
	}
	return DatasetState{}, false
}

// Clone returns a deep copy: a snapshot is immutable, so whoever may change
// what they are given (a plug-in) gets a copy.
func (e EnvironmentState) Clone() EnvironmentState {
	c := e
	if e.Datasets == nil {
		return c
	}
	c.Datasets = make([]DatasetState, len(e.Datasets))
	for i, d := range e.Datasets {
		d.PendingPartitions = slices.Clone(d.PendingPartitions)
		d.QuarantinedUnits = slices.Clone(d.QuarantinedUnits)
		c.Datasets[i] = d
	}
	return c
}
