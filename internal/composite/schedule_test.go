package composite

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// whitepaper is the 5.4 graph built in Go, sub-intents and edges in the
// whitepaper's order.
func whitepaper() IntentGraph {
	return IntentGraph{
		RootIntent: "fiscal_reconciliation_publish",
		SubIntents: []SubIntent{
			{ID: "ingest_nfe", Intent: "ingest nfe into silver_documentos last 30 days"},
			{ID: "anonymize_client_master", Intent: "anonymize clientes into clientes_anon"},
			{ID: "reconcile_documents", Intent: "reconcile nfe with clientes_anon and persist to silver_documentos last 30 days"},
			{ID: "aggregate_by_state", Intent: "aggregate revenue by state from silver_documentos into gold_faturamento_uf last 30 days"},
			{ID: "publish_audit_view", Intent: "publish gold_faturamento_uf"},
		},
		Dependencies: []Dependency{
			{From: "ingest_nfe", To: "reconcile_documents"},
			{From: "anonymize_client_master", To: "reconcile_documents"},
			{From: "reconcile_documents", To: "aggregate_by_state"},
			{From: "aggregate_by_state", To: "publish_audit_view"},
		},
		SharedContext: SharedContext{ConsistencyUnit: UnitPartition, Key: "processing_date"},
	}
}

// diamond has two independent branches under one root and a join:
// a -> b, a -> c, b -> d, c -> d, plus an isolated e.
func diamond() IntentGraph {
	return IntentGraph{
		RootIntent: "diamond",
		SubIntents: []SubIntent{{ID: "a", Intent: "x"}, {ID: "b", Intent: "x"}, {ID: "c", Intent: "x"}, {ID: "d", Intent: "x"}, {ID: "e", Intent: "x"}},
		Dependencies: []Dependency{
			{From: "a", To: "b"}, {From: "a", To: "c"}, {From: "b", To: "d"}, {From: "c", To: "d"},
		},
		SharedContext: SharedContext{ConsistencyUnit: UnitDagBranch, Key: "processing_date"},
	}
}

var wantWhitepaperLevels = [][]string{
	{"anonymize_client_master", "ingest_nfe"},
	{"reconcile_documents"},
	{"aggregate_by_state"},
	{"publish_audit_view"},
}

func TestLevels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		graph IntentGraph
		want  [][]string
	}{
		{"whitepaper_fiscal_reconciliation_publish", whitepaper(), wantWhitepaperLevels},
		{"diamond_parallel_branches", diamond(), [][]string{{"a", "e"}, {"b", "c"}, {"d"}}},
		{"no_dependencies_one_layer", IntentGraph{RootIntent: "r", SubIntents: []SubIntent{{ID: "z"}, {ID: "y"}}}, [][]string{{"y", "z"}}},
		// A layer is the longest path from a root, not the shortest.
		{"long_and_short_path_to_same_node", IntentGraph{RootIntent: "r", SubIntents: []SubIntent{{ID: "a"}, {ID: "b"}, {ID: "c"}},
			Dependencies: []Dependency{{From: "a", To: "c"}, {From: "a", To: "b"}, {From: "b", To: "c"}}}, [][]string{{"a"}, {"b"}, {"c"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.graph.Levels())
		})
	}
}

func TestDependents(t *testing.T) {
	t.Parallel()
	g := whitepaper()
	cases := []struct {
		id   string
		want []string
	}{
		{"ingest_nfe", []string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}},
		{"anonymize_client_master", []string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}},
		{"reconcile_documents", []string{"aggregate_by_state", "publish_audit_view"}},
		{"aggregate_by_state", []string{"publish_audit_view"}},
		{"publish_audit_view", []string{}},
		{"not_a_sub_intent", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, g.Dependents(tc.id))
		})
	}
}

func TestBlocked(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		graph  IntentGraph
		failed []string
		want   []string
	}{
		{"ingest_fails_stops_its_dependents_not_anonymize", whitepaper(), []string{"ingest_nfe"},
			[]string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}},
		{"anonymize_fails_stops_the_same_join", whitepaper(), []string{"anonymize_client_master"},
			[]string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}},
		{"last_step_fails_blocks_nothing", whitepaper(), []string{"publish_audit_view"}, []string{}},
		{"nothing_failed", whitepaper(), nil, []string{}},
		{"failed_dependent_is_failed_not_blocked", whitepaper(), []string{"ingest_nfe", "aggregate_by_state"},
			[]string{"publish_audit_view", "reconcile_documents"}},
		{"diamond_one_branch_fails_sibling_branch_continues", diamond(), []string{"b"}, []string{"d"}},
		{"diamond_root_fails_isolated_continues", diamond(), []string{"a"}, []string{"b", "c", "d"}},
		{"unknown_failed_id_blocks_nothing", whitepaper(), []string{"nope"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, tc.graph.Blocked(tc.failed))
		})
	}
}

