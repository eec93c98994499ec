package precost

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// GiB is the byte size of one gibibyte; the catalog's sizes are binary.
const GiB = 1 << 30

// Model holds the declared coefficients of the cost model (docs/adr/0050).
// Weights are relative to one GiB read sequentially; GiBPerDBU turns the
// weighted GiB into DBU. DefaultModel returns the shipped values.
type Model struct {
	// GiBPerDBU defines the unit: 1 DBU is the work of scanning this many
	// GiB sequentially on the reference Postgres worker.
	GiBPerDBU float64 `json:"gib_per_dbu"`
	// ScanWeight prices a GiB read from a source, or from the target
	// partitions a merge must match against.
	ScanWeight float64 `json:"scan_weight"`
	// AnonymizeWeight prices a GiB passed through sha256 of PII columns.
	AnonymizeWeight float64 `json:"anonymize_weight"`
	// ShuffleWeight prices a GiB that passes through a hash or sort node
	// (a non-broadcast join, an aggregate, a dedupe): spilled, not streamed.
	ShuffleWeight float64 `json:"shuffle_weight"`
	// WriteWeight prices a GiB written by partition overwrite.
	WriteWeight float64 `json:"write_weight"`
	// MergeWeight prices a GiB written by MERGE on the merge key (index
	// probe, then insert or update).
	MergeWeight float64 `json:"merge_weight"`
	// BroadcastGiB: a join side scanned below this size is held in memory
	// (broadcast) and shuffles nothing.
	BroadcastGiB float64 `json:"broadcast_gib"`
	// AggregateOutputFraction is the share of an aggregate's input it writes.
	AggregateOutputFraction float64 `json:"aggregate_output_fraction"`
	// DefaultPartitionSpanDays is how many days of partitions a partitioned
	// dataset holds when PartitionSpanDays does not name it.
	DefaultPartitionSpanDays int `json:"default_partition_span_days"`
	// PartitionSpanDays overrides the span per dataset name.
	PartitionSpanDays map[string]int `json:"partition_span_days,omitempty"`
}

// DefaultModel returns the shipped coefficients (docs/adr/0050).
func DefaultModel() Model {
	return Model{
		GiBPerDBU:                64,
		ScanWeight:               1,
		AnonymizeWeight:          0.5,
		ShuffleWeight:            4,
		WriteWeight:              2,
		MergeWeight:              3,
		BroadcastGiB:             1,
		AggregateOutputFraction:  0.01,
		DefaultPartitionSpanDays: 365,
	}
}

// validate says which coefficient is wrong and what it must be.
func (m Model) validate() error {
	positive := []struct {
		name string
		v    float64
	}{
		{"gib_per_dbu", m.GiBPerDBU}, {"scan_weight", m.ScanWeight}, {"anonymize_weight", m.AnonymizeWeight},
		{"shuffle_weight", m.ShuffleWeight}, {"write_weight", m.WriteWeight}, {"merge_weight", m.MergeWeight},
		{"broadcast_gib", m.BroadcastGiB},
	}
	for _, p := range positive {
		if !(p.v > 0) || math.IsInf(p.v, 0) {
			return fmt.Errorf("model %s is %v: set a finite number above 0 (DefaultModel has the shipped value)", p.name, p.v)
		}
	}
	if !(m.AggregateOutputFraction > 0 && m.AggregateOutputFraction <= 1) {
		return fmt.Errorf("model aggregate_output_fraction is %v: set a fraction in (0, 1]", m.AggregateOutputFraction)
	}
	if m.DefaultPartitionSpanDays < 1 {
		return fmt.Errorf("model default_partition_span_days is %d: set at least 1 day", m.DefaultPartitionSpanDays)
	}
	for _, name := range slices.Sorted(maps.Keys(m.PartitionSpanDays)) { // sorted: the same error every run
		if d := m.PartitionSpanDays[name]; d < 1 {
			return fmt.Errorf("model partition_span_days[%q] is %d: set at least 1 day", name, d)
		}
	}
	return nil
}

func (m Model) spanDays(dataset string) int {
	if d, ok := m.PartitionSpanDays[dataset]; ok {
		return d
	}
	return m.DefaultPartitionSpanDays
}

// Part is one dataset as the model sees it, resolved from the catalog.
type Part struct {
	Name    string  `json:"name"`
	SizeGiB float64 `json:"size_gib"`
	// PartitionKey is the catalog's partition key, "" when unpartitioned.
	PartitionKey string `json:"partition_key,omitempty"`
	// SpanDays is how many days of partitions the dataset holds; a
	// temporal filter of N days reads N/SpanDays of it.
	SpanDays int `json:"span_days,omitempty"`
	// Anonymized: the intent hashes some of its PII columns.
	Anonymized bool `json:"anonymized,omitempty"`
}

