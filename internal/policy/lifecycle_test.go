package policy_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// The promotion thresholds, the windows by domain and the IDI limits come
// from the bundle's lifecycle file, and are part of its version.
func TestLifecyclePolicyComesFromTheBundle(t *testing.T) {
	shipped, err := policy.Load(policies.FS)
	require.NoError(t, err)
	require.Equal(t, "lifecycle.yaml", shipped.LifecycleFile)
	require.Equal(t, lifecycle.DefaultPolicy(), shipped.Lifecycle, "the shipped file says what the whitepaper says")

	edited := copyFS(t, policies.FS)
	edited["lifecycle.yaml"].Data = regexp.MustCompile(`fiscal: last_3_days`).ReplaceAll(edited["lifecycle.yaml"].Data, []byte("fiscal: last_5_days"))
	edited["lifecycle.yaml"].Data = regexp.MustCompile(`IFo: 0.75`).ReplaceAll(edited["lifecycle.yaml"].Data, []byte("IFo: 0.80"))
	b, err := policy.Load(edited)
	require.NoError(t, err)
	require.Equal(t, "last_5_days", b.Lifecycle.ByDomain["fiscal"])
	require.Equal(t, 0.80, b.Lifecycle.Thresholds.IFo)
	require.NotEqual(t, shipped.Version, b.Version, "a new threshold is a new bundle version")

	// Without a lifecycle file, the whitepaper's policy applies and the
	// version is the one the bundle had before lifecycle files existed.
	without := copyFS(t, policies.FS)
	delete(without, "lifecycle.yaml")
	without["bundle.yaml"].Data = regexp.MustCompile(`(?m)^lifecycle: lifecycle.yaml\n`).ReplaceAll(without["bundle.yaml"].Data, nil)
	b, err = policy.Load(without)
	require.NoError(t, err)
	require.Equal(t, lifecycle.DefaultPolicy(), b.Lifecycle)
	require.Empty(t, b.LifecycleFile)

	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"IFg below 1", `IFg: 1.0`, `IFg: 0.9`, `lifecycle.yaml: .*thresholds.IFg is 0.9; it must be 1.0`},
		{"unknown key", `min_executions: 3`, "min_executions: 3\n  min_execution: 3", `(?s)lifecycle.yaml: .*field min_execution not found`},
		{"IDI limits reversed", `demotion: 0.50`, `demotion: 0.90`, `lifecycle.yaml: .*IDI limits`},
		{"bad window", `master_data: last_30_days`, `master_data: 30d`, `lifecycle.yaml: .*by_domain.master_data.*last_N_days`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := copyFS(t, policies.FS)
			broken["lifecycle.yaml"].Data = regexp.MustCompile(regexp.QuoteMeta(tc.from)).ReplaceAll(broken["lifecycle.yaml"].Data, []byte(tc.to))
			_, err := policy.Load(broken)
			require.Error(t, err)
			require.Regexp(t, tc.want, err.Error())
		})
	}
	missing := copyFS(t, policies.FS)
	delete(missing, "lifecycle.yaml")
	_, err = policy.Load(missing)
	require.ErrorContains(t, err, "lifecycle lifecycle.yaml")
}
