package api

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/internal/skill"
	cfav1 "github.com/contextualflux/cfa/proto/cfa/v1"
)

// ListSkills is `cfa skill list`.
func (s *Server) ListSkills(ctx context.Context, req *connect.Request[cfav1.ListSkillsRequest]) (*connect.Response[cfav1.ListSkillsResponse], error) {
	var state skill.State
	if v := req.Msg.GetState(); v != "" {
		st, err := skill.ParseState(v)
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, err)
		}
		state = st
	}
	limit := int(req.Msg.GetLimit())
	if limit < 0 || limit > 1000 {
		return nil, invalidArg("limit %d: give 1 to 1000 (0 is 100)", limit)
	}
	skills, err := s.Svc.Store.Skills(ctx, state, limit)
	if err != nil {
		return nil, skillError(err)
	}
	out := &cfav1.ListSkillsResponse{}
	for _, k := range skills {
		m, err := skillOf(k)
		if err != nil {
			return nil, toConnect(err)
		}
		out.Skills = append(out.Skills, m)
	}
	return connect.NewResponse(out), nil
}

// GetSkill is `cfa skill show` and `cfa skill history`.
func (s *Server) GetSkill(ctx context.Context, req *connect.Request[cfav1.GetSkillRequest]) (*connect.Response[cfav1.GetSkillResponse], error) {
	id, err := s.Svc.Store.ResolveSkillID(ctx, req.Msg.GetSkillId())
	if err != nil {
		return nil, skillError(err)
	}
	k, err := s.Svc.Store.Skill(ctx, id)
	if err != nil {
		return nil, skillError(err)
	}
	history, err := s.Svc.Store.SkillHistory(ctx, id)
	if err != nil {
		return nil, skillError(err)
	}
	m, err := skillOf(k)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &cfav1.GetSkillResponse{Skill: m}
	for _, t := range skill.Allowed(k.State) {
		out.Allowed = append(out.Allowed, string(t))
	}
	for _, t := range history {
		out.History = append(out.History, &cfav1.SkillTransition{
			Seq: t.Seq, FromState: string(t.From), ToState: string(t.To), Trigger: string(t.Trigger), Reason: t.Reason,
			Actor: &cfav1.Principal{Id: t.Actor.ID, Type: string(t.Actor.Type), AuthContext: t.Actor.AuthContext},
			Cause: t.Cause, At: timestamppb.New(t.At), AuditId: t.AuditID,
		})
	}
	return connect.NewResponse(out), nil
}

func skillOf(k db.Skill) (*cfav1.Skill, error) {
	m := &cfav1.Skill{SkillId: k.ID, State: string(k.State), Transitions: k.Transitions, Domain: k.Domain, Intent: k.Intent,
		CreatedAt: timestamppb.New(k.CreatedAt), UpdatedAt: timestamppb.New(k.UpdatedAt)}
	for _, f := range []struct {
		raw []byte
		to  **structpb.Struct
	}{{k.Signature, &m.Signature}, {k.Artifact, &m.Artifact}, {k.GenerationMetadata, &m.GenerationMetadata}} {
		if len(f.raw) == 0 {
			continue
		}
		st, err := rawStruct(f.raw)
		if err != nil {
			return nil, fmt.Errorf("skill %s: %w", k.ID, err)
		}
		*f.to = st
	}
	return m, nil
}

// PromoteSkill is `cfa skill promote`, as the caller.
func (s *Server) PromoteSkill(ctx context.Context, req *connect.Request[cfav1.PromoteSkillRequest]) (*connect.Response[cfav1.PromoteSkillResponse], error) {
	if req.Msg.GetSkillId() == "" {
		return nil, invalidArg("skill_id is required")
	}
	p := caller(ctx)
	t, err := service.PromoteSkill(ctx, s.Svc.Store, s.Bundle, req.Msg.GetSkillId(), service.Caller{ID: p.ID, Type: string(p.Type), AuthContext: p.AuthContext}, req.Msg.GetReason())
	if err != nil {
		if errors.Is(err, skill.ErrRefused) {
			return nil, connect.NewError(connect.CodeFailedPrecondition, err)
		}
		return nil, skillError(err)
	}
	k, err := s.Svc.Store.Skill(ctx, t.SkillID)
	if err != nil {
		return nil, skillError(err)
	}
	m, err := skillOf(k)
	if err != nil {
		return nil, toConnect(err)
	}
	s.log(ctx, "skill:"+t.SkillID).Info("skill promoted through the API")
	return connect.NewResponse(&cfav1.PromoteSkillResponse{Skill: m, Transition: &cfav1.SkillTransition{
		Seq: t.Seq, FromState: string(t.From), ToState: string(t.To), Trigger: string(t.Trigger), Reason: t.Reason,
		Actor: &cfav1.Principal{Id: t.Actor.ID, Type: string(t.Actor.Type), AuthContext: t.Actor.AuthContext},
		Cause: t.Cause, At: timestamppb.New(t.At), AuditId: t.AuditID,
	}}), nil
}

// skillError maps the store's skill errors to Connect codes.
func skillError(err error) error {
	switch {
	case errors.Is(err, db.ErrSkillNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, db.ErrInvalidSkillID), errors.Is(err, db.ErrSkillAmbiguous), errors.Is(err, skill.ErrUnknownState):
		return connect.NewError(connect.CodeInvalidArgument, err)
	}
	return toConnect(err)
}
