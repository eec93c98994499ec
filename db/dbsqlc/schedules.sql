-- name: InsertSchedule :one
INSERT INTO schedules (id, name, schedule_id, source, input, cron, every, options, skill_id, created_by)
VALUES (@id, @name, @schedule_id, @source, @input, @cron, @every, @options, @skill_id, @created_by)
RETURNING *;

-- name: GetLiveSchedule :one
-- The schedule of that name that is not deleted.
SELECT * FROM schedules WHERE name = @name AND deleted_at IS NULL;

-- name: ListLiveSchedules :many
SELECT * FROM schedules WHERE deleted_at IS NULL ORDER BY name LIMIT @max_rows;

-- name: SetSchedulePaused :one
UPDATE schedules SET paused = @paused, paused_reason = @paused_reason, updated_at = now()
WHERE name = @name AND deleted_at IS NULL
RETURNING *;

-- name: MarkScheduleDeleted :one
UPDATE schedules SET deleted_at = now(), updated_at = now()
WHERE name = @name AND deleted_at IS NULL
RETURNING *;

-- name: BindScheduleSkill :execrows
-- Binds a schedule to its skill once; a bound schedule keeps its skill.
UPDATE schedules SET skill_id = @skill_id, updated_at = now()
WHERE name = @name AND deleted_at IS NULL AND skill_id IS NULL;

-- name: SchedulesOfSkill :many
SELECT * FROM schedules WHERE skill_id = @skill_id AND deleted_at IS NULL ORDER BY name;

-- name: CountSchedules :one
-- The live schedules by state, for /metrics.
SELECT count(*) FILTER (WHERE NOT paused)::bigint AS active, count(*) FILTER (WHERE paused)::bigint AS paused
FROM schedules WHERE deleted_at IS NULL;

-- name: IntentsOfCorrelation :many
-- The intents of one correlation id (a schedule's runs), newest first.
SELECT * FROM intents WHERE correlation_id = @correlation_id
ORDER BY submitted_at DESC, intent_id
LIMIT @max_rows;
