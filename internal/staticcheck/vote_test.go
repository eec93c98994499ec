package staticcheck

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

func TestReportVoteAndViolated(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		sql      string
		rules    Rules
		outcome  decision.State
		violated []Rule
	}{
		{"a passing script is approved", fiscalMerge, fiscalRules(), decision.Approved, nil},
		{"one violation blocks", "SELECT 1; DROP TABLE x", opsRules(), decision.Blocked, []Rule{RuleForbiddenStatement}},
		{"every violation, in report order", "SELECT * FROM silver.a CROSS JOIN silver.b; DROP TABLE x", opsRules(), decision.Blocked,
			[]Rule{RuleCrossJoin, RuleForbiddenStatement}},
		{"a parse error blocks", "SELEC 1", opsRules(), decision.Blocked, []Rule{RuleParseError}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Validate(tc.sql, tc.rules)
			got := r.Violated()
			require.NotNil(t, got, "never nil")
			require.ElementsMatch(t, tc.violated, asRules(got))
			for i, v := range r.Violations {
				require.Equal(t, string(v.Rule), got[i], "in the report's order")
			}

			v := r.Vote("abc123")
			require.Equal(t, decision.AuthorityStaticValidation, v.Authority)
			require.Equal(t, tc.outcome, v.Outcome)
			if tc.outcome == decision.Approved {
				require.Equal(t, "code abc123 passed", v.Reason)
				require.Empty(t, v.Faults)
				return
			}
			require.Equal(t, "static validation: "+r.Violations[0].Message, v.Reason)
			require.Len(t, v.Faults, len(r.Violations), "one fault per violation (I6)")
			for i, f := range v.Faults {
				require.Equal(t, r.Violations[i].Fault, f)
				require.Equal(t, fault.StaticSafetyFaults, f.Family)
				require.Equal(t, fault.StageStaticValidation, f.Stage)
			}
		})
	}
}

func asRules(names []string) []Rule {
	out := make([]Rule, len(names))
	for i, n := range names {
		out[i] = Rule(n)
	}
	return out
}

// TestReportVoteOnHandBuiltReports: a report without violations has no
// fault to block with.
func TestReportVoteOnHandBuiltReports(t *testing.T) {
	t.Parallel()
	require.Equal(t, decision.Approved, Report{}.Vote("h").Outcome, "no violations: nothing to block with")
	require.Equal(t, []string{}, Report{}.Violated())
	bad := Validate("DROP TABLE x", opsRules())
	require.False(t, bad.Passed)
	require.Equal(t, decision.Blocked, bad.Vote("h").Outcome)
	require.Equal(t, []string{string(RuleForbiddenStatement)}, bad.Violated())
}
