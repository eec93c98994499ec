package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestGovernWhitepaperExample: the 5.2 signature is replanned once (anonymize,
// merge key, temporal filter) and then approved.
func TestGovernWhitepaperExample(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	in := whitepaperSignature()
	inHash, err := in.Hash()
	require.NoError(t, err)

	g, err := policy.Govern(in, testEnv(), testCatalog(), b)
	require.NoError(t, err)
	require.Equal(t, decision.Approved, g.Decision)
	require.Equal(t, policy.ReasonApproved, g.Reason)
	require.True(t, g.Replanned())
	require.LessOrEqual(t, len(g.Attempts), b.MaxReplanAttempts+1)
	require.Len(t, g.Attempts, 2)
	require.Equal(t, b.Version, g.BundleVersion)

	first, last := g.Attempts[0], g.Attempts[1]
	require.Equal(t, inHash, first.Hash)
	require.Equal(t, policy.Replan, first.Evaluation.Outcome)
	require.Equal(t, policy.Approve, last.Evaluation.Outcome)
	require.NotEqual(t, first.Hash, last.Hash, "a replan is a new signature")
	require.Equal(t, g.FinalHash, last.Hash)

	got := g.Final
	require.Equal(t, 1, got.Replan)
	require.Equal(t, []string{"clientes.cpf", "clientes.email"}, got.Constraints.Anonymize)
	require.Equal(t, "nfe_id", got.Constraints.MergeKey)
	require.Equal(t, &signature.TemporalFilter{Column: "processing_date", LastDays: 30}, got.Constraints.TemporalFilter)
	require.Equal(t, []string{"ingest", "anonymize", "join", "merge"}, got.Operations)

	again, err := in.Hash()
	require.NoError(t, err)
	require.Equal(t, inHash, again, "Govern must not mutate its input")
}

func TestGovernOutcomes(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	cases := []struct {
		name     string
		edit     func(*signature.Signature)
		cat      *catalog.Catalog
		decision decision.State
		reason   string
		attempts int
		code     string
	}{
		{name: "compliant signature approved at once", edit: func(*signature.Signature) {},
			decision: decision.Approved, reason: policy.ReasonApproved, attempts: 1},
		{name: "advisory rule approves with warnings", edit: func(s *signature.Signature) { s.Constraints.EnforceTypes = false },
			decision: decision.ApprovedWithWarnings, reason: policy.ReasonApprovedWithWarnings, attempts: 1, code: "CONTRACT_TYPES_NOT_ENFORCED"},
		{name: "forbidden import blocks at once", edit: func(s *signature.Signature) { s.DeclaredImports = []string{"requests"} },
			decision: decision.Blocked, reason: policy.ReasonPolicyBlock, attempts: 1, code: "SAFETY_FORBIDDEN_IMPORT"},
		{name: "replan then block on a later rule", edit: func(s *signature.Signature) {
			s.Constraints.Anonymize = nil
			s.DeclaredPatterns = []string{"collect()"}
		}, decision: decision.Blocked, reason: policy.ReasonPolicyBlock, attempts: 1, code: "SAFETY_DANGEROUS_PATTERN"},
		{name: "merge key intervention fails when the catalog has none",
			edit:     func(s *signature.Signature) { s.Constraints.MergeKey = "" },
			cat:      &catalog.Catalog{Datasets: []catalog.Dataset{{Name: "nfe_reconciliada", Layer: "silver"}}},
			decision: decision.Blocked, reason: policy.ReasonInterventionFailed, attempts: 1, code: policy.CodeInterventionFailed},
		{name: "replans already spent count toward the limit",
			edit:     func(s *signature.Signature) { s.Replan = 3; s.Constraints.Anonymize = nil },
			decision: decision.Blocked, reason: policy.ReasonMaxReplanAttemptsExceeded, attempts: 1, code: fault.CodeMaxReplanAttemptsExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := governedSignature()
			tc.edit(&sig)
			cat := tc.cat
			if cat == nil {
				cat = testCatalog()
			}
			g, err := policy.Govern(sig, testEnv(), cat, b)
			require.NoError(t, err)
			require.Equal(t, tc.decision, g.Decision)
			require.Equal(t, tc.reason, g.Reason)
			require.Len(t, g.Attempts, tc.attempts)
			switch {
			case tc.decision == decision.Blocked:
				require.NotEmpty(t, g.Faults)
				require.Equal(t, tc.code, g.Faults[0].Code)
				require.Equal(t, policy.MandatoryBlock, g.Faults[0].MandatoryAction)
			case tc.code != "":
				require.Equal(t, tc.code, g.Warnings[0].Code)
			default:
				require.Empty(t, g.Faults)
				require.Empty(t, g.Warnings)
			}
		})
	}
}

