package policy_test

import (
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// embargoRules is a custom_rule_provider's rule file: a regulatory rule the
// shipped bundle does not have, in the bundle's own format, with its tests.
const embargoRules = `
policy_type: contract_enforcement
description: Datasets under a fiscal embargo kept in the legacy compliance system.
rules:
  - name: fiscal_embargo_nfe
    description: nfe is under a fiscal embargo and may not be read.
    condition: '"nfe" in source_datasets'
    action: block
    severity: critical
    fault_code: REGULATORY_FISCAL_EMBARGO
    remediation:
      - Wait for the embargo to be lifted in the legacy compliance system
tests:
  - name: reading nfe is refused
    facts: {source_datasets: [clientes, nfe]}
    fires: [fiscal_embargo_nfe]
  - name: other datasets are not concerned
    facts: {source_datasets: [clientes]}
    fires: []
`

// advisoryRules is a second provider file, loaded after embargoRules by
// name order.
const advisoryRules = `
policy_type: finops_guard
rules:
  - name: advise_small_window
    condition: has_temporal_filter
    action: approve
    severity: low
    fault_code: ADVISORY_WINDOW
`

func provider(name, version string, files map[string]string) policy.RuleSource {
	fsys := fstest.MapFS{}
	for f, data := range files {
		fsys[f] = &fstest.MapFile{Data: []byte(data)}
	}
	return policy.RuleSource{Name: name, Version: version, FS: fsys}
}

func TestLoadWithProviderRuleFires(t *testing.T) {
	t.Parallel()
	base, err := policy.LoadWith(policies.FS)
	require.NoError(t, err)
	require.Empty(t, base.Providers)

	b, err := policy.LoadWith(policies.FS, provider("legacy_compliance", "2026.03", map[string]string{"embargo.yaml": embargoRules}))
	require.NoError(t, err)
	require.Equal(t, []string{"legacy_compliance@2026.03"}, b.Providers)
	require.Len(t, b.Rules, len(base.Rules)+1, "the provider's rule joins the bundle's")
	require.Equal(t, base.Rules[0].Name, b.Rules[0].Name, "after the bundle's own rules")

	r, ok := b.Rule("fiscal_embargo_nfe")
	require.True(t, ok)
	require.Equal(t, policy.ContractEnforcement, r.PolicyType)
	require.Equal(t, "custom_rule_provider legacy_compliance: embargo.yaml", r.File, "messages name the provider")
	require.Positive(t, r.Line)
	require.Equal(t, b.TestCount(), base.TestCount()+2, "the provider's tests are loaded")
	require.NoError(t, b.RunTests())

	// The signature the shipped bundle approves is blocked by the provider.
	sig := governedSignature()
	require.Equal(t, policy.Approve, base.Evaluate(sig, testEnv()).Outcome, "fixture")
	ev := b.Evaluate(sig, testEnv())
	require.Equal(t, policy.Block, ev.Outcome)
	require.Equal(t, b.Version, ev.BundleVersion)
	require.Contains(t, ev.Fired, policy.FiredRule{Name: "fiscal_embargo_nfe", PolicyType: policy.ContractEnforcement,
		Action: policy.Block, Severity: fault.SeverityCritical, FaultCode: "REGULATORY_FISCAL_EMBARGO"})
	require.Equal(t, []string{"REGULATORY_FISCAL_EMBARGO"}, faultCodes(ev.Faults))
	require.Equal(t, "fiscal_embargo_nfe", ev.Faults[0].Rule)

	g, err := policy.Govern(sig, testEnv(), testCatalog(), b)
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, g.Decision)
	require.Equal(t, b.Version, g.BundleVersion)

	// A signature that does not read nfe is not concerned.
	other := governedSignature()
	other.Datasets[0].Name = "nfe_copy"
	require.NotContains(t, faultCodes(b.Evaluate(other, testEnv()).Faults), "REGULATORY_FISCAL_EMBARGO")
}

func TestLoadWithProviderChangesTheEffectiveVersion(t *testing.T) {
	t.Parallel()
	load := func(sources ...policy.RuleSource) *policy.Bundle {
		t.Helper()
		b, err := policy.LoadWith(policies.FS, sources...)
		require.NoError(t, err)
		return b
	}
	embargo := map[string]string{"embargo.yaml": embargoRules}
	base := load()
	v1 := load(provider("legacy_compliance", "2026.03", embargo))
	again := load(provider("legacy_compliance", "2026.03", embargo))
	v2 := load(provider("legacy_compliance", "2026.04", embargo))
	renamed := load(provider("erp_compliance", "2026.03", embargo))
	edited := load(provider("legacy_compliance", "2026.03", map[string]string{"embargo.yaml": regexp.MustCompile(`severity: critical`).ReplaceAllString(embargoRules, "severity: high")}))

	require.Equal(t, base.DeclaredVersion, v1.DeclaredVersion, "the declared version is the bundle's")
	require.Regexp(t, `^`+regexp.QuoteMeta(base.DeclaredVersion)+`\+[0-9a-f]{12}$`, v1.Version)
	require.Equal(t, v1.Version, again.Version, "same provider, same rules: same version (I8)")
	versions := map[string]string{"base": base.Version, "v1": v1.Version, "v2": v2.Version, "renamed": renamed.Version, "edited": edited.Version}
	seen := map[string]string{}
	for name, v := range versions {
		require.NotContains(t, seen, v, "%s and %s share version %s", name, seen[v], v)
		seen[v] = name
	}
}

