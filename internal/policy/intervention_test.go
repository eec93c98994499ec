package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestApply(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ivs  []policy.Intervention
		// catalogOnly: the signature's own copy of the key was cleared.
		catalogOnly bool
		edit        func(*signature.Signature)
		check       func(t *testing.T, got signature.Signature)
	}{
		{name: "anonymize_pii", ivs: []policy.Intervention{{Op: policy.OpAnonymizePII}},
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, []string{"clientes.cpf", "clientes.email"}, got.Constraints.Anonymize)
				require.True(t, got.Constraints.NoPIIRaw)
				require.Equal(t, []string{"ingest", "anonymize", "join"}, got.Operations)
			}},
		{name: "anonymize_pii keeps existing entries", ivs: []policy.Intervention{{Op: policy.OpAnonymizePII}},
			edit: func(s *signature.Signature) { s.Constraints.Anonymize = []string{"clientes.email"} },
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, []string{"clientes.cpf", "clientes.email"}, got.Constraints.Anonymize)
			}},
		{name: "set_merge_key from the catalog", catalogOnly: true, ivs: []policy.Intervention{{Op: policy.OpSetMergeKey}},
			edit: func(s *signature.Signature) { s.Datasets[2].MergeKey = "" },
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, "nfe_id", got.Constraints.MergeKey)
				require.True(t, got.Constraints.MergeKeyRequired)
				require.Equal(t, "nfe_id", got.Datasets[2].MergeKey)
				require.Equal(t, []string{"ingest", "join", "merge"}, got.Operations)
			}},
		{name: "add_temporal_filter on the partition key", ivs: []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 30}},
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, &signature.TemporalFilter{Column: "processing_date", LastDays: 30}, got.Constraints.TemporalFilter)
			}},
		{name: "add_temporal_filter keeps a narrower window", ivs: []policy.Intervention{{Op: policy.OpAddTemporalFilter, LastDays: 30}},
			edit: func(s *signature.Signature) {
				s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 7}
			},
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, 7, got.Constraints.TemporalFilter.LastDays)
			}},
		{name: "drop_publish", ivs: []policy.Intervention{{Op: policy.OpDropPublish}},
			edit: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) },
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, []string{"ingest", "join"}, got.Operations)
			}},
		{name: "duplicates apply once", ivs: []policy.Intervention{{Op: policy.OpAnonymizePII}, {Op: policy.OpAnonymizePII}},
			check: func(t *testing.T, got signature.Signature) {
				require.Equal(t, []string{"clientes.cpf", "clientes.email"}, got.Constraints.Anonymize)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := whitepaperSignature()
			if tc.edit != nil {
				tc.edit(&in)
			}
			before, err := in.Encode()
			require.NoError(t, err)
			got, err := policy.Apply(in, tc.ivs, testCatalog())
			require.NoError(t, err)
			if !tc.catalogOnly {
				noCat, err := policy.Apply(in, tc.ivs, nil) // keys copied into the signature
				require.NoError(t, err)
				require.Equal(t, got, noCat)
			}
			require.Equal(t, in.Replan+1, got.Replan)
			tc.check(t, got)
			after, err := in.Encode()
			require.NoError(t, err)
			require.Equal(t, string(before), string(after), "Apply must not mutate its input")
		})
	}
}

// TestApplyNeverMutatesInput compares the whole input struct, slices
// included, before and after applying every op.
func TestApplyNeverMutatesInput(t *testing.T) {
	t.Parallel()
	in := whitepaperSignature()
	in.Operations = append(in.Operations, signature.OpPublish)
	in.Constraints.Anonymize = make([]string, 0, 8) // spare capacity must not leak writes
	in.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 90}
	in.Datasets[2].MergeKey = ""
	want := whitepaperSignature()
	want.Operations = append(want.Operations, signature.OpPublish)
	want.Constraints.Anonymize = []string{}
	want.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 90}
	want.Datasets[2].MergeKey = ""

	all := []policy.Intervention{{Op: policy.OpDropPublish}, {Op: policy.OpAddTemporalFilter, LastDays: 30},
		{Op: policy.OpSetMergeKey}, {Op: policy.OpAnonymizePII}}
	got, err := policy.Apply(in, all, testCatalog())
	require.NoError(t, err)
	require.Equal(t, want, in)
	require.Empty(t, in.Constraints.Anonymize[:cap(in.Constraints.Anonymize)][:0])
	require.Equal(t, 30, got.Constraints.TemporalFilter.LastDays)
	require.Equal(t, 90, in.Constraints.TemporalFilter.LastDays)
}

func TestApplyFailures(t *testing.T) {
	t.Parallel()
	noKeys := testCatalog()
	noKeys.Datasets = []catalog.Dataset{{Name: "nfe", Classification: "high_volume"}, {Name: "nfe_reconciliada", Layer: "silver"}}
	cases := []struct {
		name string
		iv   policy.Intervention
		edit func(*signature.Signature)
		want string
	}{
		{"merge key missing in catalog", policy.Intervention{Op: policy.OpSetMergeKey}, nil,
			`intervention set_merge_key on dataset "nfe_reconciliada": the catalog declares no merge_key`},
		{"no target", policy.Intervention{Op: policy.OpSetMergeKey}, func(s *signature.Signature) { s.Datasets = s.Datasets[:2] },
			"intervention set_merge_key: the intent has no target dataset"},
		{"no partition key", policy.Intervention{Op: policy.OpAddTemporalFilter, LastDays: 30},
			func(s *signature.Signature) { s.Datasets[0].PartitionKey = "" },
			`intervention add_temporal_filter on dataset "nfe": no partition_key to filter on`},
		{"filter on another column", policy.Intervention{Op: policy.OpAddTemporalFilter, LastDays: 30},
			func(s *signature.Signature) {
				s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "emission_date"}
			},
			`the signature already filters on "emission_date", the dataset is partitioned by "processing_date"`},
		{"unknown op", policy.Intervention{Op: "rm_rf"}, nil, `op "rm_rf" is not one of`},
		{"dataset missing from the catalog snapshot", policy.Intervention{Op: policy.OpSetMergeKey},
			func(s *signature.Signature) { s.Datasets[2].Name = "ghost" }, `"ghost": not in catalog snapshot`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := whitepaperSignature()
			if tc.edit != nil {
				tc.edit(&in)
			}
			cat := noKeys
			if tc.name == "filter on another column" {
				cat = testCatalog()
			}
			got, err := policy.Apply(in, []policy.Intervention{tc.iv}, cat)
			require.ErrorIs(t, err, policy.ErrInterventionFailed)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, in, got, "on error the input comes back unchanged")
		})
	}
}
