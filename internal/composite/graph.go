package composite

import (
	"strings"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// ConsistencyUnit is the closed consistency_unit enum of whitepaper 5.5,
// owned by the Execution Planner; a composite's shared_context names one.
type ConsistencyUnit = planner.ConsistencyUnit

// The allowed consistency units, re-exported for graph authors.
const (
	UnitPartition  = planner.UnitPartition
	UnitDataset    = planner.UnitDataset
	UnitDagBranch  = planner.UnitDagBranch
	UnitTimeWindow = planner.UnitTimeWindow
)

// ExecutionUnit is the consistency unit a composite intent executes with,
// by the 5.5 selection rule "if composite_intent == true: dag_branch": a
// failure is contained to the failed sub-intent's dependents (Blocked).
const ExecutionUnit = UnitDagBranch

// IntentGraph is a composite intent (whitepaper 5.4). Parse returns one that
// has passed Validate; a graph built in Go must be validated by the caller
// before Levels, Ready, Dependents or Blocked are trusted.
type IntentGraph struct {
	RootIntent    string        `json:"root_intent" yaml:"root_intent"`
	SubIntents    []SubIntent   `json:"sub_intents" yaml:"sub_intents"`
	Dependencies  []Dependency  `json:"dependencies" yaml:"dependencies"`
	SharedContext SharedContext `json:"shared_context" yaml:"shared_context"`
}

// SubIntent is one node of the graph: either natural-language text for the
// Intent Normalizer (resolution.Resolve) or a signature naming datasets by
// catalog name (resolution.ResolveStructured), never both.
type SubIntent struct {
	ID        string               `json:"id" yaml:"id"`
	Intent    string               `json:"intent,omitempty" yaml:"intent,omitempty"`
	Signature *signature.Signature `json:"signature,omitempty" yaml:"signature,omitempty"`
}

// Dependency is the edge From -> To: To runs only after From succeeded. In
// YAML it is written as the string "from -> to".
type Dependency struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// String renders the edge as the YAML writes it.
func (d Dependency) String() string { return d.From + " -> " + d.To }

// SharedContext is what every sub-intent of the graph shares: the
// consistency unit and its key (for partition, the partition column).
type SharedContext struct {
	ConsistencyUnit ConsistencyUnit `json:"consistency_unit" yaml:"consistency_unit"`
	Key             string          `json:"key" yaml:"key"`
}

// SubIntent returns the sub-intent with that id.
func (g IntentGraph) SubIntent(id string) (SubIntent, bool) {
	for _, s := range g.SubIntents {
		if s.ID == id {
			return s, true
		}
	}
	return SubIntent{}, false
}

// IDs returns the sub-intent ids, sorted.
func (g IntentGraph) IDs() []string {
	ids := make([]string, 0, len(g.SubIntents))
	for _, s := range g.SubIntents {
		ids = append(ids, s.ID)
	}
	return sortedUnique(ids)
}

func unitList() string {
	names := make([]string, len(planner.ConsistencyUnits))
	for i, u := range planner.ConsistencyUnits {
		names[i] = string(u)
	}
	return strings.Join(names, ", ")
}
