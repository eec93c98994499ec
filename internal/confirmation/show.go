package confirmation

import (
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/signature"
)

// Show is a signature as a confirmation displays it, on one line: what it
// does, to what, and under which constraints. A soft confirmation shows it
// before it proceeds (5.1), and an escalation asks an approver to confirm
// it. Deterministic: the same signature, the same line.
func Show(sig signature.Signature) string {
	var parts []string
	head := sig.Intent
	if len(sig.Operations) > 0 {
		head += ": " + strings.Join(sig.Operations, "+")
	}
	var from, into []string
	for _, d := range sig.Datasets {
		if d.Role == signature.RoleTarget {
			into = append(into, d.Name)
		} else {
			from = append(from, d.Name)
		}
	}
	if len(from) > 0 {
		head += " " + strings.Join(from, ", ")
	}
	if len(into) > 0 {
		head += " into " + strings.Join(into, ", ")
	}
	if sig.TargetLayer != "" {
		head += " (" + sig.TargetLayer + ")"
	}
	parts = append(parts, head)
	if s := sig.Selection; !s.Empty() {
		if len(s.Columns) > 0 {
			parts = append(parts, "columns "+strings.Join(s.Columns, ", "))
		}
		if len(s.Measures) > 0 {
			ms := make([]string, 0, len(s.Measures))
			for _, m := range s.Measures {
				col := m.Column
				if col == "" {
					col = "*"
				}
				ms = append(ms, m.Function+"("+col+")")
			}
			parts = append(parts, "measures "+strings.Join(ms, ", "))
		}
		if len(s.GroupBy) > 0 {
			parts = append(parts, "group by "+strings.Join(s.GroupBy, ", "))
		}
		for _, f := range s.Filters {
			parts = append(parts, fmt.Sprintf("where %s %s %s", f.Column, f.Operator, f.Value))
		}
	}
	c := sig.Constraints
	if tf := c.TemporalFilter; tf != nil {
		w := "window " + tf.Column
		if tf.LastDays > 0 {
			w += fmt.Sprintf(" last %d days", tf.LastDays)
		}
		if tf.From != "" {
			w += " from " + tf.From
		}
		if tf.To != "" {
			w += " to " + tf.To
		}
		parts = append(parts, w)
	} else if len(from) > 0 {
		parts = append(parts, "no temporal window")
	}
	if len(c.Anonymize) > 0 {
		parts = append(parts, "anonymize "+strings.Join(c.Anonymize, ", "))
	}
	if c.MergeKey != "" {
		parts = append(parts, "merge key "+c.MergeKey)
	}
	if len(c.PublishBlocked) > 0 {
		parts = append(parts, "publish blocked "+strings.Join(c.PublishBlocked, ", "))
	}
	if sig.ExecutionMode != "" {
		m := "execution_mode " + sig.ExecutionMode
		if sig.TimeWindow != "" {
			m += " every " + sig.TimeWindow
		}
		parts = append(parts, m)
	}
	if sig.CrossDatasetAtomic {
		parts = append(parts, "cross_dataset_atomic")
	}
	return strings.Join(parts, "; ")
}
