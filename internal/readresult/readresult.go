// Package readresult is the governed result of a read intent
// (docs/adr/0132): the columns and rows the read's query returned under
// the sandbox role, bounded by its row limit and by what a workflow's
// history can carry, with the columns the privacy wall masked
// (docs/adr/0133); and the vote the read casts for the Decision Engine.
//
// Whitepaper section 6, I1: "No data classified as PII is published
// without explicit treatment (hashing or confirmed removal). This applies
// to all outputs, intermediate and final." A read's rows are an output:
// the plan masks every raw PII column before a row leaves Postgres, and
// the result says which.
//
// The package is pure: no clock, no I/O.
package readresult

import (
	"encoding/json"
	"fmt"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
)

// MaxBytes bounds the JSON of a result's rows: the result travels in the
// activity's result, the workflow's result and its status query, each a
// Temporal payload (2 MiB at most by default).
const MaxBytes = 1 << 20

// Column is one column of a result.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // catalog type
}

// Result is what a read returns. A cell is JSON: an integer or a float is
// a number, a decimal its exact text, a date YYYY-MM-DD, a timestamp RFC
// 3339 in UTC, a boolean, an array or object as stored, null for NULL.
type Result struct {
	Columns  []Column `json:"columns"`
	Rows     [][]any  `json:"rows"`
	RowCount int      `json:"row_count"`
	// Truncated: the query had more rows than RowLimit, or more bytes
	// than MaxBytes; Rows are the first ones, in the query's order.
	Truncated bool `json:"truncated"`
	RowLimit  int  `json:"row_limit"`
	// MaskedColumns are the raw PII columns returned masked, and how.
	MaskedColumns []planner.MaskedColumn `json:"masked_columns"`
}

// Names are the column names, in order.
func (r Result) Names() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name
	}
	return out
}

// Build makes the result of a read plan from the rows its query returned
// (at most the row limit plus one, which tells a truncated result).
func Build(p planner.ExecutionPlan, rows [][]any) (Result, error) {
	q, ok := p.QueryStep()
	if !ok {
		return Result{}, fmt.Errorf("read result of plan %s: the plan is not a read (no query step): plan the read again", p.Hash)
	}
	res := Result{RowLimit: q.Params.Query.Limit, MaskedColumns: p.MaskedColumns(), Rows: [][]any{}}
	if res.MaskedColumns == nil {
		res.MaskedColumns = []planner.MaskedColumn{}
	}
	for _, c := range q.Columns {
		res.Columns = append(res.Columns, Column{Name: c.Name, Type: c.Type})
	}
	size := 0
	for i, r := range rows {
		if len(r) != len(res.Columns) {
			return Result{}, fmt.Errorf("read result of plan %s: row %d has %d cells for %d columns: the query is not the plan's; plan again", p.Hash, i, len(r), len(res.Columns))
		}
		if i >= res.RowLimit {
			res.Truncated = true
			break
		}
		b, err := json.Marshal(r)
		if err != nil {
			return Result{}, fmt.Errorf("read result of plan %s: row %d: %w", p.Hash, i, err)
		}
		if size += len(b) + 1; size > MaxBytes {
			res.Truncated = true
			break
		}
		res.Rows = append(res.Rows, r)
	}
	res.RowCount = len(res.Rows)
	return res, nil
}

// CodeReadTruncated is the warning of a result cut at its row limit.
const CodeReadTruncated = "READ_RESULT_TRUNCATED"

// CodeReadFailed is the fault of a read whose query Postgres refused.
const CodeReadFailed = "READ_FAILED"

// Vote is the read's vote: approved with the rows it returned, or
// approved_with_warnings when the result was cut, so nothing is narrowed
// silently.
func Vote(r Result) decision.Vote {
	v := decision.Vote{Authority: decision.AuthorityRuntimeValidation, Outcome: decision.Approved,
		Reason: fmt.Sprintf("read returned %d rows", r.RowCount)}
	if !r.Truncated {
		return v
	}
	v.Outcome = decision.ApprovedWithWarnings
	v.Reason = fmt.Sprintf("read returned the first %d rows: the result was cut at %s", r.RowCount, cut(r))
	v.Faults = []fault.Fault{{Code: CodeReadTruncated, Family: fault.RuntimeBehavioralFaults, Severity: fault.SeverityLow,
		Stage: fault.StageExecution, MandatoryAction: "warn", Message: v.Reason,
		Remediation: []string{"narrow the read (a filter, a shorter window, a grouping), or submit it again with a larger --row-limit"}}}
	return v
}

func cut(r Result) string {
	if r.RowCount >= r.RowLimit {
		return fmt.Sprintf("its row limit of %d", r.RowLimit)
	}
	return fmt.Sprintf("%d bytes, the most a result carries", MaxBytes)
}

// FailedVote blocks a read whose query Postgres refused: no retry changes
// it, and nothing was written.
func FailedVote(cause string) decision.Vote {
	f := fault.Fault{Code: CodeReadFailed, Family: fault.RuntimeBehavioralFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageExecution, MandatoryAction: "block", Message: "the read's query failed: " + cause,
		Remediation: []string{"check the filters' values and the catalog's types, then submit the read again"}}
	return decision.Vote{Authority: decision.AuthorityRuntimeValidation, Outcome: decision.Blocked, Reason: f.Message, Faults: []fault.Fault{f}}
}
