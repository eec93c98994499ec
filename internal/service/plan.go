package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// PlanView is steps 8–10 of an intent as stored: `cfa plan`, `cfa code`
// and the API's GetPlan and GetCode read it.
type PlanView struct {
	Record  db.PlanRecord
	PreCost activities.PreCost
	Plan    *planner.ExecutionPlan
	Static  *staticcheck.Report
	Code    []codegen.Artifact
}

// Plan reads an intent's stored plan record.
func (s *Service) Plan(ctx context.Context, intentID string) (PlanView, error) {
	rec, err := s.Store.GetPlan(ctx, intentID)
	if err != nil {
		return PlanView{}, err
	}
	return DecodePlan(rec)
}

// DecodePlan decodes a stored plan record.
func DecodePlan(rec db.PlanRecord) (PlanView, error) {
	intentID := rec.IntentID
	v := PlanView{Record: rec}
	if err := json.Unmarshal(rec.PreCost, &v.PreCost); err != nil {
		return v, fmt.Errorf("decode pre-cost of intent %s: %w", intentID, err)
	}
	if rec.Plan != nil {
		v.Plan = new(planner.ExecutionPlan)
		if err := json.Unmarshal(rec.Plan, v.Plan); err != nil {
			return v, fmt.Errorf("decode plan of intent %s: %w", intentID, err)
		}
	}
	if rec.StaticReport != nil {
		v.Static = new(staticcheck.Report)
		if err := json.Unmarshal(rec.StaticReport, v.Static); err != nil {
			return v, fmt.Errorf("decode static report of intent %s: %w", intentID, err)
		}
	}
	if rec.Artifacts != nil {
		if err := json.Unmarshal(rec.Artifacts, &v.Code); err != nil {
			return v, fmt.Errorf("decode code of intent %s: %w", intentID, err)
		}
	}
	return v, nil
}
