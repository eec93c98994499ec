package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/internal/skill/skilltest"
)

var (
	promotionEngine = audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem}
	maria           = audit.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "cli"}
)

// skillSignature is a governed signature; intent names the skill.
func skillSignature(intent string) signature.Signature {
	return signature.Signature{
		Domain: "fiscal", Intent: intent, TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpJoin},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, Layer: "bronze"},
			{Name: "silver_documentos", Role: signature.RoleTarget, Layer: "silver", MergeKey: "nfe_id"},
		},
		Constraints:      signature.Constraints{NoPIIRaw: true, MergeKey: "nfe_id"},
		ExecutionContext: signature.ExecutionContext{PolicyBundleVersion: "v1", CatalogSnapshotVersion: "c1", RegistryVersionID: "r1"},
	}
}

// move applies trigger and wants the transition to succeed.
func move(t *testing.T, s *db.Store, id string, trigger skill.Trigger, by audit.Principal) db.SkillTransition {
	t.Helper()
	c := db.SkillChange{SkillID: id, Trigger: trigger, Reason: "test: " + string(trigger), Actor: by}
	if trigger == skill.Promoted {
		c.Promotion = promotionOf(t, s, id)
	}
	tr, err := s.ApplySkillTransition(context.Background(), c)
	require.NoError(t, err)
	return tr
}

// promotionOf is a valid promotion of the registered skill id.
func promotionOf(t *testing.T, s *db.Store, id string) *skill.Promotion {
	t.Helper()
	sk, err := s.Skill(context.Background(), id)
	require.NoError(t, err)
	var sig signature.Signature
	require.NoError(t, json.Unmarshal(sk.Signature, &sig))
	return skilltest.Promotion("intent-test", sig)
}

// activeSkill registers a skill and promotes it.
func activeSkill(t *testing.T, s *db.Store, intent string) string {
	t.Helper()
	sk, created, err := s.EnsureSkill(context.Background(), skillSignature(intent))
	require.NoError(t, err)
	require.True(t, created)
	move(t, s, sk.ID, skill.GatePassed, promotionEngine)
	move(t, s, sk.ID, skill.Promoted, maria)
	return sk.ID
}

