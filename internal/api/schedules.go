package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/service"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
	"github.com/contextualflux/cfa/proto/cfa/v1/cfav1connect"
)

// ScheduleServer implements cfav1connect.ScheduleServiceHandler over the
// same service as the CLI's `cfa schedule` (internal/service/schedules.go).
type ScheduleServer struct {
	*Server
}

var _ cfav1connect.ScheduleServiceHandler = ScheduleServer{}

func (s ScheduleServer) by(ctx context.Context) service.Caller {
	p := caller(ctx)
	return service.Caller{ID: p.ID, Type: string(p.Type), AuthContext: p.AuthContext}
}

func (s ScheduleServer) logSchedule(ctx context.Context, name, what string) {
	s.Logger.Info(what+" through the API", zap.String("schedule", name), zap.String("principal", caller(ctx).ID))
}

// CreateSchedule is `cfa schedule create`, the caller submitting every run.
func (s ScheduleServer) CreateSchedule(ctx context.Context, req *connect.Request[cfav1.CreateScheduleRequest]) (*connect.Response[cfav1.CreateScheduleResponse], error) {
	m := req.Msg
	r := service.ScheduleRequest{
		Name: m.GetName(), Cron: m.GetCron(), Text: m.GetText(), Skill: m.GetSkillId(),
		EscalationTimeoutSeconds: int(m.GetEscalationTimeoutSeconds()), DryRun: m.GetDryRun(), CostCeilingDBU: m.GetCostCeilingDbu(),
		PartialFailureMode: m.GetPartialFailureMode(), OnConflict: m.GetOnConflict(), UnitRetryBaseSeconds: int(m.GetUnitRetryBaseSeconds()),
		ReplanMode: m.GetReplanMode(), By: s.by(ctx), Reason: m.GetReason(),
	}
	if e := m.GetEvery(); e != "" {
		d, err := time.ParseDuration(e)
		if err != nil {
			return nil, invalidArg("every %q is not a duration: give a Go duration such as 24h or 15m", e)
		}
		r.Every = d
	}
	if m.GetSignature() != nil {
		sig, err := decodeSignature(m.GetSignature())
		if err != nil {
			return nil, err
		}
		r.Signature = sig
	}
	sch, err := s.Svc.CreateSchedule(ctx, r)
	if err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, sch.Name, "schedule created")
	out, err := scheduleOf(service.ScheduleSummary{Schedule: sch, State: service.ScheduleActive})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.CreateScheduleResponse{Schedule: out}), nil
}

// ListSchedules is `cfa schedule list`.
func (s ScheduleServer) ListSchedules(ctx context.Context, req *connect.Request[cfav1.ListSchedulesRequest]) (*connect.Response[cfav1.ListSchedulesResponse], error) {
	limit := int(req.Msg.GetLimit())
	if limit < 0 || limit > 1000 {
		return nil, invalidArg("limit %d: give 1 to 1000 (0 is 100)", limit)
	}
	list, err := s.Svc.ListSchedules(ctx, limit)
	if err != nil {
		return nil, scheduleError(err)
	}
	out := &cfav1.ListSchedulesResponse{}
	for _, x := range list {
		m, err := scheduleOf(x)
		if err != nil {
			return nil, toConnect(err)
		}
		out.Schedules = append(out.Schedules, m)
	}
	return connect.NewResponse(out), nil
}

// DescribeSchedule is `cfa schedule describe`.
func (s ScheduleServer) DescribeSchedule(ctx context.Context, req *connect.Request[cfav1.DescribeScheduleRequest]) (*connect.Response[cfav1.DescribeScheduleResponse], error) {
	runs := int(req.Msg.GetRuns())
	if runs < 0 || runs > 100 {
		return nil, invalidArg("runs %d: give 1 to 100 (0 is 10)", runs)
	}
	d, err := s.Svc.DescribeSchedule(ctx, req.Msg.GetName(), runs)
	if err != nil {
		return nil, scheduleError(err)
	}
	sum := service.ScheduleSummary{Schedule: d.Schedule, State: d.State, Note: d.Note}
	if len(d.NextRuns) > 0 && d.State == service.ScheduleActive {
		sum.NextRun = &d.NextRuns[0]
	}
	m, err := scheduleOf(sum)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &cfav1.DescribeScheduleResponse{Schedule: m, Running: d.Running, OverlapPolicy: d.Overlap, CatchupWindow: d.CatchupWindow,
		Actions: int32(d.Actions), SkippedOverlap: int32(d.SkippedOverlap)}
	for _, t := range d.NextRuns {
		out.NextRuns = append(out.NextRuns, timestamppb.New(t))
	}
	for _, r := range d.Runs {
		out.Runs = append(out.Runs, &cfav1.ScheduleRun{IntentId: r.IntentID, SubmittedAt: timestamppb.New(r.SubmittedAt), Status: r.Status,
			DecisionState: r.DecisionState, ConfirmationMode: r.Mode})
	}
	for _, a := range d.Standing {
		out.StandingApprovals = append(out.StandingApprovals, standingOf(a))
	}
	return connect.NewResponse(out), nil
}

