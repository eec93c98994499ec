package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

func firedNames(ev policy.Evaluation) []string {
	var out []string
	for _, r := range ev.Fired {
		out = append(out, r.Name)
	}
	return out
}

// TestShippedRules checks each shipped rule firing on a signature built to
// trip it, and not firing on its nearest compliant twin.
func TestShippedRules(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	committed := registry.DatasetState{Name: "nfe_reconciliada", State: registry.StateCommitted, PublishAllowed: true}
	cases := []struct {
		name    string
		edit    func(*signature.Signature)
		env     registry.EnvironmentState
		fires   []string
		outcome policy.Action
	}{
		{name: "governed signature fires nothing", edit: func(*signature.Signature) {}, outcome: policy.Approve},
		{name: "raw pii into silver", fires: []string{"forbid_raw_pii_in_silver"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) {
				s.Operations = []string{signature.OpIngest, signature.OpMerge}
				s.Constraints.Anonymize = []string{"clientes.cpf"}
			}},
		{name: "raw pii into gold", fires: []string{"forbid_raw_pii_in_gold"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) {
				s.TargetLayer = "silver_to_gold"
				s.Operations = []string{signature.OpAggregate, signature.OpMerge}
				s.Constraints.Anonymize = nil
				s.Constraints.TemporalFilter = nil
				s.Datasets = []signature.Dataset{
					{Name: "clientes_silver", Role: signature.RoleSource, Layer: "silver", PII: []string{"email"}},
					{Name: "kpi", Role: signature.RoleTarget, Layer: "gold", MergeKey: "k"},
				}
				s.Constraints.MergeKey = "k"
			}},
		{name: "pii read but not written fires nothing", outcome: policy.Approve,
			edit: func(s *signature.Signature) {
				s.TargetLayer = "silver"
				s.Operations = []string{signature.OpAggregate}
				s.Constraints.Anonymize = nil
				s.Datasets = s.Datasets[1:2]
			}},
		{name: "join on raw pii without a write", fires: []string{"forbid_raw_pii_join"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) {
				s.TargetLayer = "bronze"
				s.Constraints.Anonymize = nil
				s.Datasets = s.Datasets[:2]
			}},
		{name: "silver append without merge key", fires: []string{"require_merge_key"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) { s.Constraints.MergeKey = "" }},
		{name: "silver append and no catalog merge key", fires: []string{"merge_key_unavailable"}, outcome: policy.Block,
			edit: func(s *signature.Signature) {
				s.Constraints.MergeKey = ""
				s.Datasets[2].MergeKey = ""
			}},
		{name: "unbounded scan of high volume source", fires: []string{"require_temporal_filter_on_high_volume"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) { s.Constraints.TemporalFilter = nil }},
		{name: "temporal filter on the wrong column", fires: []string{"require_temporal_filter_on_high_volume"}, outcome: policy.Replan,
			edit: func(s *signature.Signature) { s.Constraints.TemporalFilter.Column = "emission_date" }},
		{name: "large join cannot broadcast", fires: []string{"large_join_without_broadcast"}, outcome: policy.Approve,
			edit: func(s *signature.Signature) { s.Datasets[1].SizeBytes = 20 << 30 }},
		{name: "publish committed target", outcome: policy.Approve, env: testEnv(committed),
			edit: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) }},
		{name: "publish partially committed target", fires: []string{"forbid_publish_untrusted"}, outcome: policy.Block,
			env:  testEnv(registry.DatasetState{Name: "nfe_reconciliada", State: registry.StatePartiallyCommitted}),
			edit: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) }},
		{name: "publish stale target", fires: []string{"forbid_publish_untrusted"}, outcome: policy.Block,
			env:  testEnv(registry.DatasetState{Name: "nfe_reconciliada", State: registry.StateStale, PublishAllowed: true}),
			edit: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) }},
		{name: "publish committed but publish_allowed false", fires: []string{"forbid_publish_untrusted"}, outcome: policy.Block,
			env:  testEnv(registry.DatasetState{Name: "nfe_reconciliada", State: registry.StateCommitted}),
			edit: func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) }},
		{name: "publish target listed in constraints.publish_blocked", fires: []string{"forbid_publish_untrusted"}, outcome: policy.Block,
			env: testEnv(committed),
			edit: func(s *signature.Signature) {
				s.Operations = append(s.Operations, signature.OpPublish)
				s.Constraints.PublishBlocked = []string{"nfe_reconciliada"}
			}},
		{name: "partially committed target written but not published", outcome: policy.Approve,
			env:  testEnv(registry.DatasetState{Name: "nfe_reconciliada", State: registry.StatePartiallyCommitted}),
			edit: func(*signature.Signature) {}},
		{name: "write to bronze", fires: []string{"forbid_write_to_bronze", "target_layer_mismatch"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.TargetLayer = "raw_to_bronze" }},
		{name: "gold straight from bronze", fires: []string{"forbid_gold_from_bronze"}, outcome: policy.Block,
			edit: func(s *signature.Signature) {
				s.TargetLayer = "bronze_to_gold"
				s.Datasets[2].Layer = "gold"
			}},
		{name: "target dataset of another layer", fires: []string{"target_layer_mismatch"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.Datasets[2].Layer = "gold" }},
		{name: "types not enforced warns", fires: []string{"types_not_enforced"}, outcome: policy.Approve,
			edit: func(s *signature.Signature) { s.Constraints.EnforceTypes = false }},
		{name: "forbidden import", fires: []string{"forbid_imports"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.DeclaredImports = []string{"pyspark.sql", "subprocess"} }},
		{name: "forbidden dblink", fires: []string{"forbid_imports"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.DeclaredImports = []string{"dblink"} }},
		{name: "allowed imports", outcome: policy.Approve,
			edit: func(s *signature.Signature) { s.DeclaredImports = []string{"pyspark.sql", "hashlib"} }},
		{name: "dangerous pattern", fires: []string{"forbid_dangerous_patterns"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.DeclaredPatterns = []string{"toPandas()"} }},
		{name: "truncate pattern", fires: []string{"forbid_dangerous_patterns"}, outcome: policy.Block,
			edit: func(s *signature.Signature) { s.DeclaredPatterns = []string{"TRUNCATE"} }},
		{name: "harmless pattern", outcome: policy.Approve,
			edit: func(s *signature.Signature) { s.DeclaredPatterns = []string{"dropDuplicates()", "broadcast()"} }},
		{name: "block wins over replan", fires: []string{"forbid_raw_pii_in_silver", "forbid_raw_pii_join", "forbid_imports"}, outcome: policy.Block,
			edit: func(s *signature.Signature) {
				s.Constraints.Anonymize = nil
				s.DeclaredImports = []string{"os"}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := governedSignature()
			tc.edit(&sig)
			ev := b.Evaluate(sig, tc.env)
			require.Equal(t, tc.fires, firedNames(ev))
			require.Equal(t, tc.outcome, ev.Outcome)
			require.Equal(t, b.Version, ev.BundleVersion)
			for _, f := range append(ev.Faults, ev.Warnings...) {
				require.Equal(t, fault.SemanticFaults, f.Family)
				require.Equal(t, fault.StagePolicyEngine, f.Stage)
				require.True(t, f.DetectedBeforeExecution)
				require.NotEmpty(t, f.Code)
				require.NotEmpty(t, f.Remediation)
				require.NotEmpty(t, f.Rule)
			}
		})
	}
}