// TestSkillTransitionsAreRecordedAndAudited: as the worker, a skill is
// registered ephemeral, moves along the table, and every transition is in
// its history and in an audit trail of its own, sealed in the chain with
// the transition.
func TestSkillTransitionsAreRecordedAndAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_skills_audit")
	s := db.New(d.Worker)

	sig := skillSignature("reconciliation_and_persist")
	sk, created, err := s.EnsureSkill(ctx, sig)
	require.NoError(t, err)
	require.True(t, created)
	key, err := skill.Key(sig)
	require.NoError(t, err)
	require.Equal(t, key, sk.ID)
	require.Equal(t, skill.Ephemeral, sk.State)
	require.Equal(t, int64(0), sk.Transitions)
	require.Equal(t, "fiscal", sk.Domain)
	require.Equal(t, "reconciliation_and_persist", sk.Intent)
	require.Contains(t, string(sk.Signature), `"intent":"reconciliation_and_persist"`)
	sum := sha256.Sum256(sk.Signature)
	require.Equal(t, sk.ID, hex.EncodeToString(sum[:]), "the stored signature hashes to the skill id")
	require.NotContains(t, string(sk.Signature), `"r1"`, "the keyed signature has no execution_context")
	require.Empty(t, sk.Artifact)

	// The same skill signed against another registry version, with the
	// registry's publish_blocked injected, is the same skill.
	again := skillSignature("reconciliation_and_persist")
	again.ExecutionContext.RegistryVersionID = "r2"
	again.Constraints.PublishBlocked = []string{"silver_documentos"}
	sk2, created, err := s.EnsureSkill(ctx, again)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, sk.ID, sk2.ID)

	ev := lifecycle.Evaluation{PromotionUnit: sk.ID, Domain: "fiscal", Window: "last_3_days", Executions: 3, SuccessfulExecutions: 3,
		IFo: 1, IFs: 1, IFg: 1, IDI: 1, Eligible: true, Outcome: lifecycle.OutcomeEligible, Reason: lifecycle.ReasonThresholdsMet}
	first, err := s.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.GatePassed, Reason: "thresholds_met",
		Evidence: ev, Actor: promotionEngine, Cause: "intent:i-3"})
	require.NoError(t, err)
	require.Equal(t, db.SkillTransition{SkillID: sk.ID, Seq: 1, From: skill.Ephemeral, To: skill.PromotionCandidate, Trigger: skill.GatePassed,
		Reason: "thresholds_met", Evidence: first.Evidence, Actor: promotionEngine, Cause: "intent:i-3",
		AuditID: db.SkillTransitionPrefix + sk.ID + "-1", At: first.At}, first)
	var back lifecycle.Evaluation
	require.NoError(t, json.Unmarshal(first.Evidence, &back))
	require.Equal(t, ev, back)

	move(t, s, sk.ID, skill.Promoted, maria)
	move(t, s, sk.ID, skill.DegradedIFs, promotionEngine)
	move(t, s, sk.ID, skill.Recovered, promotionEngine)
	move(t, s, sk.ID, skill.IDISevereDrift, promotionEngine)

	sk, err = s.Skill(ctx, sk.ID)
	require.NoError(t, err)
	require.Equal(t, skill.Demoted, sk.State)
	require.Equal(t, int64(5), sk.Transitions)

	history, err := s.SkillHistory(ctx, sk.ID)
	require.NoError(t, err)
	type step struct {
		from, to skill.State
		trigger  skill.Trigger
		by       string
	}
	var got []step
	for i, h := range history {
		require.Equal(t, int64(i+1), h.Seq)
		got = append(got, step{h.From, h.To, h.Trigger, h.Actor.ID})
		if i > 0 {
			require.False(t, h.At.Before(history[i-1].At))
		}
	}
	require.Equal(t, []step{
		{skill.Ephemeral, skill.PromotionCandidate, skill.GatePassed, "promotion_engine"},
		{skill.PromotionCandidate, skill.PersistedActive, skill.Promoted, "maria"},
		{skill.PersistedActive, skill.Watchlist, skill.DegradedIFs, "promotion_engine"},
		{skill.Watchlist, skill.PersistedActive, skill.Recovered, "promotion_engine"},
		{skill.PersistedActive, skill.Demoted, skill.IDISevereDrift, "promotion_engine"},
	}, got)
	require.Equal(t, sk.UpdatedAt, history[4].At)

	// Each transition is a trail of its own: received, the transition,
	// completed, with the actor, at the transition's time.
	for _, h := range history {
		rs, err := s.AuditByIntent(ctx, h.AuditID)
		require.NoError(t, err)
		require.Len(t, rs, 3, h.AuditID)
		require.Equal(t, []string{audit.EventIntentReceived, audit.EventSkillTransition, audit.EventIntentCompleted},
			[]string{rs[0].EventType(), rs[1].EventType(), rs[2].EventType()})
		for _, r := range rs {
			require.Equal(t, h.Actor.ID, r.Actor.ID)
			require.Equal(t, h.Actor.Type, r.Actor.Type)
			require.Equal(t, db.StageSkillLifecycle, r.Context[audit.CtxStage])
			require.Equal(t, []string{"skill:" + sk.ID}, r.Targets)
			require.Equal(t, h.At, r.Timestamp)
		}
		require.Equal(t, string(h.To), rs[1].Context[audit.CtxOutcome])
		var details map[string]any
		require.NoError(t, json.Unmarshal([]byte(rs[1].Context[audit.CtxDetails]), &details))
		require.Equal(t, string(h.From), details["from_state"])
		require.Equal(t, string(h.To), details["to_state"])
		require.Equal(t, string(h.Trigger), details["trigger"])
		require.Equal(t, float64(h.Seq), details["seq"])
	}
	rs, err := s.AuditByIntent(ctx, history[0].AuditID)
	require.NoError(t, err)
	require.Contains(t, rs[1].Context[audit.CtxDetails], `"eligible":true`, "the evidence is in the receipt")
	require.Contains(t, rs[1].Context[audit.CtxDetails], `"cause":"intent:i-3"`)
	require.Equal(t, "maria", mustAudit(t, s, history[1].AuditID)[0].Actor.ID)
	require.Equal(t, "cli", mustAudit(t, s, history[1].AuditID)[0].Actor.AuthContext)

	// The skill's trails share a correlation id; the chain verifies and
	// every trail is complete.
	byCorrelation, err := s.AuditByCorrelation(ctx, "skill:"+sk.ID, 100)
	require.NoError(t, err)
	require.Len(t, byCorrelation, 15)
	chain, err := s.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.Len(t, chain, 15)
	require.NoError(t, audit.Verify(chain))
	require.NoError(t, audit.CompletePerIntent(chain))
	pos, integrity, err := s.AuditHead(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.VerifyHead(chain, pos, integrity))
}

