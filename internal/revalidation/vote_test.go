package revalidation_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestMaxReplansExceeded(t *testing.T) {
	t.Parallel()
	current := signed
	current.RegistryVersionID = "7f1c2a34-0000-4000-8000-000000000002"
	stale, err := revalidation.Revalidate(signed, current)
	require.NoError(t, err)
	require.NotNil(t, stale.Fault)

	cases := []struct {
		name        string
		r           revalidation.Result
		remediation []string
	}{
		{"carries the stale fault's remediation", stale, stale.Fault.Remediation},
		{"a result without fault has none", revalidation.Result{Outcome: revalidation.Replan}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := revalidation.MaxReplansExceeded(4, 3, tc.r)
			require.Equal(t, decision.AuthorityRevalidation, v.Authority)
			require.Equal(t, decision.Blocked, v.Outcome)
			require.Equal(t, "max_replan_attempts_exceeded", v.Reason)
			require.Len(t, v.Faults, 1)
			f := v.Faults[0]
			require.Equal(t, fault.CodeMaxReplanAttemptsExceeded, f.Code)
			require.Equal(t, fault.SemanticFaults, f.Family)
			require.Equal(t, fault.SeverityHigh, f.Severity)
			require.Equal(t, fault.StageRevalidation, f.Stage)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, "block", f.MandatoryAction)
			require.Equal(t, "stale_environment_state needs replan 4, the limit is 3", f.Message)
			require.Equal(t, tc.remediation, f.Remediation)
		})
	}
}

func TestResultSummary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		current signature.ExecutionContext
		want    string
	}{
		{"nothing moved", signed, ""},
		{"one version moved", signature.ExecutionContext{PolicyBundleVersion: "v4.3", CatalogSnapshotVersion: signed.CatalogSnapshotVersion, RegistryVersionID: signed.RegistryVersionID},
			"policy_bundle_version v4.2 → v4.3"},
		{"every version, in the whitepaper's order", signature.ExecutionContext{PolicyBundleVersion: "v5", CatalogSnapshotVersion: "c2", RegistryVersionID: "r2"},
			"context_registry.version_id " + signed.RegistryVersionID + " → r2; policy_bundle_version v4.2 → v5; catalog_snapshot_version catalog_2026_03_22 → c2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := revalidation.Revalidate(signed, tc.current)
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Summary())
		})
	}
}