// TestShippedRulesAllCovered keeps TestShippedRules honest: every shipped
// rule fires in at least one case there.
func TestShippedRulesAllCovered(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	covered := map[string]bool{
		"forbid_raw_pii_in_silver": true, "forbid_raw_pii_in_gold": true, "forbid_raw_pii_join": true,
		"require_temporal_filter_on_high_volume": true, "large_join_without_broadcast": true,
		"require_merge_key": true, "merge_key_unavailable": true, "forbid_publish_untrusted": true,
		"forbid_write_to_bronze": true, "forbid_gold_from_bronze": true, "target_layer_mismatch": true,
		"types_not_enforced": true, "forbid_imports": true, "forbid_dangerous_patterns": true,
	}
	for _, r := range b.Rules {
		require.True(t, covered[r.Name], "rule %s has no firing case in TestShippedRules", r.Name)
	}
}

func TestEvaluateWhitepaperExample(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	ev := b.Evaluate(whitepaperSignature(), testEnv())
	require.Equal(t, policy.Replan, ev.Outcome)
	require.Equal(t, []string{"forbid_raw_pii_in_silver", "forbid_raw_pii_join", "require_temporal_filter_on_high_volume", "require_merge_key"}, firedNames(ev))
	require.Equal(t, []policy.Intervention{
		{Op: policy.OpAnonymizePII}, {Op: policy.OpSetMergeKey}, {Op: policy.OpAddTemporalFilter, LastDays: 30},
	}, ev.Interventions, "deduplicated, in Apply order")
	require.Len(t, ev.Faults, 4)
	require.Equal(t, "GOVERNANCE_RAW_PII_IN_SILVER", ev.Faults[0].Code)
	require.Equal(t, fault.SeverityCritical, ev.Faults[0].Severity)
	require.Equal(t, policy.MandatoryReplanOrBlock, ev.Faults[0].MandatoryAction)
	require.Equal(t, "FINOPS_UNBOUNDED_SCAN", ev.Faults[2].Code)
	require.Empty(t, ev.Warnings)
}

