package composite

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/signature"
)

const examplePath = "../../examples/composite/fiscal_reconciliation_publish.yaml"

func TestParseWhitepaperExample(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(examplePath)
	require.NoError(t, err)
	g, err := Parse(raw)
	require.NoError(t, err)
	require.Equal(t, whitepaper(), g)
	require.Equal(t, wantWhitepaperLevels, g.Levels())
}

func TestParseRoundTrip(t *testing.T) {
	t.Parallel()
	g := whitepaper()
	g.SubIntents[2] = SubIntent{ID: "reconcile_documents", Signature: &signature.Signature{
		Domain: "fiscal_data_processing", Intent: "reconciliation_and_persist", Operations: []string{signature.OpJoin},
		Datasets: []signature.Dataset{{Name: "nfe", Role: signature.RoleSource}, {Name: "silver_documentos", Role: signature.RoleTarget}},
	}}
	out, err := yaml.Marshal(document{IntentGraph: &g})
	require.NoError(t, err)
	require.Contains(t, string(out), "- ingest_nfe -> reconcile_documents\n", "edges are written as the whitepaper writes them")
	back, err := Parse(out)
	require.NoError(t, err)
	require.Equal(t, g, back)
}

// valid is a small graph; cases below replace one line of it. Line numbers:
//
//	1 intent_graph:
//	2   root_intent: publish_report
//	3   sub_intents:
//	4     - id: build
//	5       intent: aggregate silver_documentos by uf into gold_faturamento_uf
//	6     - id: publish
//	7       intent: publish gold_faturamento_uf
//	8   dependencies:
//	9     - build -> publish
//	10  shared_context:
//	11    consistency_unit: partition
//	12    key: processing_date
const valid = `intent_graph:
  root_intent: publish_report
  sub_intents:
    - id: build
      intent: aggregate silver_documentos by uf into gold_faturamento_uf
    - id: publish
      intent: publish gold_faturamento_uf
  dependencies:
    - build -> publish
  shared_context:
    consistency_unit: partition
    key: processing_date
`

// replace swaps the text of one line (1-based) for text, which may span
// several lines.
func replace(line int, text string) string {
	ls := strings.Split(valid, "\n")
	ls[line-1] = text
	return strings.Join(ls, "\n")
}

// insert puts text after the line (1-based).
func insert(after int, text string) string {
	ls := strings.Split(valid, "\n")
	return strings.Join(append(ls[:after], append([]string{text}, ls[after:]...)...), "\n")
}

