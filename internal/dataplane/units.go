package dataplane

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/internal/catalog"
)

// StagedPartitions lists the partition values of the rows unit unitKey of
// intentID staged in target, as cfa_publication holds them: what a unit
// not narrowed to one partition (a dataset unit, docs/adr/0138) writes,
// read before Promote empties staging. Nil for an unpartitioned target.
func StagedPartitions(ctx context.Context, db Querier, target catalog.Dataset, intentID, unitKey string) ([]string, error) {
	if target.PartitionKey == "" || !Governed(target) {
		return nil, nil
	}
	rows, err := db.Query(ctx, fmt.Sprintf("SELECT DISTINCT %s FROM %s t WHERE %s = $1 AND %s = $2 ORDER BY 1",
		partitionText("t", target), StagingTable(target), q("t", ColIntentID), q("t", ColUnitKey)), intentID, unitKey)
	if err != nil {
		return nil, fmt.Errorf("list the partitions unit %s of intent %s staged in %s: %w", unitKey, intentID, target.Name, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the partitions unit %s of intent %s staged in %s: %w", unitKey, intentID, target.Name, err)
	}
	return out, nil
}
