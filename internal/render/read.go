package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/contextualflux/cfa/activities"
)

// maxCell bounds a cell in the table; -o json prints it whole.
const maxCell = 48

// PrintRead prints a read's result (docs/adr/0132) as a table: the
// columns, the rows, how many and whether they were cut, and the columns
// the privacy wall masked (docs/adr/0133).
func PrintRead(w io.Writer, r activities.ReadResult) {
	what := fmt.Sprintf("%d rows", r.RowCount)
	if r.RowCount == 1 {
		what = "1 row"
	}
	if r.Truncated {
		what += fmt.Sprintf(", truncated: more rows matched than the row limit of %d returns (cfa submit --row-limit N, at most 10000)", r.RowLimit)
	}
	fmt.Fprintf(w, "  result: %s\n", what)
	for _, m := range r.MaskedColumns {
		fmt.Fprintf(w, "  masked: %s %s as %s (privacy wall)\n", m.Column, m.Mask, m.As)
	}
	if len(r.Columns) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		head[i] = strings.ToUpper(c.Name)
	}
	fmt.Fprintf(tw, "  %s\n", strings.Join(head, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = Cell(v)
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
}

// Cell is one value of a result as the table shows it: NULL for null,
// numbers and text as they are, anything else as JSON, cut at 48
// characters with an ellipsis.
func Cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "NULL"
	case string:
		s = x
	case float64:
		s = fmt.Sprint(x)
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			s = fmt.Sprintf("%d", int64(x))
		}
	case bool, int, int16, int32, int64:
		s = fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	s = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	if r := []rune(s); len(r) > maxCell {
		s = string(r[:maxCell-1]) + "…"
	}
	return s
}