// PauseSchedule is `cfa schedule pause`.
func (s ScheduleServer) PauseSchedule(ctx context.Context, req *connect.Request[cfav1.PauseScheduleRequest]) (*connect.Response[cfav1.PauseScheduleResponse], error) {
	sch, err := s.Svc.PauseSchedule(ctx, req.Msg.GetName(), req.Msg.GetReason(), s.by(ctx))
	if err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, sch.Name, "schedule paused")
	m, err := scheduleOf(service.ScheduleSummary{Schedule: sch, State: service.SchedulePaused, Note: sch.PausedReason})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.PauseScheduleResponse{Schedule: m}), nil
}

// UnpauseSchedule is `cfa schedule unpause`.
func (s ScheduleServer) UnpauseSchedule(ctx context.Context, req *connect.Request[cfav1.UnpauseScheduleRequest]) (*connect.Response[cfav1.UnpauseScheduleResponse], error) {
	sch, err := s.Svc.UnpauseSchedule(ctx, req.Msg.GetName(), req.Msg.GetReason(), s.by(ctx))
	if err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, sch.Name, "schedule unpaused")
	m, err := scheduleOf(service.ScheduleSummary{Schedule: sch, State: service.ScheduleActive})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&cfav1.UnpauseScheduleResponse{Schedule: m}), nil
}

// TriggerSchedule is `cfa schedule trigger`.
func (s ScheduleServer) TriggerSchedule(ctx context.Context, req *connect.Request[cfav1.TriggerScheduleRequest]) (*connect.Response[cfav1.TriggerScheduleResponse], error) {
	if err := s.Svc.TriggerSchedule(ctx, req.Msg.GetName(), req.Msg.GetReason(), s.by(ctx)); err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, req.Msg.GetName(), "schedule triggered")
	return connect.NewResponse(&cfav1.TriggerScheduleResponse{Name: req.Msg.GetName()}), nil
}

// BackfillSchedule is `cfa schedule backfill`.
func (s ScheduleServer) BackfillSchedule(ctx context.Context, req *connect.Request[cfav1.BackfillScheduleRequest]) (*connect.Response[cfav1.BackfillScheduleResponse], error) {
	b, err := s.Svc.BackfillSchedule(ctx, req.Msg.GetName(), req.Msg.GetFrom(), req.Msg.GetTo(), s.by(ctx))
	if err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, req.Msg.GetName(), "schedule backfilled")
	return connect.NewResponse(&cfav1.BackfillScheduleResponse{Name: req.Msg.GetName(), Runs: int32(b.Runs)}), nil
}

// DeleteSchedule is `cfa schedule delete`.
func (s ScheduleServer) DeleteSchedule(ctx context.Context, req *connect.Request[cfav1.DeleteScheduleRequest]) (*connect.Response[cfav1.DeleteScheduleResponse], error) {
	revoked, err := s.Svc.DeleteSchedule(ctx, req.Msg.GetName(), req.Msg.GetReason(), s.by(ctx))
	if err != nil {
		return nil, scheduleError(err)
	}
	s.logSchedule(ctx, req.Msg.GetName(), "schedule deleted")
	return connect.NewResponse(&cfav1.DeleteScheduleResponse{Name: req.Msg.GetName(), RevokedStandingApprovals: revoked}), nil
}

func scheduleOf(x service.ScheduleSummary) (*cfav1.Schedule, error) {
	m := &cfav1.Schedule{
		Name: x.Name, ScheduleId: x.TemporalID, Source: x.Source, Input: x.Input, Cron: x.Cron, Every: x.Every, SkillId: x.SkillID,
		CreatedBy: x.CreatedBy, CreatedAt: timestamppb.New(x.CreatedAt), State: x.State, PausedReason: x.PausedReason, Note: x.Note,
	}
	if x.NextRun != nil {
		m.NextRun = timestamppb.New(*x.NextRun)
	}
	if x.LastRun != nil {
		m.LastRunIntentId = x.LastRun.IntentID
	}
	if len(x.Options) > 0 && json.Valid(x.Options) {
		st, err := rawStruct(x.Options)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: options: %w", x.Name, err)
		}
		m.Options = st
	}
	return m, nil
}

func standingOf(a db.StandingApproval) *cfav1.StandingApproval {
	m := &cfav1.StandingApproval{
		Id: a.ID, SkillId: a.SkillID, PolicyBundleVersion: a.PolicyBundleVersion, CatalogSnapshotVersion: a.CatalogSnapshotVersion,
		ConfirmationMode: string(a.Mode), ApprovedBy: &cfav1.Principal{Id: a.ApprovedBy.ID, Type: string(a.ApprovedBy.Type), AuthContext: a.ApprovedBy.AuthContext},
		Reason: a.Reason, GrantedAt: timestamppb.New(a.GrantedAt), ExpiresAt: timestamppb.New(a.ExpiresAt), GrantedByIntent: a.GrantedByIntent,
		RevokedBy: a.RevokedBy, RevokeReason: a.RevokeReason,
	}
	for _, c := range a.Categories {
		m.Categories = append(m.Categories, string(c))
	}
	if a.RevokedAt != nil {
		m.RevokedAt = timestamppb.New(*a.RevokedAt)
	}
	return m
}

// scheduleError maps the schedules' errors to Connect codes.
func scheduleError(err error) error {
	switch {
	case errors.Is(err, db.ErrScheduleNotFound), errors.Is(err, db.ErrSkillNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, db.ErrScheduleExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	}
	return toConnect(err)
}
