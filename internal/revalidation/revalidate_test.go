package revalidation_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// whitepaperRevalidation is 5.9's pre_execution_revalidation block.
const whitepaperRevalidation = `
pre_execution_revalidation:
  trigger: immediately_before_execution # after the lock is acquired, before the Sandbox
  checks:
    - context_registry.version_id # is the consulted snapshot still the latest_committed?
    - policy_bundle_version # has policy not changed since the Signature?
    - catalog_snapshot_version # has the catalog not changed since the Signature?
  on_mismatch:
    action: replan_or_abort
    reason: stale_environment_state
    counts_as_replan_attempt: true # counts toward the Policy Engine max_replan_attempts
`

func TestWhitepaperNames(t *testing.T) {
	t.Parallel()
	var doc struct {
		R struct {
			Trigger    string   `yaml:"trigger"`
			Checks     []string `yaml:"checks"`
			OnMismatch struct {
				Action string `yaml:"action"`
				Reason string `yaml:"reason"`
				Counts bool   `yaml:"counts_as_replan_attempt"`
			} `yaml:"on_mismatch"`
		} `yaml:"pre_execution_revalidation"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperRevalidation), &doc))
	require.Equal(t, revalidation.Trigger, doc.R.Trigger)
	require.Equal(t, []string{revalidation.FieldRegistryVersionID, revalidation.FieldPolicyBundleVersion, revalidation.FieldCatalogSnapshotVersion}, doc.R.Checks)
	require.Equal(t, revalidation.ActionReplanOrAbort, doc.R.OnMismatch.Action)
	require.Equal(t, revalidation.ReasonStaleEnvironmentState, doc.R.OnMismatch.Reason)
	require.Equal(t, revalidation.CountsAsReplanAttempt, doc.R.OnMismatch.Counts)
}

// signed is the whitepaper's 5.2 execution_context with the registry
// version the Normalizer consulted.
var signed = signature.ExecutionContext{
	PolicyBundleVersion:    "v4.2",
	CatalogSnapshotVersion: "catalog_2026_03_22",
	RegistryVersionID:      "7f1c2a34-0000-4000-8000-000000000001",
}

func mm(field, signed, current string) revalidation.Mismatch {
	return revalidation.Mismatch{Field: field, Signed: signed, Current: current}
}

func TestRevalidate(t *testing.T) {
	t.Parallel()
	with := func(f func(*signature.ExecutionContext)) signature.ExecutionContext {
		c := signed
		f(&c)
		return c
	}
	const projected = "7f1c2a34-0000-4000-8000-000000000002"
	cases := []struct {
		name    string
		current signature.ExecutionContext
		want    []revalidation.Mismatch
	}{
		{"nothing changed: proceed", signed, nil},
		{"TOCTOU: a projection landed since resolution", with(func(c *signature.ExecutionContext) { c.RegistryVersionID = projected }),
			[]revalidation.Mismatch{mm(revalidation.FieldRegistryVersionID, signed.RegistryVersionID, projected)}},
		{"policy bundle changed", with(func(c *signature.ExecutionContext) { c.PolicyBundleVersion = "v4.3" }),
			[]revalidation.Mismatch{mm(revalidation.FieldPolicyBundleVersion, "v4.2", "v4.3")}},
		{"catalog changed", with(func(c *signature.ExecutionContext) { c.CatalogSnapshotVersion = "catalog_2026_03_23" }),
			[]revalidation.Mismatch{mm(revalidation.FieldCatalogSnapshotVersion, "catalog_2026_03_22", "catalog_2026_03_23")}},
		{"all three changed, in the whitepaper's order", signature.ExecutionContext{PolicyBundleVersion: "v5", CatalogSnapshotVersion: "c2", RegistryVersionID: projected},
			[]revalidation.Mismatch{
				mm(revalidation.FieldRegistryVersionID, signed.RegistryVersionID, projected),
				mm(revalidation.FieldPolicyBundleVersion, "v4.2", "v5"),
				mm(revalidation.FieldCatalogSnapshotVersion, "catalog_2026_03_22", "c2"),
			}},
		{"versions compare exactly: case matters", with(func(c *signature.ExecutionContext) { c.PolicyBundleVersion = "V4.2" }),
			[]revalidation.Mismatch{mm(revalidation.FieldPolicyBundleVersion, "v4.2", "V4.2")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := revalidation.Revalidate(signed, tc.current)
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Mismatches)
			if tc.want == nil {
				require.Equal(t, revalidation.Result{Outcome: revalidation.Proceed}, res)
				return
			}
			require.Equal(t, revalidation.Replan, res.Outcome)
			require.Equal(t, revalidation.ReasonStaleEnvironmentState, res.Reason)
			require.True(t, res.CountsAsReplanAttempt)
			require.NotNil(t, res.Fault)
			require.Equal(t, revalidation.CodeStaleEnvironmentState, res.Fault.Code)
			require.Equal(t, fault.SemanticFaults, res.Fault.Family)
			require.Equal(t, fault.StageRevalidation, res.Fault.Stage)
			require.True(t, res.Fault.DetectedBeforeExecution)
			require.Equal(t, revalidation.ActionReplanOrAbort, res.Fault.MandatoryAction)
			for _, m := range tc.want {
				require.Contains(t, res.Fault.Message, m.Field)
				require.Contains(t, res.Fault.Message, m.Current)
			}
			again, err := revalidation.Revalidate(signed, tc.current)
			require.NoError(t, err)
			require.Equal(t, res, again, "deterministic")
		})
	}
}

func TestRevalidateRefusesIncompleteContext(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		signed, current signature.ExecutionContext
		want            string
	}{
		{"unsigned registry version", signature.ExecutionContext{PolicyBundleVersion: "v4.2", CatalogSnapshotVersion: "c"}, signed, "signed context_registry.version_id"},
		{"current catalog not read", signed, signature.ExecutionContext{PolicyBundleVersion: "v4.2", RegistryVersionID: signed.RegistryVersionID}, "current catalog_snapshot_version"},
		{"nothing at all", signature.ExecutionContext{}, signature.ExecutionContext{}, "signed policy_bundle_version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := revalidation.Revalidate(tc.signed, tc.current)
			require.ErrorIs(t, err, revalidation.ErrIncompleteContext)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
