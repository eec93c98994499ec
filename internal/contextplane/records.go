package contextplane

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/registry"
)

// Labels of the records this package makes.
const (
	LabelDataset   = "dataset"
	LabelPartition = "partition"
	LabelExecution = "execution"
	LabelSkill     = "skill"
	LabelPlan      = "plan"
)

// Link types of an execution's lineage.
const (
	LinkPlannedBy = "planned_by" // execution → plan
	LinkReads     = "reads"      // execution → dataset read
	LinkWrites    = "writes"     // execution → dataset written
)

// Partition states of a partition record.
const (
	PartitionCommitted   = "committed"
	PartitionPending     = "pending"
	PartitionQuarantined = "quarantined"
)

// DatasetID is the record id of a dataset's state.
func DatasetID(name string) string { return "dataset:" + name }

// PartitionID is the record id of one partition of a dataset.
func PartitionID(dataset, partition string) string { return "partition:" + dataset + "/" + partition }

// ExecutionID is the record id of an intent's execution.
func ExecutionID(intentID string) string { return "execution:" + intentID }

// SkillID is the record id of a skill.
func SkillID(key string) string { return "skill:" + key }

// PlanID is the record id of an execution plan (its hash).
func PlanID(hash string) string { return "plan:" + hash }

// LineageID is the link id of one lineage edge of an intent.
func LineageID(intentID, linkType, target string) string {
	return "lineage:" + intentID + ":" + linkType + ":" + target
}

// Skill is what the plane records of a skill (db.Skill without its
// signature bytes and timestamps).
type Skill struct {
	Key         string
	State       string
	Domain      string
	Intent      string
	Transitions int64
}

// The records below carry neither created_at nor integrity: the store
// sets created_at (the first version's commit time, kept by later
// versions) and then seals the record, so an unchanged state has the
// integrity of the version already stored and writes nothing.

// DatasetRecord is the record of one dataset's state in the registry.
func DatasetRecord(d registry.DatasetState) *cfspb.Record {
	props := map[string]*structpb.Value{
		"name":                      structpb.NewStringValue(d.Name),
		"state":                     structpb.NewStringValue(d.State),
		"publish_allowed":           structpb.NewBoolValue(d.PublishAllowed),
		"last_successful_partition": structpb.NewStringValue(d.LastSuccessfulPartition),
		"pending_partitions":        strings_(d.PendingPartitions),
		"quarantined_units":         strings_(d.QuarantinedUnits),
	}
	if !d.UpdatedAt.IsZero() {
		props["updated_at"] = structpb.NewStringValue(timeString(d.UpdatedAt))
	}
	return &cfspb.Record{RecordId: DatasetID(d.Name), Labels: []string{LabelDataset}, Props: props}
}

// DatasetStateOf is the registry state a dataset record carries: the
// inverse of DatasetRecord. ok is false for a record that is not a
// dataset's (another id or label); a dataset record whose props do not
// have DatasetRecord's shape is an error that names the prop.
func DatasetStateOf(r *cfspb.Record) (d registry.DatasetState, ok bool, err error) {
	name, found := strings.CutPrefix(r.GetRecordId(), "dataset:")
	if !found || !slices.Contains(r.GetLabels(), LabelDataset) {
		return registry.DatasetState{}, false, nil
	}
	props := r.GetProps()
	str := func(k string) (string, error) {
		v, has := props[k]
		if !has {
			return "", nil
		}
		if _, isStr := v.GetKind().(*structpb.Value_StringValue); !isStr {
			return "", fmt.Errorf("record %s: prop %s must be a string", r.GetRecordId(), k)
		}
		return v.GetStringValue(), nil
	}
	list := func(k string) ([]string, error) {
		v, has := props[k]
		if !has {
			return nil, nil
		}
		l, isList := v.GetKind().(*structpb.Value_ListValue)
		if !isList {
			return nil, fmt.Errorf("record %s: prop %s must be a list of strings", r.GetRecordId(), k)
		}
		out := make([]string, 0, len(l.ListValue.GetValues()))
		for _, x := range l.ListValue.GetValues() {
			sv, isStr := x.GetKind().(*structpb.Value_StringValue)
			if !isStr {
				return nil, fmt.Errorf("record %s: prop %s must be a list of strings", r.GetRecordId(), k)
			}
			out = append(out, sv.StringValue)
		}
		return out, nil
	}
	d.Name = name
	if n, err := str("name"); err != nil {
		return d, true, err
	} else if n != "" && n != name {
		return d, true, fmt.Errorf("record %s: prop name %q differs from the id", r.GetRecordId(), n)
	}
	if d.State, err = str("state"); err != nil {
		return d, true, err
	}
	if d.LastSuccessfulPartition, err = str("last_successful_partition"); err != nil {
		return d, true, err
	}
	if v, has := props["publish_allowed"]; has {
		b, isBool := v.GetKind().(*structpb.Value_BoolValue)
		if !isBool {
			return d, true, fmt.Errorf("record %s: prop publish_allowed must be a boolean", r.GetRecordId())
		}
		d.PublishAllowed = b.BoolValue
	}
	if d.PendingPartitions, err = list("pending_partitions"); err != nil {
		return d, true, err
	}
	if d.QuarantinedUnits, err = list("quarantined_units"); err != nil {
		return d, true, err
	}
	at, err := str("updated_at")
	if err != nil {
		return d, true, err
	}
	if at != "" {
		if d.UpdatedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return d, true, fmt.Errorf("record %s: prop updated_at: %w", r.GetRecordId(), err)
		}
	}
	return d, true, nil
}

