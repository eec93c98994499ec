package app

import (
	"context"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/metrics"
)

// ObservedState reads what the scrape of /metrics reports from Postgres,
// the store of record: the escalations open now over every worker, the
// oldest one's time, the audit chain's length and the live schedules by
// state (metrics.WatchState).
func ObservedState(store *db.Store) metrics.StateFunc {
	return func(ctx context.Context) (metrics.State, error) {
		open, oldest, err := store.OpenEscalations(ctx)
		if err != nil {
			return metrics.State{}, err
		}
		head, _, err := store.AuditHead(ctx)
		if err != nil {
			return metrics.State{}, err
		}
		active, paused, err := store.CountSchedules(ctx)
		if err != nil {
			return metrics.State{}, err
		}
		return metrics.State{EscalationsOpen: open, Oldest: oldest, ChainLength: head, SchedulesActive: active, SchedulesPaused: paused}, nil
	}
}
