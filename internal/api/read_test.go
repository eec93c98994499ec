package api

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/readresult"
	"github.com/contextualflux/cfa/workflows"
)

// TestIntentCarriesTheReadResult: GetIntent returns a read's result as
// read_result (columns, rows of JSON values, masks) and inside result,
// the same object `cfa status -o json` prints (docs/adr/0132).
func TestIntentCarriesTheReadResult(t *testing.T) {
	res := workflows.IntentResult{IntentID: "intent-read", DecisionState: decision.Approved, DecidedBy: "runtime_validation",
		Result: &activities.ReadResult{
			Columns:  []readresult.Column{{Name: "uf", Type: "string"}, {Name: "sum_valor_total", Type: "decimal"}, {Name: "cpf_hash", Type: "string"}, {Name: "n", Type: "bigint"}},
			Rows:     [][]any{{"SP", "1234.50", "ab12", float64(3)}, {"RJ", nil, "cd34", float64(1)}},
			RowCount: 2, RowLimit: 1000,
			MaskedColumns: []planner.MaskedColumn{{Column: "nfe.cpf", As: "cpf_hash", Mask: planner.MaskSHA256}},
		}}
	in, err := intentOf(workflows.Status{IntentID: res.IntentID, Stage: workflows.StageCompleted, Result: &res}, "completed")
	require.NoError(t, err)
	r := in.GetReadResult()
	require.NotNil(t, r)
	require.Equal(t, int32(2), r.GetRowCount())
	require.Equal(t, int32(1000), r.GetRowLimit())
	require.False(t, r.GetTruncated())
	require.Equal(t, "sum_valor_total", r.GetColumns()[1].GetName())
	require.Equal(t, "decimal", r.GetColumns()[1].GetType())
	require.Len(t, r.GetRows(), 2)
	require.Equal(t, "SP", r.GetRows()[0].GetValues()[0].GetStringValue())
	require.Equal(t, "1234.50", r.GetRows()[0].GetValues()[1].GetStringValue(), "a decimal stays exact text")
	require.Equal(t, float64(3), r.GetRows()[0].GetValues()[3].GetNumberValue())
	require.IsType(t, &structpb.Value_NullValue{}, r.GetRows()[1].GetValues()[1].GetKind(), "NULL is null")
	require.Equal(t, "nfe.cpf", r.GetMaskedColumns()[0].GetColumn())
	require.Equal(t, "cpf_hash", r.GetMaskedColumns()[0].GetAs())
	require.Equal(t, "sha256", r.GetMaskedColumns()[0].GetMask())
	inner := in.GetResult().GetFields()["result"].GetStructValue()
	require.NotNil(t, inner, "result.result is the same object")
	require.Len(t, inner.GetFields()["rows"].GetListValue().GetValues(), 2)

	w := res
	w.Result = nil
	in, err = intentOf(workflows.Status{IntentID: w.IntentID, Stage: workflows.StageCompleted, Result: &w}, "completed")
	require.NoError(t, err)
	require.Nil(t, in.GetReadResult(), "an intent that writes has no read_result")
}
