package composite

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// locator gives the YAML line of a part of the graph; Parse supplies one,
// Validate on a graph built in Go has none and reports line 0.
type locator interface {
	root() int
	subIntent(i int) int
	dependency(i int) int
	unit() int
	key() int
}

type noLines struct{}

func (noLines) root() int          { return 0 }
func (noLines) subIntent(int) int  { return 0 }
func (noLines) dependency(int) int { return 0 }
func (noLines) unit() int          { return 0 }
func (noLines) key() int           { return 0 }

// Validate checks the graph and reports every problem at once, joined, each
// an *Error wrapping ErrInvalid:
//   - root_intent and every sub-intent id are non-empty snake_case; ids are
//     unique and differ from root_intent (child workflows and audit records
//     are named after them);
//   - each sub-intent has exactly one of intent (text) and signature;
//   - each dependency names two known, distinct sub-intents and appears
//     once (a repeated edge is rejected, not merged: docs/adr/0071);
//   - the dependencies form no cycle; each cycle is named by its path,
//     starting at its smallest id, e.g. "a -> b -> c -> a";
//   - shared_context.consistency_unit is in the closed enum and key is
//     snake_case.
//
// Signatures are not checked against the catalog here: resolution does
// that when the sub-intent is submitted.
func (g IntentGraph) Validate() error {
	if err := g.validate(noLines{}); err != nil {
		return fmt.Errorf("validate intent graph %q: %w", g.RootIntent, err)
	}
	return nil
}

