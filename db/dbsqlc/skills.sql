-- name: EnsureSkill :execrows
-- A new skill is ephemeral with no transition; an existing one is kept.
INSERT INTO skills (skill_id, state, domain, intent, signature)
VALUES (@skill_id, 'ephemeral', @domain, @intent, @signature)
ON CONFLICT (skill_id) DO NOTHING;

-- name: GetSkill :one
SELECT skill_id, state, last_seq, domain, intent, signature, created_at, updated_at, artifact, generation_metadata
FROM skills WHERE skill_id = @skill_id;

-- name: LockSkill :one
-- Serialises the transitions of one skill until the transaction ends.
SELECT skill_id, state, last_seq, domain, intent, signature, created_at, updated_at, artifact, generation_metadata
FROM skills WHERE skill_id = @skill_id FOR UPDATE;

-- name: ListSkills :many
-- Every skill, or those in one state ('' for all), most recently changed first.
SELECT skill_id, state, last_seq, domain, intent, signature, created_at, updated_at, artifact, generation_metadata
FROM skills
WHERE (@state::text = '' OR state = @state::text)
ORDER BY updated_at DESC, skill_id
LIMIT @max_rows;

-- name: SkillIDsWithPrefix :many
-- Up to two ids starting with a prefix: one is the skill, two are ambiguous.
SELECT skill_id FROM skills WHERE starts_with(skill_id, @prefix::text) ORDER BY skill_id LIMIT 2;

-- name: InsertSkillTransition :exec
INSERT INTO skill_transitions (skill_id, seq, from_state, to_state, trigger, reason, evidence, actor_id, actor_type, cause, audit_id, at)
VALUES (@skill_id, @seq, @from_state, @to_state, @trigger, @reason, @evidence, @actor_id, @actor_type, @cause, @audit_id, @at);

-- name: MoveSkill :exec
-- Onto the transition just recorded (the skills_guard trigger checks it).
UPDATE skills SET state = @state, last_seq = @last_seq, updated_at = @updated_at WHERE skill_id = @skill_id;

-- name: SkillTransitionByCause :one
SELECT skill_id, seq, from_state, to_state, trigger, reason, evidence, actor_id, actor_type, cause, audit_id, at
FROM skill_transitions WHERE skill_id = @skill_id AND cause = @cause;

-- name: SkillTransitions :many
-- The history of one skill, oldest first.
SELECT skill_id, seq, from_state, to_state, trigger, reason, evidence, actor_id, actor_type, cause, audit_id, at
FROM skill_transitions WHERE skill_id = @skill_id ORDER BY seq;

-- name: PromoteSkill :exec
-- Onto the promoted transition just recorded, with what it froze (the
-- skills_artifact_guard trigger checks both).
UPDATE skills SET state = @state, last_seq = @last_seq, updated_at = @updated_at,
    artifact = @artifact, generation_metadata = @generation_metadata
WHERE skill_id = @skill_id;
