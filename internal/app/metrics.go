package app

import (
	"context"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/metrics"
)

// ObservedState reads what the scrape of /metrics reports from Postgres,
// the store of record: the escalations open now over every worker, the
// oldest one's time and the audit chain's length (metrics.WatchState).
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
		return metrics.State{EscalationsOpen: open, Oldest: oldest, ChainLength: head}, nil
	}
}
