-- Promotion persists an artifact (whitepaper 5.12, docs/adr/0129): a
-- skill's artifact and skill_generation_metadata are written only when it
-- moves onto a `promoted` transition, both together, and never otherwise.
-- Each promotion's references (source intent, hashes) and metadata are in
-- the promoted transition's evidence, which is append-only; the plan and
-- code bytes stay in execution_plans (write-once) under the source intent.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION skills_artifact_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.artifact::text IS DISTINCT FROM OLD.artifact::text
       OR NEW.generation_metadata::text IS DISTINCT FROM OLD.generation_metadata::text THEN
        IF NEW.artifact IS NULL OR NEW.generation_metadata IS NULL OR NOT EXISTS (
            SELECT 1 FROM skill_transitions t
            WHERE t.skill_id = NEW.skill_id AND t.seq = NEW.last_seq AND t.seq = OLD.last_seq + 1
              AND t.trigger = 'promoted' AND t.to_state = 'persisted_active' AND NEW.state = 'persisted_active'
              AND t.evidence -> 'artifact' ->> 'plan_hash' = NEW.artifact ->> 'plan_hash'
              AND t.evidence -> 'artifact' ->> 'code_hash' = NEW.artifact ->> 'code_hash'
        ) THEN
            RAISE EXCEPTION 'skill %: its artifact and generation metadata are written only with a promoted transition that records the same hashes', OLD.skill_id
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Promote the skill (trigger promoted) with its artifact, in the transaction that records the transition.';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER skills_artifact_guard BEFORE UPDATE ON skills
    FOR EACH ROW EXECUTE FUNCTION skills_artifact_guard();

-- +goose Down
DROP TRIGGER skills_artifact_guard ON skills;
DROP FUNCTION skills_artifact_guard();
