package policy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

func mustDefault(t testing.TB) *policy.Bundle {
	t.Helper()
	b, err := policy.Default()
	require.NoError(t, err)
	return b
}

func TestDefaultBundleLoads(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	require.Equal(t, "cfa-default", b.Name)
	require.Equal(t, "v1.0.0", b.DeclaredVersion)
	require.Regexp(t, regexp.MustCompile(`^v1\.0\.0\+[0-9a-f]{12}$`), b.Version)
	require.Equal(t, 3, b.MaxReplanAttempts)
	require.GreaterOrEqual(t, len(b.Rules), 7)
	types := map[policy.PolicyType]bool{}
	for _, r := range b.Rules {
		types[r.PolicyType] = true
		require.NotEmpty(t, r.Description, r.Name)
		require.NotEmpty(t, r.Remediation, r.Name)
		require.Positive(t, r.Line, r.Name)
	}
	require.Len(t, types, 4, "every policy type ships at least one rule")
}

// TestBundleTestTables runs the tests: tables of the shipped rule files.
func TestBundleTestTables(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	require.Positive(t, b.TestCount())
	require.NoError(t, b.RunTests())
}

func TestBundleVersionTracksContent(t *testing.T) {
	t.Parallel()
	base := copyFS(t, policies.FS)
	b0, err := policy.Load(base)
	require.NoError(t, err)

	same := copyFS(t, policies.FS)
	same["finops_guard.yaml"].Data = append([]byte("# a comment changes nothing\n"), same["finops_guard.yaml"].Data...)
	b1, err := policy.Load(same)
	require.NoError(t, err)
	require.Equal(t, b0.Version, b1.Version, "comments and layout do not change the version")

	edited := copyFS(t, policies.FS)
	edited["finops_guard.yaml"].Data = regexp.MustCompile(`last_days: 30`).ReplaceAll(edited["finops_guard.yaml"].Data, []byte("last_days: 7"))
	b2, err := policy.Load(edited)
	require.NoError(t, err)
	require.NotEqual(t, b0.Version, b2.Version, "an edited rule changes the version")
	require.Equal(t, b0.DeclaredVersion, b2.DeclaredVersion)
}

func copyFS(t *testing.T, src interface {
	ReadFile(string) ([]byte, error)
}) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	for _, f := range []string{"bundle.yaml", "privacy_wall.yaml", "finops_guard.yaml", "contract_enforcement.yaml", "execution_safety.yaml", "lifecycle.yaml"} {
		data, err := src.ReadFile(f)
		require.NoError(t, err)
		out[f] = &fstest.MapFile{Data: data}
	}
	return out
}

// TestLoadRejectsBrokenBundles loads each bundle in testdata/broken and
// checks the error names the file, the rule, the line and the cause.
func TestLoadRejectsBrokenBundles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dir  string
		want string // regexp over the error text
	}{
		{"bad_yaml", `^rules\.yaml: yaml: line \d+: `},
		{"unknown_field", `(?s)^rules\.yaml: yaml: .*line 8: field condtion not found`},
		{"cel_syntax", `^rules\.yaml: rule "syntax" \(line 4\): condition: ERROR: <input>:1:\d+: Syntax error`},
		{"type_error", `^rules\.yaml: rule "type_error" \(line 4\): condition: ERROR: <input>:1:\d+: found no matching overload for '_\+_'`},
		{"non_bool", `^rules\.yaml: rule "non_bool" \(line 4\): condition: evaluates to string, must be bool`},
		{"unknown_variable", `^rules\.yaml: rule "forbid_raw_pii_join" \(line 4\): condition: ERROR: <input>:1:1: undeclared reference to 'foo'`},
		{"unknown_action", `^rules\.yaml: rule "bad_action" \(line 4\): action "deny" must be one of approve\|replan\|block`},
		{"unknown_severity", `^rules\.yaml: rule "bad_severity" \(line 4\): severity "urgent" must be one of`},
		{"missing_fault_code", `^rules\.yaml: rule "no_code" \(line 4\): fault_code is required`},
		{"duplicate_name", `^rules\.yaml: rule "twice" \(line 9\): name already used in rules\.yaml line 4`},
		{"replan_without_interventions", `^rules\.yaml: rule "bare_replan" \(line 4\): a replan rule must declare interventions`},
		{"unknown_intervention", `^rules\.yaml: rule "bad_op" \(line 4\): interventions\[0\]: op "delete_everything" is not one of`},
		{"unknown_policy_type", `^rules\.yaml: policy_type "vibes" must be one of`},
		{"unlisted_file", `^bundle\.yaml: extra\.yaml is not listed under policies`},
		{"bad_test_fact", `^rules\.yaml: test "typo" \(line \d+\): facts: line 10: "silver_wrte" is not a declared fact`},
		{"too_costly", `^rules\.yaml: rule "too_costly" \(line 4\): condition: worst-case cost \d+ exceeds the limit 100000`},
		{"no_replan_limit", `^bundle\.yaml: max_replan_attempts 0 must be between 1 and 10`},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			_, err := policy.Load(os.DirFS(filepath.Join("testdata", "broken", tc.dir)))
			require.Error(t, err)
			require.ErrorIs(t, err, policy.ErrInvalidBundle)
			require.Regexp(t, regexp.MustCompile(tc.want), err.Error())
		})
	}
}

func TestDefaultErrorsNamePoliciesDir(t *testing.T) {
	t.Parallel()
	// Load names files relative to its fs.FS; Default prefixes "policies/".
	// Shown here through the file name Rule.File records.
	b := mustDefault(t)
	r, ok := b.Rule("forbid_raw_pii_join")
	require.True(t, ok)
	require.Equal(t, "policies/privacy_wall.yaml", r.File)
}
