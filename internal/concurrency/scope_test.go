package concurrency_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/concurrency"
)

// whitepaperConcurrencyControl is section 10's block, verbatim.
const whitepaperConcurrencyControl = `
concurrency_control:
  model: single_active_intent_per_target_scope
  scope_definition:
    - dataset
    - dataset_partition
  lock:
    acquisition: before_pre_execution_revalidation # step 10 in the flow
    release: after_state_projection_confirmed # step 15 in the flow
  conflict_resolution:
    on_conflict: queue # queue | reject
  locking:
    type: optimistic
    validation: pre_execution_revalidation
`

func TestWhitepaperConcurrencyControlNames(t *testing.T) {
	t.Parallel()
	var doc struct {
		CC struct {
			Model           string                           `yaml:"model"`
			ScopeDefinition []concurrency.ScopeKind          `yaml:"scope_definition"`
			Lock            map[string]concurrency.LockPoint `yaml:"lock"`
			Conflict        map[string]string                `yaml:"conflict_resolution"`
		} `yaml:"concurrency_control"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperConcurrencyControl), &doc))
	require.Equal(t, concurrency.Model, doc.CC.Model)
	require.Equal(t, []concurrency.ScopeKind{concurrency.ScopeDataset, concurrency.ScopeDatasetPartition}, doc.CC.ScopeDefinition)
	require.Equal(t, concurrency.BeforePreExecutionRevalidation, doc.CC.Lock["acquisition"])
	require.Equal(t, concurrency.AfterStateProjectionConfirmed, doc.CC.Lock["release"])
	// The store's queue is the default, under the whitepaper's name.
	require.Equal(t, db.OnConflictQueue, doc.CC.Conflict["on_conflict"])
}

func TestScopeKeyRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		scope concurrency.Scope
		key   string
		kind  concurrency.ScopeKind
	}{
		{"dataset", concurrency.DatasetScope("silver_documentos"), "dataset:silver_documentos", concurrency.ScopeDataset},
		{"partition", concurrency.PartitionScope("silver_documentos", "2026-01-03"), "dataset:silver_documentos/partition:2026-01-03", concurrency.ScopeDatasetPartition},
		{"schema-qualified dataset", concurrency.PartitionScope("silver.documentos", "a/b"), "dataset:silver.documentos/partition:a/b", concurrency.ScopeDatasetPartition},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.key, tc.scope.Key())
			require.Equal(t, tc.key, tc.scope.String())
			require.Equal(t, tc.kind, tc.scope.Kind())
			back, err := concurrency.ParseScope(tc.key)
			require.NoError(t, err)
			require.Equal(t, tc.scope, back)
		})
	}
}

func TestParseScopeRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, key, want string }{
		{"no prefix", "silver_documentos", `starts with "dataset:"`},
		{"empty dataset", "dataset:", "dataset name is empty"},
		{"empty partition", "dataset:x/partition:", "is empty; drop it"},
		{"blank partition", "dataset:x/partition: ", "partition value is blank"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := concurrency.ParseScope(tc.key)
			require.ErrorIs(t, err, concurrency.ErrInvalidScope)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestConflicts(t *testing.T) {
	t.Parallel()
	ds := concurrency.DatasetScope("silver_documentos")
	p1 := concurrency.PartitionScope("silver_documentos", "2026-01-01")
	p2 := concurrency.PartitionScope("silver_documentos", "2026-01-02")
	other := concurrency.DatasetScope("clientes_anon")
	otherP1 := concurrency.PartitionScope("clientes_anon", "2026-01-01")
	cases := []struct {
		name string
		a, b concurrency.Scope
		want bool
	}{
		{"same dataset scope", ds, ds, true},
		{"dataset lock covers its partition", ds, p1, true},
		{"same partition", p1, p1, true},
		{"different partitions of one dataset", p1, p2, false},
		{"different datasets", ds, other, false},
		{"same partition value, different datasets", p1, otherP1, false},
		{"dataset scope and another dataset's partition", ds, otherP1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, concurrency.Conflicts(tc.a, tc.b))
			require.Equal(t, tc.want, concurrency.Conflicts(tc.b, tc.a), "Conflicts must be symmetric")
			require.Equal(t, tc.want, concurrency.AnyConflict([]concurrency.Scope{concurrency.DatasetScope("gold_x"), tc.a}, []concurrency.Scope{tc.b}))
		})
	}
}

func TestScopesFor(t *testing.T) {
	t.Parallel()
	const sd = "silver_documentos"
	p := func(v ...string) []concurrency.Scope {
		out := make([]concurrency.Scope, len(v))
		for i, x := range v {
			out[i] = concurrency.PartitionScope(sd, x)
		}
		return out
	}
	cases := []struct {
		name    string
		targets []concurrency.Target
		want    []concurrency.Scope
	}{
		{"read-only intent has no scope", nil, nil},
		{"unpartitioned target is the dataset", []concurrency.Target{{Dataset: "clientes_anon"}}, []concurrency.Scope{concurrency.DatasetScope("clientes_anon")}},
		{"partitioned target with no bound is the dataset", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date"}}, []concurrency.Scope{concurrency.DatasetScope(sd)}},
		{"whitepaper's three partitions as a window", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", From: "2026-01-01", To: "2026-01-04"}},
			p("2026-01-01", "2026-01-02", "2026-01-03")},
		{"window crosses a month and a leap day", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", From: "2028-02-28", To: "2028-03-02"}},
			p("2028-02-28", "2028-02-29", "2028-03-01")},
		{"one-day window", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", From: "2026-01-03", To: "2026-01-04"}}, p("2026-01-03")},
		{"explicit partitions sorted and unique", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", Partitions: []string{"2026-01-03", "2026-01-01", "2026-01-03"}}},
			p("2026-01-01", "2026-01-03")},
		{"window of exactly MaxPartitionScopes days keeps partitions", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", From: "2025-01-01", To: "2026-01-02"}},
			nil /* checked below by length */},
		{"window wider than MaxPartitionScopes locks the dataset", []concurrency.Target{{Dataset: sd, PartitionKey: "processing_date", From: "2024-01-01", To: "2026-01-01"}},
			[]concurrency.Scope{concurrency.DatasetScope(sd)}},
		{"dataset scope folds the same dataset's partitions", []concurrency.Target{
			{Dataset: sd, PartitionKey: "processing_date", Partitions: []string{"2026-01-01"}},
			{Dataset: sd, PartitionKey: "processing_date"},
		}, []concurrency.Scope{concurrency.DatasetScope(sd)}},
		{"several targets sorted by dataset", []concurrency.Target{
			{Dataset: sd, PartitionKey: "processing_date", Partitions: []string{"2026-01-02"}},
			{Dataset: "clientes_anon"},
		}, []concurrency.Scope{concurrency.DatasetScope("clientes_anon"), concurrency.PartitionScope(sd, "2026-01-02")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := concurrency.ScopesFor(tc.targets...)
			require.NoError(t, err)
			if tc.want == nil && len(tc.targets) > 0 {
				require.Len(t, got, concurrency.MaxPartitionScopes)
				require.Equal(t, "2025-01-01", got[0].Partition)
				require.Equal(t, "2026-01-01", got[len(got)-1].Partition)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestScopesForRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		targets []concurrency.Target
		want    string
	}{
		{"no dataset", []concurrency.Target{{}}, "dataset name is empty"},
		{"partitions without a partition key", []concurrency.Target{{Dataset: "x", Partitions: []string{"a"}}}, "has no partition key"},
		{"window without a partition key", []concurrency.Target{{Dataset: "x", From: "2026-01-01", To: "2026-01-02"}}, "has no partition key"},
		{"partitions and window", []concurrency.Target{{Dataset: "x", PartitionKey: "d", Partitions: []string{"a"}, From: "2026-01-01", To: "2026-01-02"}}, "give one of them"},
		{"open window", []concurrency.Target{{Dataset: "x", PartitionKey: "d", From: "2026-01-01"}}, "give both bounds"},
		{"empty window", []concurrency.Target{{Dataset: "x", PartitionKey: "d", From: "2026-01-01", To: "2026-01-01"}}, "covers no day"},
		{"reversed window", []concurrency.Target{{Dataset: "x", PartitionKey: "d", From: "2026-01-02", To: "2026-01-01"}}, "covers no day"},
		{"bad date", []concurrency.Target{{Dataset: "x", PartitionKey: "d", From: "01/01/2026", To: "2026-01-02"}}, "YYYY-MM-DD"},
		{"blank partition", []concurrency.Target{{Dataset: "x", PartitionKey: "d", Partitions: []string{" "}}}, "partition value is blank"},
		{"two partition keys for one dataset", []concurrency.Target{{Dataset: "x", PartitionKey: "d"}, {Dataset: "x", PartitionKey: "e"}}, "disagree"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := concurrency.ScopesFor(tc.targets...)
			require.ErrorIs(t, err, concurrency.ErrInvalidScope)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNormalizeIsDeterministic(t *testing.T) {
	t.Parallel()
	in := []concurrency.Scope{
		concurrency.PartitionScope("b", "2"), concurrency.DatasetScope("a"), concurrency.PartitionScope("a", "1"),
		concurrency.PartitionScope("b", "1"), concurrency.PartitionScope("b", "2"),
	}
	want := []concurrency.Scope{concurrency.DatasetScope("a"), concurrency.PartitionScope("b", "1"), concurrency.PartitionScope("b", "2")}
	for i := range 20 {
		rot := append(append([]concurrency.Scope{}, in[i%len(in):]...), in[:i%len(in)]...)
		require.Equal(t, want, concurrency.Normalize(rot), fmt.Sprint("rotation ", i))
	}
}
