package partialexecution

import (
	"slices"

	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
)

// DatasetOutcome is what one execution did to one dataset it wrote: the
// registry-facing result of 5.9/5.10 as this execution alone determines it.
// Merging it into the registry's current entry (earlier pending units, the
// TTL clock) is State Projection's job: pass Projection() to
// projection.Project.
type DatasetOutcome struct {
	Dataset string `json:"dataset" yaml:"dataset"`
	// State is committed (every unit committed), partially_committed,
	// quarantined (nothing committed, failed units isolated) or rolled_back
	// (nothing committed, nothing kept).
	State OverallState `json:"state" yaml:"state"`
	// PublishAllowed: the dataset may be published as trusted; only when
	// every one of its units committed (I7).
	PublishAllowed bool `json:"publish_allowed" yaml:"publish_allowed"`
	// PublishStatus is the status of the partitions committed here, before
	// the registry's earlier state is taken into account (PublishStatusAfter
	// does that); "" when nothing was committed.
	PublishStatus           PublishStatus `json:"publish_status,omitempty" yaml:"publish_status,omitempty"`
	LastSuccessfulPartition string        `json:"last_successful_partition,omitempty" yaml:"last_successful_partition,omitempty"`
	// PendingPartitions are the units not committed (failed, and under
	// full_rollback the discarded successful ones too).
	PendingPartitions []string `json:"pending_partitions,omitempty" yaml:"pending_partitions,omitempty"`
	QuarantinedUnits  []string `json:"quarantined_units,omitempty" yaml:"quarantined_units,omitempty"`
	// CommittedPartitions and FailedPartitions split the units by result.
	CommittedPartitions []string `json:"committed_partitions,omitempty" yaml:"committed_partitions,omitempty"`
	FailedPartitions    []string `json:"failed_partitions,omitempty" yaml:"failed_partitions,omitempty"`
	Mode                Mode     `json:"mode" yaml:"mode"`
	PublishRequested    bool     `json:"publish_requested" yaml:"publish_requested"`
	// DegradedAllowed: the mode publishes a partial result as degraded.
	DegradedAllowed bool `json:"degraded_allowed" yaml:"degraded_allowed"`
}

// datasetOutcomes builds one DatasetOutcome per dataset written; actions
// are sorted by unit, so each list comes out sorted.
func datasetOutcomes(p Policy, run Run, actions []UnitAction) []DatasetOutcome {
	var out []DatasetOutcome
	for _, a := range actions {
		if n := len(out); n == 0 || out[n-1].Dataset != a.Dataset {
			out = append(out, DatasetOutcome{
				Dataset:          a.Dataset,
				Mode:             p.Mode,
				PublishRequested: run.PublishRequested,
				DegradedAllowed:  p.PublishOnPartialSuccess,
			})
		}
		d := &out[len(out)-1]
		if a.Status == StatusFailed {
			d.FailedPartitions = append(d.FailedPartitions, a.Key)
		}
		switch a.Action {
		case ActionCommit:
			d.CommittedPartitions = append(d.CommittedPartitions, a.Key)
			if run.ConsistencyUnit.Type.ordered() {
				d.LastSuccessfulPartition = max(d.LastSuccessfulPartition, a.Key)
			}
		case ActionQuarantine:
			d.QuarantinedUnits = append(d.QuarantinedUnits, a.Key)
			d.PendingPartitions = append(d.PendingPartitions, a.Key)
		case ActionDiscard:
			d.PendingPartitions = append(d.PendingPartitions, a.Key)
		}
	}
	for i := range out {
		d := &out[i]
		switch {
		case len(d.PendingPartitions) == 0:
			d.State = OverallCommitted
		case len(d.CommittedPartitions) > 0:
			d.State = OverallPartiallyCommitted
		case len(d.QuarantinedUnits) > 0:
			d.State = OverallQuarantined
		default:
			d.State = OverallRolledBack
		}
		d.PublishAllowed = d.State == OverallCommitted
		d.PublishStatus = d.PublishStatusAfter(string(d.State))
	}
	return out
}

// PublishStatusAfter is the publish status of the partitions this execution
// committed, once the registry entry has been projected to registryState:
// published only if the dataset ended committed and the intent asked to
// publish; degraded if it ended partially committed under degraded_publish
// and the intent asked; else committed_not_published. "" when nothing was
// committed (never publish without write). Use it for the publication rows
// of the committed partitions.
func (d DatasetOutcome) PublishStatusAfter(registryState string) PublishStatus {
	if len(d.CommittedPartitions) == 0 {
		return ""
	}
	switch {
	case registryState == registry.StateCommitted && d.PublishRequested:
		return Published
	case registryState == registry.StatePartiallyCommitted && d.PublishRequested && d.DegradedAllowed:
		return Degraded
	}
	return CommittedNotPublished
}

// Projection converts d into State Projection's input (docs/adr/0087):
// the verdict, the permission to publish, the mode, and the committed and
// not-committed units. A rolled-back dataset is given as partially
// committed with every unit not committed: projection leaves the entry as
// it was under full_rollback, and marks the discarded units pending under
// the other modes. A committed dataset carries no mode: no partial failure
// policy was applied to it.
func (d DatasetOutcome) Projection() projection.Outcome {
	o := projection.Outcome{
		Dataset:             d.Dataset,
		PublishAllowed:      d.PublishAllowed,
		Mode:                projection.Mode(d.Mode),
		CommittedPartitions: slices.Clone(d.CommittedPartitions),
		FailedPartitions:    slices.Clone(d.PendingPartitions),
	}
	switch d.State {
	case OverallCommitted:
		o.State, o.Mode = registry.StateCommitted, ""
	case OverallQuarantined:
		o.State = registry.StateQuarantined
	default:
		o.State = registry.StatePartiallyCommitted
	}
	return o
}

// Projections returns the State Projection input of every dataset of o.
func (o Outcome) Projections() []projection.Outcome {
	out := make([]projection.Outcome, len(o.Datasets))
	for i, d := range o.Datasets {
		out[i] = d.Projection()
	}
	return out
}
