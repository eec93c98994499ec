-- name: RecordSkillExecution :execrows
-- Idempotent per intent: a retried activity keeps the first evaluation.
INSERT INTO skill_executions (intent_id, promotion_unit, domain, decided_at, decision_state, eligible, evidence, evaluation)
VALUES (@intent_id, @promotion_unit, @domain, @decided_at, @decision_state, @eligible, @evidence, @evaluation)
ON CONFLICT (intent_id) DO NOTHING;

-- name: GetSkillExecution :one
SELECT intent_id, promotion_unit, domain, decided_at, decision_state, eligible, evidence, evaluation, recorded_at
FROM skill_executions
WHERE intent_id = @intent_id;

-- name: SkillExecutionsInWindow :many
-- The evidence of one promotion unit decided in [since, until].
SELECT evidence
FROM skill_executions
WHERE promotion_unit = @promotion_unit
  AND decided_at >= @since
  AND decided_at <= @until
ORDER BY decided_at, intent_id;

-- name: FirstNotReproducible :many
-- The earliest execution of a promotion unit that did not replay (I8): one
-- is enough to block the skill's promotion for good.
SELECT intent_id
FROM skill_executions
WHERE promotion_unit = @promotion_unit
  AND (evidence ->> 'reproducible')::boolean IS FALSE
ORDER BY decided_at, intent_id
LIMIT 1;