func mustAudit(t *testing.T, s *db.Store, id string) []audit.Receipt {
	t.Helper()
	rs, err := s.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	return rs
}

// TestRefusedSkillTransitionLeavesNothing: a transition the table does not
// have, an unknown skill and a malformed request record nothing, and the
// error says what to do.
func TestRefusedSkillTransitionLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)
	id := activeSkill(t, s, "refused_transitions")
	head, _, err := s.AuditHead(ctx)
	require.NoError(t, err)

	_, err = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: id, Trigger: skill.SchemaDrift, Reason: "drift", Actor: promotionEngine})
	require.ErrorIs(t, err, skill.ErrRefused)
	var refused *skill.RefusedError
	require.True(t, errors.As(err, &refused))
	require.Equal(t, skill.PersistedActive, refused.From)
	require.ErrorContains(t, err, "trigger schema_drift does not apply to a persisted_active skill; from persisted_active the triggers are degraded_ifs, high_cost, idi_drift, low_reuse")

	unknown := strings.Repeat("0", 64)
	_, err = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: unknown, Trigger: skill.HighCost, Actor: promotionEngine})
	require.ErrorIs(t, err, db.ErrSkillNotFound)
	require.ErrorContains(t, err, "register it first")

	for name, c := range map[string]db.SkillChange{
		"a bad id":         {SkillID: "abc", Trigger: skill.HighCost, Actor: promotionEngine},
		"a bad trigger":    {SkillID: id, Trigger: "demote", Actor: promotionEngine},
		"nobody":           {SkillID: id, Trigger: skill.HighCost},
		"a bad actor type": {SkillID: id, Trigger: skill.HighCost, Actor: audit.Principal{ID: "x", Type: "ROOT"}},
		"an array":         {SkillID: id, Trigger: skill.HighCost, Actor: promotionEngine, Evidence: []int{1}},
		"a long reason":    {SkillID: id, Trigger: skill.HighCost, Actor: promotionEngine, Reason: strings.Repeat("x", 3000)},
		"a padded cause":   {SkillID: id, Trigger: skill.HighCost, Actor: promotionEngine, Cause: " intent:x"},
	} {
		_, err := s.ApplySkillTransition(ctx, c)
		require.Error(t, err, name)
		require.ErrorContains(t, err, "skill transition: ", name)
	}

	sk, err := s.Skill(ctx, id)
	require.NoError(t, err)
	require.Equal(t, skill.PersistedActive, sk.State)
	require.Equal(t, int64(2), sk.Transitions)
	history, err := s.SkillHistory(ctx, id)
	require.NoError(t, err)
	require.Len(t, history, 2)
	rs, err := s.AuditByIntent(ctx, db.SkillTransitionPrefix+id+"-3")
	require.NoError(t, err)
	require.Empty(t, rs, "no trail for a refused transition")
	// Other tests append meanwhile; none of them is this skill's.
	after, err := s.AuditChain(ctx, head, 10000)
	require.NoError(t, err)
	for _, r := range after {
		require.NotContains(t, r.IntentID(), id)
	}

	_, err = s.SkillHistory(ctx, unknown)
	require.ErrorIs(t, err, db.ErrSkillNotFound)
	_, err = s.Skill(ctx, unknown)
	require.ErrorIs(t, err, db.ErrSkillNotFound)
}

