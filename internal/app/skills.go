package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/redact"
	"github.com/contextualflux/cfa/internal/service"
)

// ReevaluateSkills is `cfa skill reevaluate`: the worker's start-up
// re-evaluation (reevaluateSkills) with the configured bundle and catalog,
// from the CLI.
func ReevaluateSkills(ctx context.Context, cfg Config, logger *zap.Logger) ([]service.Reevaluation, error) {
	cat, err := LoadCatalog(cfg.CatalogDir)
	if err != nil {
		return nil, err
	}
	bundle, err := LoadBundle(ctx, cfg.PolicyDir)
	if err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, cfg.DatabaseURL, cfg.SandboxLogin())
	if err != nil {
		return nil, fmt.Errorf("open Postgres at %s: %w", redact.URL(cfg.DatabaseURL), err)
	}
	defer store.Close()
	if err := store.RecordContextVersions(ctx, bundle, cat); err != nil {
		return nil, err
	}
	c, err := Dial(cfg, logger)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	acts := activities.New(store, cat, bundle, logger, extension.Points{})
	acts.Notifier = notifierFor(cfg)
	return reevaluateSkills(ctx, store, bundle, cat, c, acts, logger)
}

// reevaluateSkills re-checks every skill against the bundle and catalog in
// force (service.ReevaluateSkills, ADR 0129); a skill that leaves service
// has its schedules paused and governance_team notified.
func reevaluateSkills(ctx context.Context, store *db.Store, bundle *policy.Bundle, cat *catalog.Catalog, c client.Client, acts *activities.Activities, logger *zap.Logger) ([]service.Reevaluation, error) {
	env, err := store.LatestSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("re-evaluate skills: read the registry: %w", err)
	}
	out := func(ctx context.Context, skillID, reason string) ([]string, error) {
		paused, err := activities.PauseSchedulesOfSkill(ctx, c, store, skillID, reason)
		n := activities.Notification{Notify: "governance_team", Reason: "skill_out_of_service", AuditEvent: "SKILL_TRANSITION",
			CorrelationID: "skill:" + skillID, SkillID: skillID, PausedSchedules: paused, Text: reason}
		if nerr := acts.NotifyGovernance(ctx, n); nerr != nil {
			logger.Error("skill out of service: governance_team not notified", zap.String("skill_id", skillID), zap.Error(nerr))
		}
		return paused, err
	}
	done, err := service.ReevaluateSkills(ctx, store, bundle, cat, env, out)
	for _, r := range done {
		logger.Warn("skill re-evaluated against the context in force",
			zap.String("skill_id", r.SkillID), zap.String("from", string(r.From)), zap.String("to", string(r.To)),
			zap.String("trigger", string(r.Trigger)), zap.String("reason", r.Reason), zap.Strings("paused_schedules", r.Paused))
	}
	return done, err
}

func notifierFor(cfg Config) *activities.Notifier {
	return &activities.Notifier{WebhookURL: cfg.WebhookURL, Client: &http.Client{Timeout: 10 * time.Second}}
}