// TestRunToCompletion drives the graph the way the workflow will: start
// what is Ready, settle it, repeat; failures block only their dependents.
func TestRunToCompletion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		graph         IntentGraph
		fails         []string
		wantRounds    [][]string
		wantSucceeded []string
		wantBlocked   []string
	}{
		{"whitepaper_all_succeed", whitepaper(), nil, wantWhitepaperLevels,
			[]string{"aggregate_by_state", "anonymize_client_master", "ingest_nfe", "publish_audit_view", "reconcile_documents"}, []string{}},
		{"whitepaper_ingest_fails", whitepaper(), []string{"ingest_nfe"},
			[][]string{{"anonymize_client_master", "ingest_nfe"}},
			[]string{"anonymize_client_master"},
			[]string{"aggregate_by_state", "publish_audit_view", "reconcile_documents"}},
		{"diamond_branch_b_fails_branch_c_runs", diamond(), []string{"b"},
			[][]string{{"a", "e"}, {"b", "c"}},
			[]string{"a", "c", "e"}, []string{"d"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var started, succeeded, failed []string
			var rounds [][]string
			for ready := tc.graph.Ready(started, succeeded); len(ready) > 0; ready = tc.graph.Ready(started, succeeded) {
				rounds = append(rounds, ready)
				for _, id := range ready {
					started = append(started, id)
					if contains(tc.fails, id) {
						failed = append(failed, id)
					} else {
						succeeded = append(succeeded, id)
					}
				}
			}
			require.Equal(t, tc.wantRounds, rounds)
			require.ElementsMatch(t, tc.wantSucceeded, succeeded)
			require.Equal(t, tc.wantBlocked, tc.graph.Blocked(failed))
			// Every sub-intent is accounted for exactly once.
			require.Len(t, tc.graph.SubIntents, len(succeeded)+len(failed)+len(tc.graph.Blocked(failed)))
		})
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// TestDeterminismUnderShuffle: the order of sub_intents and dependencies in
// the file never changes an answer.
func TestDeterminismUnderShuffle(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 4)) // fixed seed: a failure replays
	for _, base := range []IntentGraph{whitepaper(), diamond()} {
		wantLevels := base.Levels()
		wantBlocked := base.Blocked([]string{base.SubIntents[0].ID})
		wantReady := base.Ready(nil, nil)
		for range 100 {
			g := base
			g.SubIntents = append([]SubIntent(nil), base.SubIntents...)
			g.Dependencies = append([]Dependency(nil), base.Dependencies...)
			rng.Shuffle(len(g.SubIntents), func(i, j int) { g.SubIntents[i], g.SubIntents[j] = g.SubIntents[j], g.SubIntents[i] })
			rng.Shuffle(len(g.Dependencies), func(i, j int) { g.Dependencies[i], g.Dependencies[j] = g.Dependencies[j], g.Dependencies[i] })
			require.NoError(t, g.Validate())
			require.Equal(t, wantLevels, g.Levels())
			require.Equal(t, wantBlocked, g.Blocked([]string{base.SubIntents[0].ID}))
			require.Equal(t, wantReady, g.Ready(nil, nil))
			for _, s := range base.SubIntents {
				require.Equal(t, base.Dependents(s.ID), g.Dependents(s.ID))
			}
		}
	}
}

// TestCycleReportIsOrderIndependent: a cyclic graph is reported with the
// same path whatever the order of its edges.
func TestCycleReportIsOrderIndependent(t *testing.T) {
	t.Parallel()
	base := IntentGraph{
		RootIntent:    "r",
		SubIntents:    []SubIntent{{ID: "a", Intent: "x"}, {ID: "b", Intent: "x"}, {ID: "c", Intent: "x"}, {ID: "d", Intent: "x"}},
		Dependencies:  []Dependency{{From: "d", To: "a"}, {From: "b", To: "c"}, {From: "c", To: "a"}, {From: "a", To: "b"}},
		SharedContext: SharedContext{ConsistencyUnit: UnitDagBranch, Key: "k"},
	}
	want := base.Validate()
	require.Error(t, want)
	rng := rand.New(rand.NewPCG(7, 7))
	for range 100 {
		g := base
		g.Dependencies = append([]Dependency(nil), base.Dependencies...)
		rng.Shuffle(len(g.Dependencies), func(i, j int) { g.Dependencies[i], g.Dependencies[j] = g.Dependencies[j], g.Dependencies[i] })
		ps := Problems(g.Validate())
		require.Len(t, ps, 1)
		require.Equal(t, []string{"a", "b", "c", "a"}, ps[0].Cycle)
	}
}