// TestSkillTransitionCauseIsIdempotent: a retried call with the same cause
// returns the transition recorded the first time.
func TestSkillTransitionCauseIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)
	id := activeSkill(t, s, "idempotent_cause")
	c := db.SkillChange{SkillID: id, Trigger: skill.IDIDrift, Reason: "IDI 0.6667 < 0.75", Actor: promotionEngine, Cause: "intent:retried"}
	first, err := s.ApplySkillTransition(ctx, c)
	require.NoError(t, err)
	second, err := s.ApplySkillTransition(ctx, c)
	require.NoError(t, err)
	require.Equal(t, first, second)
	history, err := s.SkillHistory(ctx, id)
	require.NoError(t, err)
	require.Len(t, history, 3)

	c.Trigger = skill.IDISevereDrift
	_, err = s.ApplySkillTransition(ctx, c)
	require.ErrorIs(t, err, db.ErrSkillCauseConflict)
	require.ErrorContains(t, err, "cause intent:retried moved the skill by idi_drift (transition 3), not idi_severe_drift")
	c.Cause = "intent:other"
	tr, err := s.ApplySkillTransition(ctx, c)
	require.NoError(t, err)
	require.Equal(t, skill.Demoted, tr.To)
}

// TestSkillHistoryIsAppendOnly: the worker can neither change nor remove a
// transition, nor move a skill except onto a transition; the owner's
// triggers refuse it even to a superuser.
func TestSkillHistoryIsAppendOnly(t *testing.T) {
	t.Parallel()
	s := db.New(testDB.Worker)
	id := activeSkill(t, s, "append_only")
	where := " WHERE skill_id = '" + id + "'"
	requireDenied(t, testDB.Worker, nil, "42501", map[string]string{
		"update a transition":         "UPDATE skill_transitions SET to_state = 'retired'" + where,
		"delete a transition":         "DELETE FROM skill_transitions" + where,
		"truncate the history":        "TRUNCATE skill_transitions",
		"delete a skill":              "DELETE FROM skills" + where,
		"change what the skill does":  "UPDATE skills SET intent = 'x'" + where,
		"disable the history trigger": "ALTER TABLE skill_transitions DISABLE TRIGGER skill_transitions_no_update_delete",
		"drop the skill guard":        "DROP TRIGGER skills_guard ON skills",
	})
	requireDenied(t, testDB.Worker, nil, "23001", map[string]string{
		"move a skill without a transition": "UPDATE skills SET state = 'watchlist', last_seq = last_seq + 1" + where,
		"set a state without its seq":       "UPDATE skills SET state = 'retired'" + where,
		"register a skill already active": "INSERT INTO skills (skill_id, state, domain, intent, signature) VALUES ('" +
			strings.Repeat("a", 64) + "', 'persisted_active', 'd', 'i', '{}')",
		"skip a seq": "INSERT INTO skill_transitions (skill_id, seq, from_state, to_state, trigger, actor_id, actor_type, audit_id, at) VALUES ('" +
			id + "', 4, 'persisted_active', 'watchlist', 'high_cost', 'x', 'SYSTEM', 'x', now())",
		"from another state": "INSERT INTO skill_transitions (skill_id, seq, from_state, to_state, trigger, actor_id, actor_type, audit_id, at) VALUES ('" +
			id + "', 3, 'watchlist', 'deprecated', 'low_reuse', 'x', 'SYSTEM', 'x', now())",
	})
	requireDenied(t, testDB.Pool, nil, "23514", map[string]string{
		"register a skill whose id is not its signature's hash": "INSERT INTO skills (skill_id, state, domain, intent, signature) VALUES ('" +
			strings.Repeat("a", 64) + "', 'ephemeral', 'd', 'i', '{}')",
	})
	requireDenied(t, testDB.Pool, nil, "23001", map[string]string{
		"update a transition as a superuser": "UPDATE skill_transitions SET reason = 'rewritten'" + where,
		"delete a transition as a superuser": "DELETE FROM skill_transitions" + where,
		"delete a skill as a superuser":      "DELETE FROM skills" + where,
		"rename a skill as a superuser":      "UPDATE skills SET domain = 'x'" + where,
	})
	history, err := s.SkillHistory(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.Equal(t, "test: promoted", history[1].Reason)
}

// TestConcurrentSkillTransitionsAreSerialised: transitions of one skill
// run one at a time on its current state: of ten identical ones, one moves
// the skill and nine are refused from the state it moved to; back-and-forth
// triggers race into a history with no gap and no fork.
func TestConcurrentSkillTransitionsAreSerialised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Worker)

	id := activeSkill(t, s, "concurrent_same")
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: id, Trigger: skill.DegradedIFs, Actor: promotionEngine})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, skill.ErrRefused)
		require.ErrorContains(t, err, "does not apply to a watchlist skill")
	}
	require.Equal(t, 1, ok)
	history, err := s.SkillHistory(ctx, id)
	require.NoError(t, err)
	require.Len(t, history, 3)

	id = activeSkill(t, s, "concurrent_cycle")
	const n = 40
	errs = make([]error, n)
	for i := range n {
		trigger := skill.HighCost // active → watchlist
		if i%2 == 1 {
			trigger = skill.Recovered // watchlist → active
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: id, Trigger: trigger, Actor: promotionEngine, Cause: fmt.Sprintf("race:%d", i)})
		}()
	}
	wg.Wait()
	moved := 0
	for _, err := range errs {
		if err == nil {
			moved++
		} else {
			require.ErrorIs(t, err, skill.ErrRefused)
		}
	}
	require.Positive(t, moved)
	history, err = s.SkillHistory(ctx, id)
	require.NoError(t, err)
	require.Len(t, history, 2+moved)
	for i := 1; i < len(history); i++ {
		require.Equal(t, int64(i+1), history[i].Seq)
		require.Equal(t, history[i-1].To, history[i].From, "transition %d forks from %d", i+1, i)
		rs, err := s.AuditByIntent(ctx, history[i].AuditID)
		require.NoError(t, err)
		require.Len(t, rs, 3)
	}
	sk, err := s.Skill(ctx, id)
	require.NoError(t, err)
	require.Equal(t, history[len(history)-1].To, sk.State)
	require.Equal(t, int64(len(history)), sk.Transitions)
}