type wantProblem struct {
	line     int
	code     Code
	contains string
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		{"unknown_field_in_sub_intent", replace(5, "      intnt: aggregate silver_documentos"),
			[]wantProblem{{5, CodeUnknownField, `unknown field "intnt" in a sub-intent; the allowed fields are id, intent, signature`}}},
		{"unknown_field_at_top_level", insert(12, "owner: fiscal_team"),
			[]wantProblem{{13, CodeUnknownField, `unknown field "owner" in the top level; the allowed fields are intent_graph`}}},
		{"unknown_field_in_intent_graph", insert(2, "  description: monthly"),
			[]wantProblem{{3, CodeUnknownField, `unknown field "description" in intent_graph; the allowed fields are root_intent, sub_intents, dependencies, shared_context`}}},
		{"unknown_field_in_shared_context", insert(12, "    scope: all"),
			[]wantProblem{{13, CodeUnknownField, `unknown field "scope" in shared_context`}}},
		{"unknown_field_in_signature", replace(7, "      signature:\n        intent: publish_dataset\n        datasets:\n          - {name: gold_faturamento_uf, rol: target}"),
			[]wantProblem{{10, CodeUnknownField, `unknown field "rol" in a signature dataset; the allowed fields are name, role, layer`}}},
		{"tab_indentation", replace(4, "\t- id: build"),
			[]wantProblem{{4, CodeYAML, "indent with spaces: YAML does not allow tabs"}}},
		{"syntax_bad_indentation", replace(6, "   - id: publish"),
			[]wantProblem{{6, CodeYAML, "did not find expected key"}}},
		{"syntax_mapping_value_in_scalar", replace(7, "      intent: publish: gold"),
			[]wantProblem{{7, CodeYAML, "mapping values are not allowed"}}},
		{"duplicate_mapping_key", insert(4, "      id: build_again"),
			[]wantProblem{{5, CodeYAML, `mapping key "id" already defined at line 4`}}},
		{"wrong_shape_sub_intents", replace(3, "  sub_intents: build\n  sub_intents_old:"),
			[]wantProblem{{3, CodeYAML, "cannot unmarshal"}, {4, CodeUnknownField, `"sub_intents_old"`}}},
		{"dependency_wrong_arrow", replace(9, "    - build => publish"),
			[]wantProblem{{9, CodeYAML, `dependency "build => publish" is not "from -> to"; write one edge per entry as "from -> to"`}}},
		{"dependency_chain", replace(9, "    - build -> publish -> build"),
			[]wantProblem{{9, CodeYAML, `dependency "build -> publish -> build" is not "from -> to"`}}},
		{"dependency_as_mapping", replace(9, "    - {from: build, to: publish}"),
			[]wantProblem{{9, CodeYAML, "a dependency must be a string"}}},
		{"dangling_dependency", insert(9, "    - publish -> notify"),
			[]wantProblem{{10, CodeDanglingDependency, `dependency "publish -> notify" names "notify", not a sub-intent of this graph; declare it under sub_intents or use one of build, publish`}}},
		{"self_dependency", insert(9, "    - build -> build"),
			[]wantProblem{{10, CodeSelfDependency, `sub-intent "build" depends on itself`}}},
		{"cycle_points_at_first_edge_of_path", insert(9, "    - publish -> build"),
			[]wantProblem{{9, CodeCycle, "dependencies form a cycle: build -> publish -> build"}}},
		{"duplicate_dependency", insert(9, "    - build  ->  publish"),
			[]wantProblem{{10, CodeDuplicateDependency, `dependency "build -> publish" is declared twice (first at line 9)`}}},
		{"duplicate_sub_intent", replace(6, "    - id: build"),
			[]wantProblem{{6, CodeDuplicateID, `sub-intent id "build" is declared twice (first at line 4)`}, {9, CodeDanglingDependency, `"publish"`}}},
		{"consistency_unit_outside_enum", replace(11, "    consistency_unit: table"),
			[]wantProblem{{11, CodeInvalidConsistency, `"table" is not in the closed enum; use one of partition, dataset, dag_branch, time_window`}}},
		{"shared_context_missing", strings.Split(valid, "  shared_context:")[0],
			[]wantProblem{{1, CodeInvalidConsistency, "consistency_unit is missing"}, {1, CodeMissing, "shared_context.key is missing"}}},
		{"unterminated_flow_sequence", replace(8, "  dependencies: [build -> publish,"),
			[]wantProblem{{8, CodeYAML, "did not find expected node content"}}},
		{"intent_and_signature", replace(7, "      intent: publish gold_faturamento_uf\n      signature: {intent: publish_dataset}"),
			[]wantProblem{{6, CodeIntentForm, `sub-intent "publish" has both intent and signature`}}},
		{"whitepaper_ids_only_need_an_intent", "intent_graph:\n  root_intent: r\n  sub_intents:\n    - id: a\n    - id: b\n  shared_context: {consistency_unit: partition, key: processing_date}\n",
			[]wantProblem{{4, CodeIntentForm, `"a" has neither intent nor signature; add intent:`}, {5, CodeIntentForm, `"b" has neither`}}},
		{"empty_file", "  \n", []wantProblem{{0, CodeMissing, "the file is empty"}}},
		{"no_intent_graph", "graph:\n  root_intent: r\n", []wantProblem{{1, CodeUnknownField, `unknown field "graph" in the top level`}}},
		{"intent_graph_null", "intent_graph:\n", []wantProblem{{1, CodeMissing, "no intent_graph: mapping"}}},
		{"two_documents", valid + "---\nintent_graph: {}\n", []wantProblem{{13, CodeYAML, "more than one YAML document"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml))
			require.ErrorIs(t, err, ErrInvalid)
			ps := Problems(err)
			require.Len(t, ps, len(tc.want), "problems: %v", err)
			for i, w := range tc.want {
				require.Equal(t, w.line, ps[i].Line, "problem %d: %v", i, ps[i])
				require.Equal(t, w.code, ps[i].Code, "problem %d: %v", i, ps[i])
				require.Contains(t, ps[i].Error(), w.contains)
				require.NotEmpty(t, ps[i].Fix, "every problem says what to do")
				if w.line > 0 {
					require.Contains(t, ps[i].Error(), "intent graph line ")
				}
			}
		})
	}
}

func TestParseAcceptsSignatureSubIntent(t *testing.T) {
	t.Parallel()
	g, err := Parse([]byte(replace(7, "      signature:\n        domain: fiscal\n        intent: publish_dataset\n        operations: [publish]\n        datasets:\n          - {name: gold_faturamento_uf, role: target}")))
	require.NoError(t, err)
	s, ok := g.SubIntent("publish")
	require.True(t, ok)
	require.Empty(t, s.Intent)
	require.Equal(t, &signature.Signature{Domain: "fiscal", Intent: "publish_dataset", Operations: []string{"publish"},
		Datasets: []signature.Dataset{{Name: "gold_faturamento_uf", Role: "target"}}}, s.Signature)
}

// FuzzParse: Parse never panics, and whatever it accepts is a valid graph
// whose Levels place every sub-intent exactly once.
func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile(examplePath)
	require.NoError(f, err)
	f.Add(raw)
	f.Add([]byte(valid))
	f.Add([]byte(replace(9, "    - build -> publish\n    - publish -> build")))
	f.Add([]byte("intent_graph: {root_intent: r, sub_intents: [{id: a, intent: x}], shared_context: {consistency_unit: dataset, key: k}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		require.NoError(t, g.Validate())
		var placed []string
		for _, l := range g.Levels() {
			placed = append(placed, l...)
		}
		require.ElementsMatch(t, g.IDs(), placed)
	})
}