func (g IntentGraph) validate(at locator) error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }

	switch {
	case g.RootIntent == "":
		add(&Error{Line: at.root(), Code: CodeMissing, Problem: "root_intent is empty", Fix: "name the composite intent in snake_case, e.g. root_intent: fiscal_reconciliation_publish"})
	case !snakeCase.MatchString(g.RootIntent):
		add(&Error{Line: at.root(), Code: CodeInvalidID, Problem: fmt.Sprintf("root_intent %q is not snake_case", g.RootIntent), Fix: "use lower-case letters, digits and underscores, starting with a letter"})
	}

	if len(g.SubIntents) == 0 {
		add(&Error{Line: at.root(), Code: CodeMissing, Problem: "no sub_intents", Fix: "list the sub-intents, each with an id and an intent (text) or a signature"})
	}
	known := map[string]int{} // id -> index of first declaration
	for i, s := range g.SubIntents {
		line := at.subIntent(i)
		switch {
		case s.ID == "":
			add(&Error{Line: line, Code: CodeMissing, Problem: fmt.Sprintf("sub-intent #%d has no id", i+1), Fix: "give it a snake_case id, e.g. id: ingest_nfe"})
		case !snakeCase.MatchString(s.ID):
			add(&Error{Line: line, Code: CodeInvalidID, SubIntent: s.ID, Problem: fmt.Sprintf("sub-intent id %q is not snake_case", s.ID), Fix: "use lower-case letters, digits and underscores, starting with a letter"})
		case s.ID == g.RootIntent:
			add(&Error{Line: line, Code: CodeDuplicateID, SubIntent: s.ID, Problem: fmt.Sprintf("sub-intent id %q is the root_intent's name", s.ID), Fix: "rename the sub-intent; the root and its sub-intents are audited under distinct names"})
		default:
			if first, dup := known[s.ID]; dup {
				add(&Error{Line: line, Code: CodeDuplicateID, SubIntent: s.ID, Problem: fmt.Sprintf("sub-intent id %q is declared twice (first%s)", s.ID, lineRef(at.subIntent(first))), Fix: "rename one of them or delete the duplicate"})
			} else {
				known[s.ID] = i
			}
		}
		hasText := strings.TrimSpace(s.Intent) != ""
		switch {
		case hasText && s.Signature != nil:
			add(&Error{Line: line, Code: CodeIntentForm, SubIntent: s.ID, Problem: fmt.Sprintf("sub-intent %q has both intent and signature", s.ID), Fix: "keep one: intent for text the normalizer resolves, signature for a structured intent"})
		case !hasText && s.Signature == nil:
			add(&Error{Line: line, Code: CodeIntentForm, SubIntent: s.ID, Problem: fmt.Sprintf("sub-intent %q has neither intent nor signature", s.ID), Fix: "add intent: with what to do, e.g. \"ingest nfe since 2026-01-01\", or a signature: mapping"})
		}
	}

	var edges []Dependency // well-formed, known, distinct: the ones cycle detection uses
	seenEdge := map[Dependency]int{}
	for i, d := range g.Dependencies {
		line := at.dependency(i)
		if d.From == "" || d.To == "" {
			add(&Error{Line: line, Code: CodeMissing, Problem: fmt.Sprintf("dependency %q lacks a side", d.String()), Fix: "write it as \"from -> to\" with two sub-intent ids"})
			continue
		}
		var unknown []string
		for _, id := range []string{d.From, d.To} {
			if _, ok := known[id]; !ok && !slices.Contains(unknown, id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			add(&Error{Line: line, Code: CodeDanglingDependency, SubIntent: unknown[0], Problem: fmt.Sprintf("dependency %q names %s, not a sub-intent of this graph", d.String(), quoteAll(unknown)), Fix: fmt.Sprintf("declare it under sub_intents or use one of %s", strings.Join(sortedKeys(known), ", "))})
			continue
		}
		if d.From == d.To {
			add(&Error{Line: line, Code: CodeSelfDependency, SubIntent: d.From, Cycle: []string{d.From, d.From}, Problem: fmt.Sprintf("sub-intent %q depends on itself", d.From), Fix: "delete this dependency; a sub-intent cannot wait for its own result"})
			continue
		}
		if first, dup := seenEdge[d]; dup {
			add(&Error{Line: line, Code: CodeDuplicateDependency, SubIntent: d.To, Problem: fmt.Sprintf("dependency %q is declared twice (first%s)", d.String(), lineRef(at.dependency(first))), Fix: "delete the repeated entry"})
			continue
		}
		seenEdge[d] = i
		edges = append(edges, d)
	}
	for _, c := range cycles(edges) {
		first := slices.Index(g.Dependencies, Dependency{From: c[0], To: c[1]})
		add(&Error{Line: at.dependency(first), Code: CodeCycle, SubIntent: c[0], Cycle: c, Problem: "dependencies form a cycle: " + strings.Join(c, " -> "), Fix: "remove one of these dependencies so each sub-intent runs after the ones it needs"})
	}

	sc := g.SharedContext
	if !sc.ConsistencyUnit.Valid() {
		p := fmt.Sprintf("shared_context.consistency_unit %q is not in the closed enum", sc.ConsistencyUnit)
		if sc.ConsistencyUnit == "" {
			p = "shared_context.consistency_unit is missing"
		}
		add(&Error{Line: at.unit(), Code: CodeInvalidConsistency, Problem: p, Fix: "use one of " + unitList() + " (whitepaper 5.5)"})
	}
	switch {
	case sc.Key == "":
		add(&Error{Line: at.key(), Code: CodeMissing, Problem: "shared_context.key is missing", Fix: "name what the sub-intents share, e.g. key: processing_date"})
	case !snakeCase.MatchString(sc.Key):
		add(&Error{Line: at.key(), Code: CodeInvalidID, Problem: fmt.Sprintf("shared_context.key %q is not snake_case", sc.Key), Fix: "use the column or dataset name as the catalog writes it, e.g. processing_date"})
	}

	if len(errs) == 0 {
		return nil
	}
	// Report in file order when lines are known; the stable sort keeps the
	// traversal order otherwise.
	slices.SortStableFunc(errs, func(a, b error) int { return a.(*Error).Line - b.(*Error).Line })
	return errors.Join(errs...)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func lineRef(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(" at line %d", line)
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, " and ")
}

// cycles finds the cycles of a graph of distinct, non-self edges by a
// depth-first search in sorted order, so the answer does not depend on the
// order of the input. Each back edge closes one cycle; a cycle is rotated
// to start at its smallest id and reported once.
func cycles(edges []Dependency) [][]string {
	adj := adjacency(edges)
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var (
		stack []string
		found [][]string
		seen  = map[string]bool{}
	)
	var visit func(string)
	visit = func(u string) {
		color[u] = grey
		stack = append(stack, u)
		for _, v := range adj[u] {
			switch color[v] {
			case white:
				visit(v)
			case grey:
				at := slices.Index(stack, v)
				c := rotate(slices.Clone(stack[at:]))
				key := strings.Join(c, "\x00")
				if !seen[key] {
					seen[key] = true
					found = append(found, append(c, c[0]))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[u] = black
	}
	for _, u := range nodes(edges) {
		if color[u] == white {
			visit(u)
		}
	}
	return found
}

// rotate turns a cycle so it starts at its smallest id.
func rotate(c []string) []string {
	m := slices.Index(c, slices.Min(c))
	return append(c[m:], c[:m]...)
}