// TestListAndResolveSkills: list filters by state and says the states on a
// bad one; an id prefix names one skill or is refused.
func TestListAndResolveSkills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_skills_list")
	s := db.New(d.Worker)
	active := activeSkill(t, s, "listed_active")
	eph, _, err := s.EnsureSkill(ctx, skillSignature("listed_ephemeral"))
	require.NoError(t, err)

	all, err := s.Skills(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, eph.ID, all[0].ID, "most recently changed first")
	got, err := s.Skills(ctx, skill.PersistedActive, 0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, active, got[0].ID)
	got, err = s.Skills(ctx, skill.Retired, 0)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.Skills(ctx, "", 1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	_, err = s.Skills(ctx, "active", 0)
	require.ErrorIs(t, err, skill.ErrUnknownState)
	require.ErrorContains(t, err, "use one of ephemeral, promotion_candidate, persisted_active, watchlist, demoted, deprecated, retired")

	resolved, err := s.ResolveSkillID(ctx, active[:12])
	require.NoError(t, err)
	require.Equal(t, active, resolved)
	resolved, err = s.ResolveSkillID(ctx, strings.ToUpper(active))
	require.NoError(t, err)
	require.Equal(t, active, resolved)
	_, err = s.ResolveSkillID(ctx, active[:7])
	require.ErrorContains(t, err, "or its first 8 or more")
	_, err = s.ResolveSkillID(ctx, "zzzzzzzzzz")
	require.ErrorIs(t, err, db.ErrInvalidSkillID)
	require.ErrorContains(t, err, "give the skill id")
	_, err = s.ResolveSkillID(ctx, "ffffffff00")
	require.ErrorIs(t, err, db.ErrSkillNotFound)

	// Two signatures whose skill ids share their first 8 digits (a
	// birthday search over 32 bits: some 10^5 keys).
	seen := map[string]string{}
	var prefix string
	for i := 0; prefix == "" && i < 4_000_000; i++ {
		intent := fmt.Sprintf("lookalike_%d", i)
		k, err := skill.Key(skillSignature(intent))
		require.NoError(t, err)
		if other, ok := seen[k[:8]]; ok {
			prefix = k[:8]
			for _, in := range []string{other, intent} {
				_, _, err := s.EnsureSkill(ctx, skillSignature(in))
				require.NoError(t, err)
			}
		}
		seen[k[:8]] = intent
	}
	require.NotEmpty(t, prefix)
	_, err = s.ResolveSkillID(ctx, prefix)
	require.ErrorIs(t, err, db.ErrSkillAmbiguous)
	require.ErrorContains(t, err, "give more digits")
}

