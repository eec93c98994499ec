package policy_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/policies"
)

// TestShippedMasking: the shipped privacy wall hashes cpf and redacts
// email in every dataset, and hashes any other PII column (docs/adr/0133).
func TestShippedMasking(t *testing.T) {
	t.Parallel()
	m := mustDefault(t).Masking
	require.True(t, m.Declared())
	require.Equal(t, "policies/privacy_wall.yaml", m.File)
	cases := []struct {
		dataset, column string
		want            policy.MaskRule
	}{
		{"nfe", "cpf", policy.MaskSHA256},
		{"clientes", "cpf", policy.MaskSHA256},
		{"clientes", "email", policy.MaskRedact},
		{"fornecedores", "telefone", policy.MaskSHA256},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, m.Rule(tc.dataset, tc.column), "%s.%s", tc.dataset, tc.column)
	}
	require.Equal(t, policy.MaskSHA256, policy.Masking{}.Rule("clientes", "email"), "a bundle without masking hashes every column")
}

func TestMaskingDatasetColumnWins(t *testing.T) {
	t.Parallel()
	m := policy.Masking{Default: policy.MaskRedact, Columns: map[string]policy.MaskRule{"cpf": policy.MaskRedact, "nfe.cpf": policy.MaskSHA256}}
	require.Equal(t, policy.MaskSHA256, m.Rule("nfe", "cpf"))
	require.Equal(t, policy.MaskRedact, m.Rule("clientes", "cpf"))
	require.Equal(t, policy.MaskRedact, m.Rule("clientes", "telefone"))
}

// TestMaskingLoad: the masking section is part of the bundle's version,
// belongs to the privacy wall, is declared once and names closed rules.
func TestMaskingLoad(t *testing.T) {
	t.Parallel()
	base, err := policy.Load(copyFS(t, policies.FS))
	require.NoError(t, err)
	edit := func(file, old, new string) (*policy.Bundle, error) {
		fs := copyFS(t, policies.FS)
		data := string(fs[file].Data)
		require.Contains(t, data, old)
		fs[file].Data = []byte(strings.Replace(data, old, new, 1))
		return policy.Load(fs)
	}

	hashed, err := edit("privacy_wall.yaml", "email: redact", "email: sha256")
	require.NoError(t, err)
	require.NotEqual(t, base.Version, hashed.Version, "a change of masking is a new bundle version")
	require.Equal(t, policy.MaskSHA256, hashed.Masking.Rule("clientes", "email"))

	cases := []struct {
		name, file, old, new, want string
	}{
		{"unknown rule", "privacy_wall.yaml", "email: redact", "email: rot13", `masking\.columns email: rule "rot13" must be one of`},
		{"unknown default", "privacy_wall.yaml", "default: sha256", "default: plain", `masking\.default "plain" must be one of`},
		{"bad column name", "privacy_wall.yaml", "email: redact", "\"e mail\": redact", `masking\.columns "e mail" must name a column`},
		{"in another policy", "finops_guard.yaml", "policy_type: finops_guard", "policy_type: finops_guard\nmasking: {default: sha256}", `masking belongs to the privacy_wall policy, not finops_guard`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := edit(tc.file, tc.old, tc.new)
			require.ErrorIs(t, err, policy.ErrInvalidBundle)
			require.Regexp(t, regexp.MustCompile(tc.want), err.Error())
		})
	}
}