func TestFacts(t *testing.T) {
	t.Parallel()
	sig := whitepaperSignature()
	sig.Operations = append(sig.Operations, signature.OpPublish)
	f := policy.NewFacts(sig, testEnv(registry.DatasetState{Name: "nfe_reconciliada", State: registry.StatePartiallyCommitted}))
	require.Equal(t, policy.Facts{
		Domain: "fiscal_data_processing", Intent: "reconciliation_and_persist",
		TargetLayer: "silver", SourceLayers: []string{"bronze"}, TargetLayers: []string{"silver"},
		Operations: []string{"ingest", "join", "publish"},
		Writes:     true, SilverWrite: true, Publish: true,
		ContainsPII: true, ContainsPIIRaw: true, PIIRawColumns: []string{"clientes.cpf", "clientes.email"},
		JoinsOnPIIRaw: true, NoPIIRaw: true, EnforceTypes: true, MergeKeyRequired: true,
		CatalogMergeKeyKnown: true, HighVolumeScan: true, HighVolumeSources: []string{"nfe"},
		Datasets:       []string{"clientes", "nfe", "nfe_reconciliada"},
		SourceDatasets: []string{"clientes", "nfe"}, TargetDatasets: []string{"nfe_reconciliada"},
		PublishTargets: []string{"nfe_reconciliada"}, PublishBlockedTargets: []string{"nfe_reconciliada"},
		MinSourceSizeBytes: 500 << 20, TotalSourceSizeBytes: 4<<40 + 500<<20,
	}, f)
	m := f.Map()
	require.Len(t, m, len(policy.FactNames()))
	require.Equal(t, "silver", m["target_layer"])
	require.Equal(t, []string{"clientes.cpf", "clientes.email"}, m["pii_raw_columns"])
}

func TestEvaluateIsConcurrencySafe(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	want := b.Evaluate(whitepaperSignature(), testEnv())
	done := make(chan policy.Evaluation, 16)
	for range 16 {
		go func() { done <- b.Evaluate(whitepaperSignature(), testEnv()) }()
	}
	for range 16 {
		require.Equal(t, want, <-done)
	}
}

// TestEvaluateFailsClosed: a condition that errors at run time, or facts
// beyond the bounds the cost limit assumes, block.
func TestEvaluateFailsClosed(t *testing.T) {
	t.Parallel()
	b, err := policy.Load(os.DirFS(filepath.Join("testdata", "failclosed")))
	require.NoError(t, err)
	sig := governedSignature()
	sig.Datasets = nil
	ev := b.Evaluate(sig, testEnv())
	require.Equal(t, policy.Block, ev.Outcome)
	require.Len(t, ev.Faults, 1)
	require.Equal(t, policy.CodePolicyEvaluationFailed, ev.Faults[0].Code)
	require.Contains(t, ev.Faults[0].Message, `rule "out_of_range" (rules.yaml line 6) failed to evaluate`)

	big := governedSignature()
	for i := range policy.MaxFactListLen + 1 {
		big.DeclaredImports = append(big.DeclaredImports, fmt.Sprintf("lib%d", i))
	}
	ev = mustDefault(t).Evaluate(big, testEnv())
	require.Equal(t, policy.Block, ev.Outcome)
	require.Equal(t, policy.CodePolicyEvaluationFailed, ev.Faults[0].Code)
	require.Contains(t, ev.Faults[0].Message, "fact declared_imports has 257 items, more than 256")
}
