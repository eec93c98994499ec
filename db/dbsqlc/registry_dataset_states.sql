-- name: CopyDatasetStates :exec
-- Copy-on-write: the new snapshot starts as a full copy of its parent.
INSERT INTO registry_dataset_states (
    version_id, dataset, state, publish_allowed, last_successful_partition,
    pending_partitions, quarantined_units, updated_at
)
SELECT @version_id, p.dataset, p.state, p.publish_allowed, p.last_successful_partition,
       p.pending_partitions, p.quarantined_units, p.updated_at
FROM registry_dataset_states p
WHERE p.version_id = @parent_version_id;

-- name: UpsertDatasetState :exec
INSERT INTO registry_dataset_states (
    version_id, dataset, state, publish_allowed, last_successful_partition,
    pending_partitions, quarantined_units, updated_at
) VALUES (
    @version_id, @dataset, @state, @publish_allowed, @last_successful_partition,
    @pending_partitions, @quarantined_units, @updated_at
)
ON CONFLICT (version_id, dataset) DO UPDATE SET
    state = EXCLUDED.state,
    publish_allowed = EXCLUDED.publish_allowed,
    last_successful_partition = EXCLUDED.last_successful_partition,
    pending_partitions = EXCLUDED.pending_partitions,
    quarantined_units = EXCLUDED.quarantined_units,
    updated_at = EXCLUDED.updated_at;

-- name: ListDatasetStates :many
SELECT * FROM registry_dataset_states
WHERE version_id = $1
ORDER BY dataset;
