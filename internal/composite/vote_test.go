package composite

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

func TestInvalidGraphVoteNamesEveryProblem(t *testing.T) {
	t.Parallel()
	g := diamond()
	g.Dependencies = append(g.Dependencies, Dependency{From: "d", To: "a"}, Dependency{From: "a", To: "ghost"})
	err := g.Validate()
	require.Error(t, err)
	var problems []string
	for _, p := range Problems(err) {
		problems = append(problems, p.Error())
	}
	require.GreaterOrEqual(t, len(problems), 2, "a cycle and a dangling dependency: %v", problems)

	v := InvalidGraphVote(problems)
	require.Equal(t, decision.AuthorityIntentNormalizer, v.Authority, "the graph is refused before any sub-intent runs")
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, strings.Join(problems, "; "), v.Reason)
	require.Contains(t, v.Reason, "ghost")
	require.Len(t, v.Faults, 1)
	f := v.Faults[0]
	require.Equal(t, fault.CodeIntentGraphInvalid, f.Code)
	require.Equal(t, fault.SemanticFaults, f.Family)
	require.Equal(t, fault.SeverityHigh, f.Severity)
	require.Equal(t, fault.StageIntentNormalizer, f.Stage)
	require.True(t, f.DetectedBeforeExecution)
	require.Equal(t, "block", f.MandatoryAction)
	require.Equal(t, v.Reason, f.Message)
	require.NotEmpty(t, f.Remediation)
}

func TestInvalidGraphVoteOneProblemIsItsOwnReason(t *testing.T) {
	t.Parallel()
	v := InvalidGraphVote([]string{"intent graph: cycle a -> b -> a"})
	require.Equal(t, "intent graph: cycle a -> b -> a", v.Reason)
	require.Equal(t, v.Reason, v.Faults[0].Message)
}
