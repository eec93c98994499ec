package composite

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/signature"
)

func TestValidateAcceptsWellFormedGraphs(t *testing.T) {
	t.Parallel()
	withSig := whitepaper()
	withSig.SubIntents[2] = SubIntent{ID: "reconcile_documents", Signature: &signature.Signature{Intent: "reconciliation_and_persist"}}
	for name, g := range map[string]IntentGraph{"whitepaper": whitepaper(), "diamond": diamond(), "signature_sub_intent": withSig} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, g.Validate())
		})
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	edit := func(f func(*IntentGraph)) IntentGraph { g := whitepaper(); f(&g); return g }
	dep := func(from, to string) Dependency { return Dependency{From: from, To: to} }
	cases := []struct {
		name      string
		graph     IntentGraph
		code      Code
		contains  string
		cycle     []string
		subIntent string
	}{
		{"cycle_three_named_by_path", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("aggregate_by_state", "ingest_nfe"))
		}), CodeCycle, "cycle: aggregate_by_state -> ingest_nfe -> reconcile_documents -> aggregate_by_state",
			[]string{"aggregate_by_state", "ingest_nfe", "reconcile_documents", "aggregate_by_state"}, "aggregate_by_state"},
		{"cycle_two", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("publish_audit_view", "aggregate_by_state"))
		}), CodeCycle, "aggregate_by_state -> publish_audit_view -> aggregate_by_state",
			[]string{"aggregate_by_state", "publish_audit_view", "aggregate_by_state"}, "aggregate_by_state"},
		{"self_dependency", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("ingest_nfe", "ingest_nfe"))
		}), CodeSelfDependency, `"ingest_nfe" depends on itself`, []string{"ingest_nfe", "ingest_nfe"}, "ingest_nfe"},
		{"dangling_to", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("publish_audit_view", "notify_auditors"))
		}), CodeDanglingDependency, `names "notify_auditors", not a sub-intent of this graph; declare it under sub_intents or use one of aggregate_by_state, anonymize_client_master, ingest_nfe, publish_audit_view, reconcile_documents`, nil, "notify_auditors"},
		{"dangling_both_sides", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("fetch", "notify"))
		}), CodeDanglingDependency, `names "fetch" and "notify"`, nil, "fetch"},
		{"duplicate_dependency", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("ingest_nfe", "reconcile_documents"))
		}), CodeDuplicateDependency, `"ingest_nfe -> reconcile_documents" is declared twice`, nil, "reconcile_documents"},
		{"empty_dependency_side", edit(func(g *IntentGraph) {
			g.Dependencies = append(g.Dependencies, dep("", "ingest_nfe"))
		}), CodeMissing, "lacks a side", nil, ""},
		{"duplicate_id", edit(func(g *IntentGraph) {
			g.SubIntents = append(g.SubIntents, SubIntent{ID: "ingest_nfe", Intent: "ingest nfe"})
		}), CodeDuplicateID, `"ingest_nfe" is declared twice`, nil, "ingest_nfe"},
		{"id_equals_root", edit(func(g *IntentGraph) {
			g.SubIntents = append(g.SubIntents, SubIntent{ID: "fiscal_reconciliation_publish", Intent: "x"})
		}), CodeDuplicateID, "is the root_intent's name", nil, "fiscal_reconciliation_publish"},
		{"empty_id", edit(func(g *IntentGraph) { g.SubIntents = append(g.SubIntents, SubIntent{Intent: "x"}) }), CodeMissing, "sub-intent #6 has no id", nil, ""},
		{"id_not_snake_case", edit(func(g *IntentGraph) {
			g.SubIntents = append(g.SubIntents, SubIntent{ID: "Notify-Auditors", Intent: "x"})
		}), CodeInvalidID, `"Notify-Auditors" is not snake_case`, nil, "Notify-Auditors"},
		{"root_missing", edit(func(g *IntentGraph) { g.RootIntent = "" }), CodeMissing, "root_intent is empty", nil, ""},
		{"root_not_snake_case", edit(func(g *IntentGraph) { g.RootIntent = "Fiscal Publish" }), CodeInvalidID, "root_intent", nil, ""},
		{"no_sub_intents", IntentGraph{RootIntent: "r", SharedContext: SharedContext{ConsistencyUnit: UnitDagBranch, Key: "k"}}, CodeMissing, "no sub_intents", nil, ""},
		{"neither_intent_nor_signature", edit(func(g *IntentGraph) { g.SubIntents[1].Intent = "  " }), CodeIntentForm, "neither intent nor signature", nil, "anonymize_client_master"},
		{"both_intent_and_signature", edit(func(g *IntentGraph) { g.SubIntents[1].Signature = &signature.Signature{} }), CodeIntentForm, "both intent and signature", nil, "anonymize_client_master"},
		{"consistency_unit_outside_enum", edit(func(g *IntentGraph) { g.SharedContext.ConsistencyUnit = "table" }), CodeInvalidConsistency, `"table" is not in the closed enum`, nil, ""},
		{"consistency_unit_missing", edit(func(g *IntentGraph) { g.SharedContext.ConsistencyUnit = "" }), CodeInvalidConsistency, "consistency_unit is missing", nil, ""},
		{"shared_key_missing", edit(func(g *IntentGraph) { g.SharedContext.Key = "" }), CodeMissing, "shared_context.key is missing", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.graph.Validate()
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.contains)
			ps := Problems(err)
			require.Len(t, ps, 1, "exactly one problem expected, got %v", err)
			require.Equal(t, tc.code, ps[0].Code)
			require.Equal(t, tc.cycle, ps[0].Cycle)
			require.Equal(t, tc.subIntent, ps[0].SubIntent)
			require.NotEmpty(t, ps[0].Fix, "every problem says what to do")
		})
	}
}

func TestValidateReportsAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	g := whitepaper()
	g.SubIntents[0].ID = "Bad"
	g.Dependencies = append(g.Dependencies, Dependency{From: "publish_audit_view", To: "reconcile_documents"})
	g.SharedContext.ConsistencyUnit = "row"
	var codes []Code
	for _, p := range Problems(g.Validate()) {
		codes = append(codes, p.Code)
	}
	// "ingest_nfe" no longer exists, so its edge dangles; the cycle is still
	// found among the remaining edges.
	require.Equal(t, []Code{CodeInvalidID, CodeDanglingDependency, CodeCycle, CodeInvalidConsistency}, codes)
}