func TestLoadWithProviderFilesInNameOrder(t *testing.T) {
	t.Parallel()
	b, err := policy.LoadWith(policies.FS, provider("legacy_compliance", "1", map[string]string{
		"b_embargo.yaml":  embargoRules,
		"a_advisory.yaml": advisoryRules,
		"README.md":       "not a rule file",
	}))
	require.NoError(t, err)
	n := len(b.Rules)
	require.Equal(t, []string{"advise_small_window", "fiscal_embargo_nfe"}, []string{b.Rules[n-2].Name, b.Rules[n-1].Name})

	// Two providers: each one's rules, in the order given.
	b, err = policy.LoadWith(policies.FS,
		provider("second", "1", map[string]string{"r.yaml": advisoryRules}),
		provider("first", "1", map[string]string{"r.yaml": embargoRules}))
	require.NoError(t, err)
	require.Equal(t, []string{"second@1", "first@1"}, b.Providers)
	r, ok := b.Rule("advise_small_window")
	require.True(t, ok)
	require.Equal(t, "custom_rule_provider second: r.yaml", r.File)
}

func TestLoadWithRefusesABadProvider(t *testing.T) {
	t.Parallel()
	good := map[string]string{"embargo.yaml": embargoRules}
	cases := []struct {
		name string
		src  policy.RuleSource
		want string // regexp over the error text
	}{
		{"no name", provider("", "1", good), `custom_rule_provider "" version "1": name and version are required`},
		{"no version", provider("legacy", "", good), `custom_rule_provider "legacy" version "": name and version are required`},
		{"@ in the name", provider("legacy@erp", "1", good), `custom_rule_provider "legacy@erp" version "1": .*no '\+', '@' or spaces`},
		{"+ in the version", provider("legacy", "1+x", good), `custom_rule_provider "legacy" version "1\+x"`},
		{"space in the name", provider("legacy erp", "1", good), `custom_rule_provider "legacy erp" version "1"`},
		{"no yaml file", provider("legacy", "1", map[string]string{"rules.yml": embargoRules, "README.md": "x"}),
			`^custom_rule_provider legacy: no \*\.yaml rule file`},
		{"a rule that does not compile", provider("legacy", "1", map[string]string{"bad.yaml": `
policy_type: contract_enforcement
rules:
  - name: broken
    condition: '"nfe" in source_datasetz'
    action: block
    severity: high
    fault_code: BROKEN
`}), `^custom_rule_provider legacy: bad\.yaml: rule "broken" \(line 4\): condition: ERROR: .*undeclared reference to 'source_datasetz'`},
		{"a condition that is not bool", provider("legacy", "1", map[string]string{"bad.yaml": `
policy_type: contract_enforcement
rules:
  - name: not_bool
    condition: 'domain'
    action: block
    severity: high
    fault_code: BROKEN
`}), `^custom_rule_provider legacy: bad\.yaml: rule "not_bool" \(line 4\): condition: evaluates to string, must be bool`},
		{"a rule name the bundle already uses", provider("legacy", "1", map[string]string{"dup.yaml": `
policy_type: privacy_wall
rules:
  - name: forbid_raw_pii_join
    condition: 'true'
    action: approve
    severity: low
    fault_code: DUP
`}), `^custom_rule_provider legacy: dup\.yaml: rule "forbid_raw_pii_join" \(line 4\): name already used in privacy_wall\.yaml`},
		{"an unknown policy type", provider("legacy", "1", map[string]string{"x.yaml": "policy_type: vibes\nrules: []\n"}),
			`^custom_rule_provider legacy: x\.yaml: policy_type "vibes" must be one of`},
		{"a test naming a rule of another file", provider("legacy", "1", map[string]string{"x.yaml": embargoRules + `  - name: stray
    facts: {}
    fires: [forbid_raw_pii_join]
`}), `^custom_rule_provider legacy: x\.yaml: test "stray" \(line \d+\): fires names "forbid_raw_pii_join"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := policy.LoadWith(policies.FS, tc.src)
			require.Error(t, err)
			require.Nil(t, b)
			require.ErrorIs(t, err, policy.ErrInvalidBundle)
			require.Regexp(t, regexp.MustCompile(tc.want), err.Error())
		})
	}
}

// TestProviderRuleTestsRunWithTheBundle: a provider's test table is run by
// RunTests, and a failing row names the provider's file.
func TestProviderRuleTestsRunWithTheBundle(t *testing.T) {
	t.Parallel()
	wrong := embargoRules + `  - name: wrong expectation
    facts: {source_datasets: [nfe]}
    fires: []
`
	b, err := policy.LoadWith(policies.FS, provider("legacy_compliance", "1", map[string]string{"embargo.yaml": wrong}))
	require.NoError(t, err, "loading compiles; the tests run separately")
	err = b.RunTests()
	require.Error(t, err)
	require.Regexp(t, `custom_rule_provider legacy_compliance: embargo\.yaml: test "wrong expectation" \(line \d+\): fired \[fiscal_embargo_nfe\], want \[\]`, err.Error())
}
