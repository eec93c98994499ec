package composite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/signature"
)

// document is the file's shape: the whitepaper's intent_graph: mapping.
type document struct {
	IntentGraph *IntentGraph `yaml:"intent_graph"`
}

// Parse reads one intent graph written as in whitepaper 5.4 (a top-level
// intent_graph: mapping, dependencies as "from -> to" strings), decodes it
// strictly (an unknown field is an error, not a silent default) and
// validates it. Every problem is reported at once, as *Error values
// wrapping ErrInvalid, located by line and saying what to change.
func Parse(data []byte) (IntentGraph, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return IntentGraph{}, fail(&Error{Code: CodeMissing, Problem: "the file is empty", Fix: "write a top-level intent_graph: mapping with root_intent, sub_intents, dependencies and shared_context"})
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return IntentGraph{}, fail(decodeErrors(data, err)...)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return IntentGraph{}, fail(&Error{Line: extra.Line, Code: CodeYAML, Problem: "more than one YAML document", Fix: "keep one intent graph per file; delete what follows the first document"})
	}
	if doc.IntentGraph == nil {
		return IntentGraph{}, fail(&Error{Line: 1, Code: CodeMissing, Problem: "no intent_graph: mapping at the top level", Fix: "put root_intent, sub_intents, dependencies and shared_context under intent_graph:"})
	}

	// The strict decode succeeded, so the same bytes parse into a node tree;
	// it only supplies the lines for validation errors.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return IntentGraph{}, fmt.Errorf("parse intent graph: locate lines: %w", err)
	}
	g := *doc.IntentGraph
	if err := g.validate(newLines(&root)); err != nil {
		return IntentGraph{}, fmt.Errorf("parse intent graph %q: %w", g.RootIntent, err)
	}
	return g, nil
}

func fail(errs ...*Error) error {
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return fmt.Errorf("parse intent graph: %w", errors.Join(joined...))
}

// UnmarshalYAML reads "from -> to". It only accepts a scalar, so strict
// decoding of the surrounding document is unaffected.
func (d *Dependency) UnmarshalYAML(n *yaml.Node) error {
	const example = `write one edge per entry as "from -> to", e.g. "ingest_nfe -> reconcile_documents"`
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a dependency must be a string; %s", n.Line, example)}}
	}
	parts := strings.Split(n.Value, "->")
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: dependency %q is not \"from -> to\"; %s", n.Line, n.Value, example)}}
	}
	*d = Dependency{From: strings.TrimSpace(parts[0]), To: strings.TrimSpace(parts[1])}
	return nil
}

// MarshalYAML writes the edge as "from -> to", so a graph round-trips.
func (d Dependency) MarshalYAML() (any, error) { return d.String(), nil }

var (
	lineMsg    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownMsg = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// decodeErrors turns the YAML library's errors into *Error values with the
// line separated out and a fix a person editing the file can act on.
func decodeErrors(data []byte, err error) []*Error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	syntax := te == nil
	out := make([]*Error, 0, len(msgs))
	for _, m := range msgs {
		e := &Error{Code: CodeYAML, Problem: strings.TrimPrefix(m, "yaml: "), Fix: "fix the YAML so it matches the intent_graph shape of examples/composite/fiscal_reconciliation_publish.yaml"}
		if sub := lineMsg.FindStringSubmatch(m); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Problem = sub[2]
			if strings.Contains(e.Problem, "; write one edge") { // our own dependency message carries its fix
				e.Problem, e.Fix, _ = strings.Cut(e.Problem, "; ")
			}
		}
		if syntax {
			if n := firstBrokenLine(data); n > 0 {
				e.Line = n
			}
		}
		if strings.Contains(sourceLine(data, e.Line), "\t") {
			e.Fix = "indent with spaces: YAML does not allow tabs for indentation"
		}
		if u := unknownMsg.FindStringSubmatch(e.Problem); u != nil {
			e.Code = CodeUnknownField
			where, allowed := describeType(u[2])
			e.Problem = fmt.Sprintf("unknown field %q in %s", u[1], where)
			e.Fix = "the allowed fields are " + strings.Join(allowed, ", ") + "; check the spelling or remove it"
		}
		out = append(out, e)
	}
	return out
}