// TestPromotionPersistsTheArtifact: the promoted transition writes the
// skill's artifact and generation metadata and records their references in
// its evidence; nothing else may write them (skills_artifact_guard), and
// promoted without an artifact, or another trigger with one, is refused.
func TestPromotionPersistsTheArtifact(t *testing.T) {
	ctx := context.Background()
	s := db.New(testDB.Worker)
	sk, _, err := s.EnsureSkill(ctx, skillSignature("promotion_persists_"+t.Name()))
	require.NoError(t, err)
	move(t, s, sk.ID, skill.GatePassed, promotionEngine)

	p := promotionOf(t, s, sk.ID)
	_, err = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.Promoted, Actor: maria})
	require.ErrorContains(t, err, "needs the artifact")
	_, err = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.GateFailed, Actor: maria, Promotion: p})
	require.ErrorContains(t, err, "persists no artifact")
	other := *p
	other.Artifact.SkillID = strings.Repeat("a", 64)
	_, err = s.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.Promoted, Actor: maria, Promotion: &other})
	require.ErrorContains(t, err, "must be this skill's")

	tr, err := s.ApplySkillTransition(ctx, db.SkillChange{SkillID: sk.ID, Trigger: skill.Promoted, Reason: "reviewed", Actor: maria, Promotion: p})
	require.NoError(t, err)
	require.Equal(t, skill.PersistedActive, tr.To)
	var ev struct {
		Artifact map[string]string        `json:"artifact"`
		Metadata skill.GenerationMetadata `json:"skill_generation_metadata"`
	}
	require.NoError(t, json.Unmarshal(tr.Evidence, &ev))
	require.Equal(t, p.Artifact.PlanHash, ev.Artifact["plan_hash"])
	require.Equal(t, p.Artifact.CodeHash, ev.Artifact["code_hash"])
	require.Equal(t, "intent-test", ev.Artifact["source_intent_id"])
	require.Equal(t, p.Metadata, ev.Metadata)

	got, err := s.Skill(ctx, sk.ID)
	require.NoError(t, err)
	var art skill.Artifact
	require.NoError(t, json.Unmarshal(got.Artifact, &art))
	require.Equal(t, p.Artifact.PlanTemplateHash, art.PlanTemplateHash)
	var meta skill.GenerationMetadata
	require.NoError(t, json.Unmarshal(got.GenerationMetadata, &meta))
	require.Equal(t, p.Metadata, meta)
	// The 5.12 field names, as written.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(got.GenerationMetadata, &raw))
	for _, k := range []string{"promoted_at", "promoted_by_system_version", "policy_bundle_at_promotion", "catalog_snapshot_at_promotion",
		"promotion_scores", "execution_count_at_promotion", "evaluation_window"} {
		require.Contains(t, raw, k)
	}

	// Not even the owner writes an artifact outside a promotion.
	_, err = testDB.Pool.Exec(ctx, `UPDATE skills SET artifact = '{"plan_hash":"x"}' WHERE skill_id = $1`, sk.ID)
	require.ErrorContains(t, err, "only with a promoted transition")
	_, err = testDB.Pool.Exec(ctx, `UPDATE skills SET generation_metadata = NULL WHERE skill_id = $1`, sk.ID)
	require.ErrorContains(t, err, "only with a promoted transition")
	// A later transition leaves the artifact as it is.
	move(t, s, sk.ID, skill.DegradedIFs, promotionEngine)
	got, err = s.Skill(ctx, sk.ID)
	require.NoError(t, err)
	require.JSONEq(t, string(mustJSON(t, p.Artifact)), string(got.Artifact))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
