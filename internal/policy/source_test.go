package policy_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// shippedFiles copies every *.yaml of the shipped bundle.
func shippedFiles(t *testing.T) fstest.MapFS {
	t.Helper()
	names, err := fs.Glob(policies.FS, "*.yaml")
	require.NoError(t, err)
	out := fstest.MapFS{}
	for _, n := range names {
		data, err := fs.ReadFile(policies.FS, n)
		require.NoError(t, err)
		out[n] = &fstest.MapFile{Data: data}
	}
	return out
}

// requireSameBundle checks that got is want loaded again: the same version
// and content, rules (with their locations), providers, tests and source.
func requireSameBundle(t *testing.T, want, got *policy.Bundle) {
	t.Helper()
	require.Equal(t, want.Version, got.Version)
	require.Equal(t, want.ContentDigest(), got.ContentDigest())
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.DeclaredVersion, got.DeclaredVersion)
	require.Equal(t, want.MaxReplanAttempts, got.MaxReplanAttempts)
	require.Equal(t, want.Providers, got.Providers)
	require.Equal(t, want.Approvers, got.Approvers)
	wantRules, err := json.Marshal(want.Rules)
	require.NoError(t, err)
	gotRules, err := json.Marshal(got.Rules)
	require.NoError(t, err)
	require.JSONEq(t, string(wantRules), string(gotRules))
	require.Len(t, got.Rules, len(want.Rules))
	for i := range want.Rules {
		require.Equal(t, want.Rules[i].File, got.Rules[i].File, want.Rules[i].Name)
		require.Equal(t, want.Rules[i].Line, got.Rules[i].Line, want.Rules[i].Name)
	}
	require.Equal(t, want.TestCount(), got.TestCount())
	require.NoError(t, got.RunTests())
	ws, err := want.Source()
	require.NoError(t, err)
	gs, err := got.Source()
	require.NoError(t, err)
	require.Equal(t, ws, gs, "the reloaded bundle records the same source")
}

func TestSourceRoundTripsTheShippedBundle(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	src, err := b.Source()
	require.NoError(t, err)
	require.Equal(t, b.Version, src.Version)
	require.Equal(t, "policies/", src.Prefix)
	for name := range shippedFiles(t) {
		require.Contains(t, src.Files, name, "every file of the bundle is in the source")
	}
	require.Len(t, src.Files, len(shippedFiles(t)))
	for _, r := range b.Rules {
		require.Contains(t, src.Files, strings.TrimPrefix(r.File, "policies/"))
	}
	require.True(t, strings.HasSuffix(src.Version, "+"+b.ContentDigest()[:12]), "the version names the content")

	// Through JSON, as the store keeps it.
	data, err := json.Marshal(src)
	require.NoError(t, err)
	var stored policy.Source
	require.NoError(t, json.Unmarshal(data, &stored))

	again, err := policy.FromSource(stored)
	require.NoError(t, err)
	requireSameBundle(t, b, again)

	// It governs alike.
	sig := governedSignature()
	require.Equal(t, b.Evaluate(sig, testEnv()), again.Evaluate(sig, testEnv()))
}

func TestSourceIsACopy(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	src, err := b.Source()
	require.NoError(t, err)
	src.Files["bundle.yaml"] = "changed"
	src.Content[0] = 'x'
	again, err := b.Source()
	require.NoError(t, err)
	require.NotEqual(t, "changed", again.Files["bundle.yaml"])
	require.NotEqual(t, byte('x'), again.Content[0])
}

func TestSourceRoundTripsProviderRules(t *testing.T) {
	t.Parallel()
	b, err := policy.LoadWith(shippedFiles(t),
		provider("legacy_compliance", "2026.03", map[string]string{"embargo.yaml": embargoRules, "advisory.yaml": advisoryRules, "README.md": "not a rule file"}),
		provider("second", "1", map[string]string{"other.yaml": strings.ReplaceAll(advisoryRules, "advise_small_window", "second_rule")}))
	require.NoError(t, err)
	src, err := b.Source()
	require.NoError(t, err)
	require.Empty(t, src.Prefix)
	require.Len(t, src.Providers, 2)
	require.Equal(t, "legacy_compliance", src.Providers[0].Name)
	require.Equal(t, map[string]string{"embargo.yaml": embargoRules, "advisory.yaml": advisoryRules}, src.Providers[0].Files,
		"the provider's rule files, and only what the loader read")

	again, err := policy.FromSource(src)
	require.NoError(t, err)
	requireSameBundle(t, b, again)
	r, ok := again.Rule("fiscal_embargo_nfe")
	require.True(t, ok)
	require.Equal(t, "custom_rule_provider legacy_compliance: embargo.yaml", r.File)
}

func TestFromSourceRefusesWhatTheVersionDoesNotName(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	good, err := b.Source()
	require.NoError(t, err)
	clone := func() policy.Source {
		s, err := b.Source()
		require.NoError(t, err)
		return s
	}
	cases := map[string]func(s *policy.Source){
		"a rule file edited": func(s *policy.Source) {
			s.Files["finops_guard.yaml"] = strings.Replace(s.Files["finops_guard.yaml"], "severity: high", "severity: low", 1)
			require.NotEqual(t, good.Files["finops_guard.yaml"], s.Files["finops_guard.yaml"], "fixture")
		},
		"a rule file removed": func(s *policy.Source) { delete(s.Files, "finops_guard.yaml") },
		"no manifest":         func(s *policy.Source) { delete(s.Files, "bundle.yaml") },
		"the content altered": func(s *policy.Source) { s.Content[len(s.Content)/2] ^= 1 },
		"no content":          func(s *policy.Source) { s.Content = nil },
		"another version":     func(s *policy.Source) { s.Version = "v1.0.0+000000000000" },
		"a malformed version": func(s *policy.Source) { s.Version = "v1.0.0" },
		"a provider added": func(s *policy.Source) {
			s.Providers = []policy.ProviderSource{{Name: "p", Version: "1", Files: map[string]string{"a.yaml": advisoryRules}}}
		},
		"the content replaced": func(s *policy.Source) { s.Content = []byte(`{}`) },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := clone()
			tamper(&s)
			_, err := policy.FromSource(s)
			require.Error(t, err)
			require.True(t, errors.Is(err, policy.ErrInvalidBundle), "%v", err)
		})
	}

	// A comment is not content: the same version and content load.
	s := clone()
	s.Files["finops_guard.yaml"] = "# a comment\n" + s.Files["finops_guard.yaml"]
	again, err := policy.FromSource(s)
	require.NoError(t, err)
	require.Equal(t, b.Version, again.Version)
}

func TestSourceOfAHandBuiltBundle(t *testing.T) {
	t.Parallel()
	_, err := (&policy.Bundle{Version: "v1+000000000000"}).Source()
	require.ErrorContains(t, err, "no source")
}