// maxRelocate bounds the quadratic search of firstBrokenLine; intent graphs
// are tens of lines.
const maxRelocate = 2000

// firstBrokenLine returns the first line at which data stops being YAML:
// the smallest n such that lines 1..n do not parse. For a syntax error the
// YAML library names the line where the enclosing block began (and, for
// parser errors, counts from 0), which is not where a person has to look;
// a block-style prefix of a valid document is itself valid, so the first
// failing prefix ends at the broken line, or at the opening line of an
// unterminated flow collection or quoted string. 0 when it cannot tell.
func firstBrokenLine(data []byte) int {
	ls := strings.SplitAfter(string(data), "\n")
	if len(ls) > maxRelocate {
		return 0
	}
	var prefix strings.Builder
	for i, l := range ls {
		prefix.WriteString(l)
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(prefix.String()), &n); err != nil {
			return i + 1
		}
	}
	return 0
}

// sourceLine returns the 1-based line of data, or "".
func sourceLine(data []byte, n int) string {
	ls := strings.Split(string(data), "\n")
	if n < 1 || n > len(ls) {
		return ""
	}
	return ls[n-1]
}

// shapes names each decoded type for messages; the allowed fields come
// from the yaml tags, so they cannot drift from the model.
var shapes = []struct {
	t     reflect.Type
	where string
}{
	{reflect.TypeFor[document](), "the top level"},
	{reflect.TypeFor[IntentGraph](), "intent_graph"},
	{reflect.TypeFor[SubIntent](), "a sub-intent"},
	{reflect.TypeFor[SharedContext](), "shared_context"},
	{reflect.TypeFor[signature.Signature](), "a sub-intent's signature"},
	{reflect.TypeFor[signature.Dataset](), "a signature dataset"},
	{reflect.TypeFor[signature.Constraints](), "signature constraints"},
	{reflect.TypeFor[signature.TemporalFilter](), "a signature temporal_filter"},
	{reflect.TypeFor[signature.ExecutionContext](), "a signature execution_context"},
}

func describeType(name string) (string, []string) {
	for _, s := range shapes {
		if s.t.String() == name {
			var fields []string
			for f := range s.t.Fields() {
				tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if tag != "" && tag != "-" {
					fields = append(fields, tag)
				}
			}
			return s.where, fields
		}
	}
	return name, nil
}

// lines locates parts of the graph in the node tree Parse decoded.
type lines struct {
	graph, subs, deps, shared *yaml.Node
	graphLine                 int
}

func newLines(doc *yaml.Node) lines {
	var l lines
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		if k, g := entry(doc.Content[0], "intent_graph"); g != nil {
			l.graph, l.graphLine = g, k.Line
			l.subs = value(g, "sub_intents")
			l.deps = value(g, "dependencies")
			l.shared = value(g, "shared_context")
		}
	}
	return l
}

// entry returns the key and value nodes of key in a mapping, or nils.
func entry(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// value returns the value node of key in a mapping, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	_, v := entry(m, key)
	return v
}

func item(seq *yaml.Node, i int) *yaml.Node {
	if seq == nil || seq.Kind != yaml.SequenceNode || i >= len(seq.Content) {
		return nil
	}
	return seq.Content[i]
}

// lineOf returns n's line, or fallback when the part is absent.
func lineOf(n *yaml.Node, fallback int) int {
	if n == nil {
		return fallback
	}
	return n.Line
}

func (l lines) root() int { return lineOf(value(l.graph, "root_intent"), l.graphLine) }
func (l lines) subIntent(i int) int {
	return lineOf(item(l.subs, i), lineOf(l.subs, l.graphLine))
}
func (l lines) dependency(i int) int {
	return lineOf(item(l.deps, i), lineOf(l.deps, l.graphLine))
}
func (l lines) unit() int {
	return lineOf(value(l.shared, "consistency_unit"), lineOf(l.shared, l.graphLine))
}
func (l lines) key() int { return lineOf(value(l.shared, "key"), lineOf(l.shared, l.graphLine)) }
