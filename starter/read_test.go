package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/readresult"
	"github.com/contextualflux/cfa/internal/render"
	"github.com/contextualflux/cfa/workflows"
)

// readIntent is a decided read as the workflow returns it.
func readIntent() workflows.IntentResult {
	return workflows.IntentResult{IntentID: "intent-read", DecisionState: decision.ApprovedWithWarnings, DecidedBy: "runtime_validation",
		Reason: "read returned the first 2 rows: the result was cut at its row limit of 2",
		Result: &activities.ReadResult{
			Columns: []readresult.Column{{Name: "cliente_id", Type: "string"}, {Name: "cpf_hash", Type: "string"}, {Name: "email_redacted", Type: "string"}, {Name: "valor", Type: "decimal"}, {Name: "n", Type: "bigint"}},
			Rows: [][]any{
				{"cli-000001", "3f2a9c8e1b7d4e6f0a5c2b8d9e1f7a3c4b6d8e0f2a4c6e8b0d2f4a6c8e0b2d4f", "***", "1234.50", float64(7)},
				{"cli-000002", nil, "***", "10.00", float64(1)},
			},
			RowCount: 2, Truncated: true, RowLimit: 2,
			MaskedColumns: []planner.MaskedColumn{{Column: "clientes.cpf", As: "cpf_hash", Mask: planner.MaskSHA256},
				{Column: "clientes.email", As: "email_redacted", Mask: planner.MaskRedact}},
		}}
}

// emitted is what `cfa submit --wait` and `cfa status` print for res.
func emitted(t *testing.T, output string, res workflows.IntentResult) string {
	t.Helper()
	var out bytes.Buffer
	c := &cli{out: &out, output: output}
	require.NoError(t, c.emit(res, func(w io.Writer) { render.PrintResult(w, res) }))
	return out.String()
}

// TestReadResultIsATable: a read's rows print as a table under the
// decision, with the row count, the cut and the masked columns.
func TestReadResultIsATable(t *testing.T) {
	t.Parallel()
	out := emitted(t, "text", readIntent())
	lines := strings.Split(out, "\n")
	require.Contains(t, out, "result: 2 rows, truncated: more rows matched than the row limit of 2 returns")
	require.Contains(t, out, "masked: clientes.cpf sha256 as cpf_hash (privacy wall)")
	require.Contains(t, out, "masked: clientes.email redact as email_redacted (privacy wall)")
	head := -1
	for i, l := range lines {
		if strings.Contains(l, "CLIENTE_ID") {
			head = i
		}
	}
	require.GreaterOrEqual(t, head, 0, out)
	require.Regexp(t, `^\s+CLIENTE_ID\s+CPF_HASH\s+EMAIL_REDACTED\s+VALOR\s+N$`, lines[head])
	require.Regexp(t, `^\s+cli-000001\s+3f2a9c8e1b7d4e6f0a5c2b8d9e1f7a3c4b6d8e0f2a4c6e8…\s+\*\*\*\s+1234\.50\s+7$`, lines[head+1], "a long cell is cut, an integer has no decimals")
	require.Regexp(t, `^\s+cli-000002\s+NULL\s+\*\*\*\s+10\.00\s+1$`, lines[head+2])
}

// TestReadResultUnderJSON: with -o json the result object is `result`,
// with columns, rows (whole cells), row_count, truncated and the masked
// columns.
func TestReadResultUnderJSON(t *testing.T) {
	t.Parallel()
	var got struct {
		DecisionState string `json:"decision_state"`
		Result        struct {
			Columns []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"columns"`
			Rows          [][]any `json:"rows"`
			RowCount      int     `json:"row_count"`
			Truncated     bool    `json:"truncated"`
			RowLimit      int     `json:"row_limit"`
			MaskedColumns []struct {
				Column, As, Mask string
			} `json:"masked_columns"`
		} `json:"result"`
	}
	out := emitted(t, "json", readIntent())
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Equal(t, "approved_with_warnings", got.DecisionState)
	require.Len(t, got.Result.Columns, 5)
	require.Equal(t, "cpf_hash", got.Result.Columns[1].Name)
	require.Equal(t, "decimal", got.Result.Columns[3].Type)
	require.Equal(t, readIntent().Result.Rows[0][1], got.Result.Rows[0][1], "a cell whole, not cut")
	require.Nil(t, got.Result.Rows[1][1])
	require.Equal(t, "1234.50", got.Result.Rows[0][3], "a decimal's exact text")
	require.EqualValues(t, 7, got.Result.Rows[0][4])
	require.Equal(t, 2, got.Result.RowCount)
	require.True(t, got.Result.Truncated)
	require.Equal(t, 2, got.Result.RowLimit)
	require.Equal(t, "clientes.email", got.Result.MaskedColumns[1].Column)
	require.Equal(t, "email_redacted", got.Result.MaskedColumns[1].As)
	require.Equal(t, "redact", got.Result.MaskedColumns[1].Mask)

	// An intent that writes has no result object.
	w := readIntent()
	w.Result = nil
	require.NotContains(t, emitted(t, "json", w), `"result"`)
}