// PartitionRecords are the records of the partitions a dataset's state
// names, by partition: quarantined over pending over committed (the last
// successful one), sorted by partition.
func PartitionRecords(d registry.DatasetState) []*cfspb.Record {
	state := map[string]string{}
	if d.LastSuccessfulPartition != "" {
		state[d.LastSuccessfulPartition] = PartitionCommitted
	}
	for _, p := range d.PendingPartitions {
		state[p] = PartitionPending
	}
	for _, p := range d.QuarantinedUnits {
		state[p] = PartitionQuarantined
	}
	parts := make([]string, 0, len(state))
	for p := range state {
		if p != "" {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	out := make([]*cfspb.Record, 0, len(parts))
	for _, p := range parts {
		out = append(out, &cfspb.Record{
			RecordId: PartitionID(d.Name, p),
			Labels:   []string{LabelPartition},
			Props: map[string]*structpb.Value{
				"dataset":   structpb.NewStringValue(d.Name),
				"partition": structpb.NewStringValue(p),
				"state":     structpb.NewStringValue(state[p]),
			},
		})
	}
	return out
}

// ExecutionRecord is the record of one execution_history entry.
func ExecutionRecord(h registry.ExecutionRecord) *cfspb.Record {
	return &cfspb.Record{
		RecordId: ExecutionID(h.IntentID),
		Labels:   []string{LabelExecution},
		Props: map[string]*structpb.Value{
			"intent_id":             structpb.NewStringValue(h.IntentID),
			"outcome":               structpb.NewStringValue(h.Outcome),
			"consistency_unit":      structpb.NewStringValue(h.ConsistencyUnit),
			"timestamp":             structpb.NewStringValue(timeString(h.Timestamp)),
			"policy_bundle_version": structpb.NewStringValue(h.PolicyBundleVersion),
		},
	}
}

// SkillRecord is the record of a skill of the lifecycle registry.
func SkillRecord(s Skill) *cfspb.Record {
	return &cfspb.Record{
		RecordId: SkillID(s.Key),
		Labels:   []string{LabelSkill},
		Props: map[string]*structpb.Value{
			"skill_id":    structpb.NewStringValue(s.Key),
			"state":       structpb.NewStringValue(s.State),
			"domain":      structpb.NewStringValue(s.Domain),
			"intent":      structpb.NewStringValue(s.Intent),
			"transitions": structpb.NewNumberValue(float64(s.Transitions)),
		},
	}
}

// PlanRecord is the record of an execution plan.
func PlanRecord(p planner.ExecutionPlan) *cfspb.Record {
	targets := []string{}
	for _, t := range p.PerTarget() {
		if t.Target != "" {
			targets = append(targets, t.Target)
		}
	}
	return &cfspb.Record{
		RecordId: PlanID(p.Hash),
		Labels:   []string{LabelPlan},
		Props: map[string]*structpb.Value{
			"hash":                     structpb.NewStringValue(p.Hash),
			"intent":                   structpb.NewStringValue(p.Intent),
			"intent_signature_hash":    structpb.NewStringValue(p.SignatureHash),
			"catalog_snapshot_version": structpb.NewStringValue(p.CatalogSnapshotVersion),
			"consistency_unit":         structpb.NewStringValue(string(p.ConsistencyUnit)),
			"targets":                  strings_(targets),
		},
	}
}

// Reads and Writes list the datasets a plan reads and writes, sorted:
// it writes the target of each per-target plan (none for a read plan) and
// reads every other dataset its steps name.
func Reads(p planner.ExecutionPlan) []string {
	written := Writes(p)
	var out []string
	for _, t := range p.PerTarget() {
		for _, s := range t.Steps {
			if s.Dataset == "" || s.Kind == planner.KindLoad || s.Kind == planner.KindPublish || slices.Contains(written, s.Dataset) {
				continue
			}
			out = append(out, s.Dataset)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Writes lists the datasets a plan writes (or publishes), sorted.
func Writes(p planner.ExecutionPlan) []string {
	var out []string
	for _, t := range p.PerTarget() {
		if t.Target != "" {
			out = append(out, t.Target)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Lineage is the links of an intent's execution: execution → plan
// (planned_by), execution → each dataset read (reads) and written
// (writes), valid from at (zero: the commit time, set by the store) and
// open. assertion is their provenance: the registry snapshot that
// projected the execution.
func Lineage(intentID string, p planner.ExecutionPlan, at time.Time, assertion string) []*cfspb.Link {
	src := ExecutionID(intentID)
	link := func(typ, target string) *cfspb.Link {
		l := &cfspb.Link{
			LinkId:      LineageID(intentID, typ, target),
			Type:        typ,
			Source:      src,
			Target:      target,
			Props:       map[string]*structpb.Value{"intent_id": structpb.NewStringValue(intentID)},
			AssertionId: assertion,
		}
		if !at.IsZero() {
			l.Valid = &cfspb.Interval{From: timestamp(at)}
		}
		return l
	}
	var out []*cfspb.Link
	if p.Hash != "" {
		out = append(out, link(LinkPlannedBy, PlanID(p.Hash)))
	}
	for _, d := range Reads(p) {
		out = append(out, link(LinkReads, DatasetID(d)))
	}
	for _, d := range Writes(p) {
		if !p.Read() {
			out = append(out, link(LinkWrites, DatasetID(d)))
		}
	}
	return out
}

// ProjectionMutations are the puts that mirror a committed snapshot: the
// record of every dataset and of the partitions it names, and of every
// execution in history. The store writes only the ones that changed.
func ProjectionMutations(env registry.EnvironmentState, history []registry.ExecutionRecord) []*cfspb.Mutation {
	var out []*cfspb.Mutation
	put := func(r *cfspb.Record) {
		out = append(out, &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: r}})
	}
	datasets := slices.Clone(env.Datasets)
	slices.SortFunc(datasets, func(a, b registry.DatasetState) int { return strings.Compare(a.Name, b.Name) })
	for _, d := range datasets {
		put(DatasetRecord(d))
		for _, r := range PartitionRecords(d) {
			put(r)
		}
	}
	seen := map[string]bool{}
	for _, h := range history {
		if h.IntentID == "" || seen[h.IntentID] {
			continue // one version per id per commit: the first entry wins
		}
		seen[h.IntentID] = true
		put(ExecutionRecord(h))
	}
	return out
}

// LineageMutations are the puts of an execution's plan record and
// lineage links.
func LineageMutations(intentID string, p planner.ExecutionPlan, at time.Time, assertion string) []*cfspb.Mutation {
	var out []*cfspb.Mutation
	if p.Hash != "" {
		out = append(out, &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: PlanRecord(p)}})
	}
	for _, l := range Lineage(intentID, p, at, assertion) {
		out = append(out, &cfspb.Mutation{Change: &cfspb.Mutation_PutLink{PutLink: l}})
	}
	return out
}

func strings_(s []string) *structpb.Value {
	vs := make([]*structpb.Value, 0, len(s))
	for _, x := range s {
		vs = append(vs, structpb.NewStringValue(x))
	}
	return structpb.NewListValue(&structpb.ListValue{Values: vs})
}

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
