package composite

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDependsOnListsDirectDependenciesInGraphOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		graph IntentGraph
		id    string
		want  []string
	}{
		{"whitepaper join of two branches", whitepaper(), "reconcile_documents", []string{"ingest_nfe", "anonymize_client_master"}},
		{"whitepaper chain is direct only", whitepaper(), "publish_audit_view", []string{"aggregate_by_state"}},
		{"whitepaper root depends on nothing", whitepaper(), "ingest_nfe", []string{}},
		{"diamond join in edge order", diamond(), "d", []string{"b", "c"}},
		{"isolated sub-intent", diamond(), "e", []string{}},
		{"unknown id", diamond(), "zzz", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.graph.DependsOn(tc.id)
			require.NotNil(t, got, "never nil: the audit shows []")
			require.Equal(t, tc.want, got)
		})
	}
	// The order is the graph's, not sorted.
	g := diamond()
	g.Dependencies = []Dependency{{From: "c", To: "d"}, {From: "b", To: "d"}}
	require.Equal(t, []string{"c", "b"}, g.DependsOn("d"))
}

func TestFailedDependenciesDirectAndTransitive(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		graph  IntentGraph
		id     string
		failed []string
		want   []string
	}{
		{"direct", whitepaper(), "reconcile_documents", []string{"ingest_nfe"}, []string{"ingest_nfe"}},
		{"transitive", whitepaper(), "publish_audit_view", []string{"ingest_nfe"}, []string{"ingest_nfe"}},
		{"several, in the order of failed", whitepaper(), "aggregate_by_state",
			[]string{"anonymize_client_master", "ingest_nfe"}, []string{"anonymize_client_master", "ingest_nfe"}},
		{"direct and transitive together", whitepaper(), "publish_audit_view",
			[]string{"aggregate_by_state", "ingest_nfe"}, []string{"aggregate_by_state", "ingest_nfe"}},
		{"a failure on another branch is not a dependency", diamond(), "b", []string{"c"}, nil},
		{"a dependent is not a dependency", whitepaper(), "ingest_nfe", []string{"reconcile_documents"}, nil},
		{"itself is not its own dependency", diamond(), "b", []string{"b"}, nil},
		{"diamond join reached through both branches", diamond(), "d", []string{"a"}, []string{"a"}},
		{"isolated sub-intent", diamond(), "e", []string{"a", "b", "c", "d"}, nil},
		{"nothing failed", diamond(), "d", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.graph.FailedDependencies(tc.id, tc.failed))
		})
	}
}

// TestFailedDependenciesExplainBlocked: every sub-intent Blocked skips has
// at least one failed dependency to name, and no other has any.
func TestFailedDependenciesExplainBlocked(t *testing.T) {
	t.Parallel()
	g := whitepaper()
	failed := []string{"anonymize_client_master"}
	blocked := g.Blocked(failed)
	require.Equal(t, []string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}, blocked)
	for _, id := range g.IDs() {
		deps := g.FailedDependencies(id, failed)
		if slices.Contains(blocked, id) {
			require.Equal(t, failed, deps, id)
		} else {
			require.Empty(t, deps, id)
		}
	}
}

func TestSkipAndNoDecisionReasons(t *testing.T) {
	g := IntentGraph{RootIntent: "r", SubIntents: []SubIntent{{ID: "a"}, {ID: "b"}, {ID: "c"}},
		Dependencies: []Dependency{{From: "a", To: "b"}, {From: "b", To: "c"}}}
	require.Equal(t, "not started: dependency a was not approved", g.SkipReason("c", []string{"a"}))
	require.Equal(t, "not started: dependency a, b was not approved", g.SkipReason("c", []string{"a", "b"}))
	require.Equal(t, "sub-intent b ended without a decision: boom", NoDecisionReason("b", errors.New("boom")))
}
