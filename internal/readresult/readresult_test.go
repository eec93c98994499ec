package readresult_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/readresult"
)

func readPlan(t *testing.T, limit int) planner.ExecutionPlan {
	t.Helper()
	cat := plannertest.Catalog()
	p, err := planner.Plan(plannertest.ReadClientes(cat), cat, planner.Options{Masks: plannertest.ReadMasks(), RowLimit: limit})
	require.NoError(t, err)
	return p
}

func row(id string) []any {
	return []any{id, "9f86d0…", "***", "SP", "varejo", "2025-01-01T00:00:00Z"}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	p := readPlan(t, 2)
	cases := []struct {
		name      string
		rows      [][]any
		count     int
		truncated bool
		outcome   decision.State
	}{
		{"empty", nil, 0, false, decision.Approved},
		{"under the limit", [][]any{row("a")}, 1, false, decision.Approved},
		{"at the limit", [][]any{row("a"), row("b")}, 2, false, decision.Approved},
		{"the extra row tells a truncated result", [][]any{row("a"), row("b"), row("c")}, 2, true, decision.ApprovedWithWarnings},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := readresult.Build(p, tc.rows)
			require.NoError(t, err)
			require.Equal(t, []string{"cliente_id", "cpf_hash", "email_redacted", "uf", "segmento", "created_at"}, res.Names())
			require.Equal(t, tc.count, res.RowCount)
			require.Len(t, res.Rows, tc.count)
			require.NotNil(t, res.Rows, "rows is [] in JSON, never null")
			require.Equal(t, tc.truncated, res.Truncated)
			require.Equal(t, 2, res.RowLimit)
			require.Equal(t, []planner.MaskedColumn{{Column: "clientes.cpf", As: "cpf_hash", Mask: planner.MaskSHA256},
				{Column: "clientes.email", As: "email_redacted", Mask: planner.MaskRedact}}, res.MaskedColumns)
			v := readresult.Vote(res)
			require.Equal(t, tc.outcome, v.Outcome)
			require.Equal(t, decision.AuthorityRuntimeValidation, v.Authority)
			if tc.truncated {
				require.Equal(t, readresult.CodeReadTruncated, v.Faults[0].Code)
				require.Contains(t, v.Reason, "row limit of 2")
			}
		})
	}
}

func TestBuildBoundsBytes(t *testing.T) {
	t.Parallel()
	p := readPlan(t, planner.MaxRowLimit)
	big := strings.Repeat("x", 4096)
	var rows [][]any
	for i := 0; i < 400; i++ {
		r := row("a")
		r[4] = big
		rows = append(rows, r)
	}
	res, err := readresult.Build(p, rows)
	require.NoError(t, err)
	require.True(t, res.Truncated)
	require.Less(t, res.RowCount, 400)
	require.Contains(t, readresult.Vote(res).Reason, "bytes")
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	_, err := readresult.Build(readPlan(t, 10), [][]any{{"only one cell"}})
	require.ErrorContains(t, err, "has 1 cells for 6 columns")
	cat := plannertest.Catalog()
	w, err := planner.Plan(plannertest.RevenueByState(cat), cat, planner.Options{})
	require.NoError(t, err)
	_, err = readresult.Build(w, nil)
	require.ErrorContains(t, err, "not a read")
}

func TestFailedVoteBlocks(t *testing.T) {
	t.Parallel()
	v := readresult.FailedVote("permission denied for table nfe")
	require.Equal(t, decision.Blocked, v.Outcome)
	require.Equal(t, readresult.CodeReadFailed, v.Faults[0].Code)
	require.Contains(t, v.Reason, "permission denied")
}