// Shape is what the model prices: the signature's datasets and operations
// resolved against the catalog. It travels inside an Estimate so Evaluate
// can reprice the intent under a narrower filter without the catalog.
type Shape struct {
	Sources   []Part `json:"sources"`           // sorted by name
	Targets   []Part `json:"targets,omitempty"` // sorted by name
	Join      bool   `json:"join,omitempty"`    // join or enrich over two or more sources
	Dedupe    bool   `json:"dedupe,omitempty"`
	Aggregate bool   `json:"aggregate,omitempty"`
	Merge     bool   `json:"merge,omitempty"` // writes MERGE on the merge key
	// FilterColumn is the temporal filter's column or, with no filter, the
	// partition key of the largest partitioned source: the column a
	// filter hint would bound (as resolution and policy choose it).
	FilterColumn string `json:"filter_column,omitempty"`
	// FilterDays is the number of days the signature's filter covers, 0
	// when it has none or it bounds nothing (only an upper date).
	FilterDays int `json:"filter_days,omitempty"`
	// Model is the coefficients used, without the per-dataset spans (Parts
	// carry their span).
	Model Model `json:"model"`
}

// Breakdown is the model's figures for one shape and filter.
type Breakdown struct {
	ScanGiB      float64 `json:"scan_gib"`       // sources read after partition pruning
	MergeReadGiB float64 `json:"merge_read_gib"` // target partitions a merge matches against
	AnonymizeGiB float64 `json:"anonymize_gib"`  // bytes hashed
	ShuffleGiB   float64 `json:"shuffle_gib"`    // bytes through hash or sort nodes
	WriteGiB     float64 `json:"write_gib"`      // bytes written to targets
	DBU          float64 `json:"dbu"`
}

// Price returns the model's cost of the shape when its filter covers days
// days (0: no filter). It is non-decreasing in days and in every part's
// size, which TestModelIsMonotonic checks over random shapes.
func (s Shape) Price(days int) Breakdown {
	m := s.Model
	var b Breakdown
	var buf [8]float64
	scanned := buf[:0]
	for _, p := range s.Sources {
		g := p.SizeGiB * s.selectivity(p, days)
		scanned = append(scanned, g)
		b.ScanGiB += g
		if p.Anonymized {
			b.AnonymizeGiB += g
		}
	}
	if s.Join && len(scanned) >= 2 {
		b.ShuffleGiB += joinShuffle(scanned, m.BroadcastGiB)
	}
	// Rows flowing out of the join: bounded above by every side together.
	flow := b.ScanGiB
	if s.Dedupe {
		b.ShuffleGiB += flow
	}
	if s.Aggregate {
		b.ShuffleGiB += flow
		flow *= m.AggregateOutputFraction
	}
	writeWeight := m.WriteWeight
	if s.Merge {
		writeWeight = m.MergeWeight
	}
	for _, t := range s.Targets {
		b.WriteGiB += flow
		if s.Merge {
			b.MergeReadGiB += t.SizeGiB * s.selectivity(t, days)
		}
	}
	b.DBU = ((b.ScanGiB+b.MergeReadGiB)*m.ScanWeight +
		b.AnonymizeGiB*m.AnonymizeWeight +
		b.ShuffleGiB*m.ShuffleWeight +
		b.WriteGiB*writeWeight) / m.GiBPerDBU
	return b
}

// selectivity is the share of p a filter of days days reads: days over the
// dataset's span when it is partitioned by the filter column, else all.
func (s Shape) selectivity(p Part, days int) float64 {
	if days <= 0 || p.PartitionKey == "" || p.PartitionKey != s.FilterColumn || p.SpanDays <= 0 {
		return 1
	}
	return min(1, float64(days)/float64(p.SpanDays))
}

// joinShuffle prices a join: the largest side is the probe side; a side
// below broadcastGiB is broadcast and shuffles nothing; if any other side
// is too big to broadcast, it and the probe side are both shuffled.
func joinShuffle(sides []float64, broadcastGiB float64) float64 {
	probe := 0
	for i, g := range sides {
		if g > sides[probe] {
			probe = i
		}
	}
	var shuffled float64
	hashed := false
	for i, g := range sides {
		if i != probe && g >= broadcastGiB {
			shuffled += g
			hashed = true
		}
	}
	if !hashed {
		return 0
	}
	return shuffled + sides[probe]
}

// filterable reports whether a filter on FilterColumn reads less of some
// source, and the longest span among those sources.
func (s Shape) filterable() (maxSpan int, ok bool) {
	for _, p := range s.Sources {
		if s.FilterColumn != "" && p.PartitionKey == s.FilterColumn && p.SpanDays > 0 {
			maxSpan = max(maxSpan, p.SpanDays)
			ok = true
		}
	}
	return maxSpan, ok
}

// WrittenDBU is the real cost of an execution measured by the bytes it
// wrote: each byte was read once and written once (merge or overwrite).
// The Sandbox measures bytes, not scans, so this is the floor of the
// model's price for the same volume (docs/adr/0095).
func (m Model) WrittenDBU(bytes int64, merge bool) float64 {
	if bytes <= 0 || m.GiBPerDBU <= 0 {
		return 0
	}
	w := m.WriteWeight
	if merge {
		w = m.MergeWeight
	}
	return float64(bytes) / GiB * (m.ScanWeight + w) / m.GiBPerDBU
}
