package composite

import (
	"fmt"
	"slices"
	"strings"
)

// Levels returns the sub-intents in topological layers: layer 0 depends on
// nothing, layer n on at least one sub-intent of layer n-1 and nothing later.
// The sub-intents of one layer are independent and may run in parallel; each
// layer is sorted. It assumes a validated graph: a sub-intent on a cycle,
// which Validate rejects, would never be placed and is left out.
//
// Levels is for display and audit; a scheduler starts a sub-intent as soon
// as its own dependencies succeeded (Ready), not when its whole layer did.
func (g IntentGraph) Levels() [][]string {
	ids := g.IDs()
	indeg := make(map[string]int, len(ids))
	for _, id := range ids {
		indeg[id] = 0
	}
	edges := g.edges()
	for _, e := range edges {
		indeg[e.To]++
	}
	adj := adjacency(edges)
	var layer []string
	for _, id := range ids {
		if indeg[id] == 0 {
			layer = append(layer, id)
		}
	}
	var out [][]string
	for len(layer) > 0 {
		out = append(out, layer)
		var next []string
		for _, u := range layer {
			for _, v := range adj[u] {
				if indeg[v]--; indeg[v] == 0 {
					next = append(next, v)
				}
			}
		}
		layer = sortedUnique(next)
	}
	return out
}

// Ready returns the sub-intents that may start now: not yet started, and
// every direct dependency among succeeded. started holds every sub-intent
// already launched, whatever its outcome. A dependent of a failed
// sub-intent never becomes ready; Blocked names those. Sorted, never nil
// (an audit payload shows [] rather than null).
func (g IntentGraph) Ready(started, succeeded []string) []string {
	deps := map[string][]string{}
	for _, e := range g.edges() {
		deps[e.To] = append(deps[e.To], e.From)
	}
	out := []string{}
	for _, id := range g.IDs() {
		if slices.Contains(started, id) || slices.Contains(succeeded, id) {
			continue
		}
		ok := true
		for _, d := range deps[id] {
			if !slices.Contains(succeeded, d) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, id)
		}
	}
	return out
}

// Dependents returns every sub-intent that depends on id directly or
// transitively, sorted and never nil, without id itself. An unknown id has
// none.
func (g IntentGraph) Dependents(id string) []string {
	return g.reach([]string{id})
}

// Blocked returns the sub-intents that must not run because a dependency,
// direct or transitive, failed: the union of the failed sub-intents'
// Dependents, minus the failed ones themselves, sorted and never nil. This is the
// dag_branch consistency unit (ExecutionUnit): a failed branch stops only
// its dependents, and the sub-intents that do not depend on it go on.
// Unknown ids contribute nothing.
func (g IntentGraph) Blocked(failed []string) []string {
	out := []string{}
	for _, id := range g.reach(failed) {
		if !slices.Contains(failed, id) {
			out = append(out, id)
		}
	}
	return out
}

// reach returns the sub-intents reachable from the starts by at least one
// edge, sorted.
func (g IntentGraph) reach(starts []string) []string {
	adj := adjacency(g.edges())
	// No range over a map here: workflows call this, and workflowcheck
	// rightly flags map iteration.
	seen := map[string]bool{}
	out := []string{}
	queue := slices.Clone(starts)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range adj[u] {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
				queue = append(queue, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// edges returns the distinct dependencies, so a graph built in Go with a
// repeated edge (Validate rejects it) does not count it twice.
func (g IntentGraph) edges() []Dependency {
	var out []Dependency
	for _, d := range g.Dependencies {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// adjacency maps each sub-intent to its direct dependents, sorted.
func adjacency(edges []Dependency) map[string][]string {
	adj := map[string][]string{}
	for _, e := range edges {
		adj[e.From] = append(adj[e.From], e.To)
	}
	for _, k := range nodes(edges) {
		if v, ok := adj[k]; ok {
			adj[k] = sortedUnique(v)
		}
	}
	return adj
}

// nodes returns every id an edge names, sorted.
func nodes(edges []Dependency) []string {
	var ids []string
	for _, e := range edges {
		ids = append(ids, e.From, e.To)
	}
	return sortedUnique(ids)
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// DependsOn lists the sub-intents id depends on directly, in the order of
// the graph's dependencies.
func (g IntentGraph) DependsOn(id string) []string {
	out := []string{}
	for _, d := range g.Dependencies {
		if d.To == id {
			out = append(out, d.From)
		}
	}
	return out
}

// FailedDependencies names the failed sub-intents id depends on, directly
// or not, in the order of failed.
func (g IntentGraph) FailedDependencies(id string, failed []string) []string {
	var out []string
	for _, f := range failed {
		if slices.Contains(g.Dependents(f), id) {
			out = append(out, f)
		}
	}
	return out
}

// SkipReason says why sub-intent id was not started: the failed
// sub-intents it depends on.
func (g IntentGraph) SkipReason(id string, failed []string) string {
	return fmt.Sprintf("not started: dependency %s was not approved", strings.Join(g.FailedDependencies(id, failed), ", "))
}

// NoDecisionReason says that sub-intent id's workflow ended without a
// decision, and why.
func NoDecisionReason(id string, err error) string {
	return fmt.Sprintf("sub-intent %s ended without a decision: %v", id, err)
}
