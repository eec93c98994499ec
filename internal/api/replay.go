package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/service"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
)

// ReplayIntent is `cfa replay`: the intent runs again from its record and
// each stage is compared (ADR 0127); with execute, its units too (ADR
// 0128). A difference is the answer, not an error.
func (s *Server) ReplayIntent(ctx context.Context, req *connect.Request[cfav1.ReplayIntentRequest]) (*connect.Response[cfav1.ReplayIntentResponse], error) {
	id := req.Msg.GetIntentId()
	if id == "" {
		return nil, invalidArg("intent_id is required")
	}
	if err := checkIntentID(id); err != nil {
		return nil, err
	}
	res, err := s.Svc.Replay(ctx, id, req.Msg.GetExecute())
	switch {
	case errors.Is(err, db.ErrIntentNotFound):
		return nil, connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, service.ErrNotReplayable):
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	case err != nil:
		return nil, toConnect(err)
	}
	s.log(ctx, id).Info("intent replayed", replayFields(res)...)
	return connect.NewResponse(replayOf(res)), nil
}

func replayOf(res replay.Result) *cfav1.ReplayIntentResponse {
	in := res.Inputs
	out := &cfav1.ReplayIntentResponse{
		IntentId: res.IntentID, Identical: res.Identical, Refused: res.Refused, Through: res.Through,
		Inputs: &cfav1.ReplayInputs{UserIntent: in.UserIntent, StructuredSignature: in.Signature, RegistryVersionId: in.RegistryVersionID,
			PolicyBundleVersion: in.PolicyBundleVersion, CatalogSnapshotVersion: in.CatalogSnapshotVersion, AsOf: in.AsOf},
		FirstDifference: differenceOf(res.FirstDifference),
	}
	for _, st := range res.Stages {
		out.Stages = append(out.Stages, &cfav1.ReplayStage{Stage: st.Stage, Cycle: int32(st.Cycle), Identical: st.Identical, Recorded: st.Recorded, Replayed: st.Replayed})
	}
	for _, a := range res.Answers {
		out.Answers = append(out.Answers, &cfav1.ReplayAnswer{Stage: a.Stage, Answer: a.Answer})
	}
	if ex := res.Execution; ex != nil {
		out.Identical = out.Identical && ex.Identical
		e := &cfav1.ReplayExecution{Identical: ex.Identical, Refused: ex.Refused, FirstDifference: differenceOf(ex.FirstDifference)}
		for _, u := range ex.Units {
			m := &cfav1.ReplayUnit{Key: u.Key, Attempt: int32(u.Attempt), Outcome: u.Outcome, Reason: u.Reason,
				Recorded: &cfav1.Fingerprint{Rows: u.Recorded.Rows, Sha256: u.Recorded.SHA256}}
			if f := u.Replayed; f != nil {
				m.Replayed = &cfav1.Fingerprint{Rows: f.Rows, Sha256: f.SHA256}
			}
			e.Units = append(e.Units, m)
		}
		out.Execution = e
	}
	return out
}

func differenceOf(d *replay.Difference) *cfav1.ReplayDifference {
	if d == nil {
		return nil
	}
	return &cfav1.ReplayDifference{Stage: d.Stage, Cycle: int32(d.Cycle), Field: d.Field, Recorded: d.Recorded, Replayed: d.Replayed}
}

func replayFields(res replay.Result) []zap.Field {
	f := []zap.Field{zap.Bool("identical", res.Identical), zap.String("through", res.Through)}
	if d := res.FirstDifference; d != nil {
		f = append(f, zap.String("differs_at", d.Stage), zap.String("field", d.Field))
	}
	if res.Refused != "" {
		f = append(f, zap.String("refused", res.Refused))
	}
	if ex := res.Execution; ex != nil {
		f = append(f, zap.Bool("execution_identical", ex.Identical))
	}
	return f
}
