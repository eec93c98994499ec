package replay

import (
	"fmt"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/readresult"
)

// A read (docs/adr/0132): planned, generated and validated like any
// intent, so replayed and compared like one; it holds no lock, and its
// query's rows are the environment's answer (READ_EXECUTED records how
// many, never the rows): the read's vote is computed again from it.

// reads reports whether the replayed plan is a read's.
func (r *run) reads() bool { return r.plan.Plan != nil && r.plan.Plan.Read() }

// read is step 13 of a read.
func (r *run) read() error {
	r.stopped = true // nothing is committed or projected
	e, ok, err := r.take(intent.StageExecution, true, audit.EventReadExecuted)
	if err != nil || !ok {
		return err
	}
	var got events.ReadExecuted
	if err := e.decode(&got); err != nil {
		return err
	}
	if got.PlanHash != r.plan.Plan.Hash {
		return r.differ(intent.StageExecution, "plan_hash", got.PlanHash, r.plan.Plan.Hash)
	}
	if e.Outcome == "failed" {
		r.answer(intent.StageExecution, "the read's query failed: "+oneLine(got.Error))
		r.vote(readresult.FailedVote(got.Error))
		return nil
	}
	res := readresult.Result{RowCount: got.RowsRead, Truncated: got.Truncated, RowLimit: got.RowLimit, MaskedColumns: got.MaskedColumns}
	if want := r.plan.Plan.MaskedColumns(); fmt.Sprint(want) != fmt.Sprint(got.MaskedColumns) {
		return r.differ(intent.StageExecution, "masked_columns", fmt.Sprint(got.MaskedColumns), fmt.Sprint(want))
	}
	r.answer(intent.StageExecution, fmt.Sprintf("the read returned %d rows (truncated: %v)", got.RowsRead, got.Truncated))
	r.vote(readresult.Vote(res))
	return nil
}
