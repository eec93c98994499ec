package db

import (
	"context"

	"github.com/contextualflux/cfa/internal/audit"
)

// AppendGroups is appendGroups on s's pool, for tests of a batch.
func AppendGroups(ctx context.Context, s *Store, groups [][]audit.Event) ([][]audit.Receipt, []error) {
	return appendGroups(ctx, s.q, groups)
}