func TestGovernInterventionFaultSaysWhy(t *testing.T) {
	t.Parallel()
	sig := governedSignature()
	sig.Constraints.MergeKey = ""
	cat := testCatalog()
	cat.Datasets[2].MergeKey = "" // the signature's copy says nfe_id; the catalog is the authority
	g, err := policy.Govern(sig, testEnv(), cat, mustDefault(t))
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, g.Decision)
	require.Equal(t, "require_merge_key", g.Faults[0].Rule)
	require.Contains(t, g.Faults[0].Message, `set_merge_key on dataset "nfe_reconciliada"`)
	require.Equal(t, []string{"declare merge_key for the dataset in the catalog, or state the merge key in the intent"}, g.Faults[0].Remediation)
}

// TestGovernReplanLimit uses a bundle whose replan never converges: after
// max_replan_attempts replans the loop blocks with
// max_replan_attempts_exceeded.
func TestGovernReplanLimit(t *testing.T) {
	t.Parallel()
	b, err := policy.Load(os.DirFS(filepath.Join("testdata", "nonconverging")))
	require.NoError(t, err)
	require.Equal(t, 3, b.MaxReplanAttempts)

	g, err := policy.Govern(whitepaperSignature(), testEnv(), testCatalog(), b)
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, g.Decision)
	require.Equal(t, policy.ReasonMaxReplanAttemptsExceeded, g.Reason)
	require.Len(t, g.Attempts, 4, "the input plus three replans")
	for i, a := range g.Attempts {
		require.Equal(t, i, a.Signature.Replan)
		require.Equal(t, policy.Replan, a.Evaluation.Outcome)
	}
	require.Len(t, g.Faults, 1)
	f := g.Faults[0]
	require.Equal(t, fault.CodeMaxReplanAttemptsExceeded, f.Code)
	require.Equal(t, fault.SemanticFaults, f.Family)
	require.Equal(t, fault.StagePolicyEngine, f.Stage)
	require.Equal(t, "always_replan", f.Rule)
	require.Contains(t, f.Message, "after 3 replans")
}

func TestGovernNilBundle(t *testing.T) {
	t.Parallel()
	_, err := policy.Govern(whitepaperSignature(), testEnv(), testCatalog(), nil)
	require.ErrorContains(t, err, "policy bundle is nil")
}

// TestProposeEndsTheCycleReplanned: in propose mode a replan ends the cycle
// with decision replanned and the replanned signature; resubmitting each
// proposal converges to what the automatic loop approves, and the limit
// counts across cycles.
func TestProposeEndsTheCycleReplanned(t *testing.T) {
	t.Parallel()
	b := mustDefault(t)
	in := whitepaperSignature()
	inHash, err := in.Hash()
	require.NoError(t, err)

	g, err := policy.Propose(in, testEnv(), testCatalog(), b)
	require.NoError(t, err)
	require.Equal(t, decision.Replanned, g.Decision)
	require.Equal(t, policy.ReasonReplanProposed, g.Reason)
	require.Len(t, g.Attempts, 1, "only the input is evaluated")
	require.Equal(t, inHash, g.Attempts[0].Hash)
	require.NotEmpty(t, g.Faults, "the faults that required the replan explain it")
	require.Equal(t, 1, g.Final.Replan)
	finalHash, err := g.Final.Hash()
	require.NoError(t, err)
	require.Equal(t, finalHash, g.FinalHash)

	auto, err := policy.Govern(in, testEnv(), testCatalog(), b)
	require.NoError(t, err)
	next, err := policy.Propose(g.Final, testEnv(), testCatalog(), b)
	require.NoError(t, err)
	require.Equal(t, auto.Decision, next.Decision, "the next cycle approves what the loop approves")
	require.Equal(t, auto.FinalHash, next.FinalHash)

	cases := []struct {
		name   string
		bundle string
		replan int
		want   decision.State
		reason string
	}{
		{"approved at once", "", 0, decision.Approved, policy.ReasonApproved},
		{"replan limit reached in an earlier cycle", "nonconverging", 3, decision.Blocked, policy.ReasonMaxReplanAttemptsExceeded},
		{"replan below the limit", "nonconverging", 2, decision.Replanned, policy.ReasonReplanProposed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bb, sig := b, governedSignature()
			if tc.bundle != "" {
				var err error
				bb, err = policy.Load(os.DirFS(filepath.Join("testdata", tc.bundle)))
				require.NoError(t, err)
				sig = whitepaperSignature()
			}
			sig.Replan = tc.replan
			g, err := policy.Propose(sig, testEnv(), testCatalog(), bb)
			require.NoError(t, err)
			require.Equal(t, tc.want, g.Decision)
			require.Equal(t, tc.reason, g.Reason)
		})
	}
	_, err = policy.Propose(in, testEnv(), testCatalog(), nil)
	require.ErrorContains(t, err, "policy bundle is nil")
}
