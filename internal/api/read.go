package api

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/activities"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
)

// readResultOf is a read's result (docs/adr/0132) as the API's
// ReadResult: the same columns, rows and masks as IntentResult.result.
func readResultOf(r activities.ReadResult) (*cfav1.ReadResult, error) {
	out := &cfav1.ReadResult{RowCount: int32(r.RowCount), Truncated: r.Truncated, RowLimit: int32(r.RowLimit)}
	for _, c := range r.Columns {
		out.Columns = append(out.Columns, &cfav1.ResultColumn{Name: c.Name, Type: c.Type})
	}
	for _, m := range r.MaskedColumns {
		out.MaskedColumns = append(out.MaskedColumns, &cfav1.MaskedColumn{Column: m.Column, As: m.As, Mask: string(m.Mask)})
	}
	for i, row := range r.Rows {
		// Through JSON, so every cell is what `-o json` prints (a decimal's
		// exact text stays text, a JSON column an object).
		b, err := json.Marshal(row)
		if err != nil {
			return nil, fmt.Errorf("read result row %d: %w", i, err)
		}
		var cells []any
		if err := json.Unmarshal(b, &cells); err != nil {
			return nil, fmt.Errorf("read result row %d: %w", i, err)
		}
		l, err := structpb.NewList(cells)
		if err != nil {
			return nil, fmt.Errorf("read result row %d: %w", i, err)
		}
		out.Rows = append(out.Rows, l)
	}
	return out, nil
}
