package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/readresult"
)

// ReadResult is what a read returns (docs/adr/0132).
type ReadResult = readresult.Result

// ReadScopes are the scope keys of what a read plan reads, one per
// dataset: step 12 checks them against open projection failures (I4), as
// a write's against its target's. A read takes no lock.
func ReadScopes(p planner.ExecutionPlan) []string {
	sources := dataplane.ReadScope(p)
	out := make([]string, len(sources))
	for i, d := range sources {
		out[i] = concurrency.Scope{Dataset: d}.Key()
	}
	return out
}

// ReadInput is step 13 of a read: the recorded plan and code to run, and
// the policy bundle the signature was governed under.
type ReadInput struct {
	Plan                PlanRef `json:"plan"`
	PolicyBundleVersion string  `json:"policy_bundle_version"`
}

// ReadOutcome is a read's step 13: its result, and the stage's vote.
type ReadOutcome struct {
	Stage
	Result *ReadResult `json:"result,omitempty"`
}

// ExecuteRead runs a read (step 13, docs/adr/0132): the statically
// validated SELECT, on the sandbox login as a role that may only SELECT
// the read's sources, in a READ ONLY transaction with the statement
// timeout, fetching at most the row limit plus one row. The result
// carries the rows, masked as the plan says (docs/adr/0133); the audit
// trail records READ_EXECUTED (action READ) with the rows returned and the
// columns masked, never the rows. A query Postgres refuses blocks the
// intent; an outage is retried.
func (a *Activities) ExecuteRead(ctx context.Context, st Step, in ReadInput) (ReadOutcome, error) {
	defer heartbeating(ctx, HeartbeatEvery)()
	log := a.log(st.IntentID, intent.StageExecution)
	ex, err := a.executable(ctx, in.Plan)
	if err != nil {
		return ReadOutcome{}, err
	}
	q, ok := ex.Plan.QueryStep()
	if !ok || !ex.Plan.Read() {
		return ReadOutcome{}, invalid(fmt.Errorf("read of intent %s: plan %s is not a read: the workflow runs a plan that writes with ExecuteUnit", st.IntentID, ex.Plan.Hash))
	}
	sources := dataplane.ReadScope(ex.Plan)
	rec := events.ReadExecuted{PlanHash: ex.Plan.Hash, CodeHash: ex.Code.Hash, Sources: sources, Columns: planner.Names(q.Columns),
		RowLimit: q.Params.Query.Limit, MaskedColumns: ex.Plan.MaskedColumns(), Window: ex.Plan.Window}
	if rec.MaskedColumns == nil {
		rec.MaskedColumns = []planner.MaskedColumn{} // [] in the receipt: nothing was masked
	}
	targets := make([]string, len(sources))
	for i, s := range sources {
		targets[i] = "dataset:" + s
	}
	t := newTrail(st)
	out := ReadOutcome{}
	failed := func(cause string) (ReadOutcome, error) {
		rec.Error = cause
		t.add(intent.StageExecution, "failed", audit.ActionRead, targets, rec)
		out.Summary = "read failed: " + cause
		out.stop(readresult.FailedVote(cause))
		log.Warn("read failed", zap.String("plan_hash", ex.Plan.Hash), zap.String("error", cause))
		return out, a.finish(ctx, t, &out.Stage)
	}
	if in.PolicyBundleVersion != a.Bundle.Version {
		// The masking the plan applies is the signed bundle's: a worker
		// enforcing another one does not return its rows.
		return failed(fmt.Sprintf("the policy bundle changed since the read was signed (signed %s, in force %s): submit the read again", in.PolicyBundleVersion, a.Bundle.Version))
	}
	role, err := a.Store.EnsureReadRole(ctx, a.Catalog, sources)
	if err != nil {
		return out, fmt.Errorf("prepare the read role of intent %s: %w", st.IntentID, err)
	}
	activity.RecordHeartbeat(ctx)
	rows, err := a.Store.RunRead(ctx, db.ReadRun{
		Read: dataplane.Read{IntentID: st.IntentID, StatementTimeout: a.statementTimeout()}, Role: role, Query: ex.script(),
		MaxRows: q.Params.Query.Limit + 1, Heartbeat: func() { activity.RecordHeartbeat(ctx) }, HeartbeatEvery: HeartbeatEvery,
	})
	switch {
	case err == nil:
	case ctx.Err() == nil && (rejected(err) || timedOut(err) || errors.Is(err, dataplane.ErrInvalidOptions)):
		// Refused for what it is (a value out of range, a permission
		// revoked, a statement timeout): no retry changes it.
		return failed(err.Error())
	default:
		return out, err // an outage or a stopping worker: retried
	}
	res, err := readresult.Build(ex.Plan, rows)
	if err != nil {
		return out, invalid(err)
	}
	rec.RowsRead, rec.Truncated = res.RowCount, res.Truncated
	outcome := "returned"
	if res.Truncated {
		outcome = "truncated"
	}
	t.add(intent.StageExecution, outcome, audit.ActionRead, targets, rec)
	out.Result = &res
	out.Summary = summary(res)
	out.stop(readresult.Vote(res))
	log.Info("read returned", zap.String("plan_hash", ex.Plan.Hash), zap.Int("rows", res.RowCount), zap.Bool("truncated", res.Truncated),
		zap.Strings("sources", sources), zap.Int("masked_columns", len(res.MaskedColumns)))
	return out, a.finish(ctx, t, &out.Stage)
}

func summary(r ReadResult) string {
	s := fmt.Sprintf("%d rows of %s", r.RowCount, strings.Join(r.Names(), ", "))
	if r.Truncated {
		s = fmt.Sprintf("first %d rows (truncated) of %s", r.RowCount, strings.Join(r.Names(), ", "))
	}
	if len(r.MaskedColumns) > 0 {
		m := make([]string, len(r.MaskedColumns))
		for i, c := range r.MaskedColumns {
			m[i] = fmt.Sprintf("%s %s", c.Column, c.Mask)
		}
		s += "; masked: " + strings.Join(m, ", ")
	}
	return s
}

// timedOut reports a statement cancelled by its statement_timeout
// (query_canceled): a read that ran out of time runs out again.
func timedOut(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "57014"
}
