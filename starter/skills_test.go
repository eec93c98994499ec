package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
	"github.com/contextualflux/cfa/internal/skill/skilltest"
)

func skillSig(intent string) signature.Signature {
	return signature.Signature{
		Domain: "fiscal", Intent: intent, TargetLayer: "bronze_to_silver", Operations: []string{signature.OpJoin},
		Datasets: []signature.Dataset{
			{Name: "nfe", Role: signature.RoleSource, Layer: "bronze"},
			{Name: "silver_documentos", Role: signature.RoleTarget, Layer: "silver"},
		},
		ExecutionContext: signature.ExecutionContext{PolicyBundleVersion: "v1", CatalogSnapshotVersion: "c1", RegistryVersionID: "r1"},
	}
}

// TestSkillCommands: list (all, by state, json), show by id prefix, history
// with its transitions; unknown ids and states say what to do.
func TestSkillCommands(t *testing.T) {
	d := dbtest.New(t, "starter_skills")
	env := map[string]string{"DATABASE_URL": d.WorkerURL}
	ctx := context.Background()
	store := db.New(d.Worker)

	out, err := run(t, env, "skill", "list")
	require.NoError(t, err)
	require.Equal(t, "no skill registered: a skill is registered when an intent of its signature executes\n", out)

	active, _, err := store.EnsureSkill(ctx, skillSig("reconciliation_and_persist"))
	require.NoError(t, err)
	engine := audit.Principal{ID: "promotion_engine", Type: audit.PrincipalSystem}
	for _, tr := range []struct {
		trigger skill.Trigger
		by      audit.Principal
		reason  string
	}{
		{skill.GatePassed, engine, "thresholds_met: IFo 1 >= 0.75"},
		{skill.Promoted, audit.Principal{ID: "maria", Type: audit.PrincipalHuman}, "reviewed\nand promoted"},
		{skill.IDIDrift, engine, "IDI 0.6667 < 0.75 over 3 executions in last_3_days"},
	} {
		c := db.SkillChange{SkillID: active.ID, Trigger: tr.trigger, Reason: tr.reason, Actor: tr.by}
		if tr.trigger == skill.Promoted {
			c.Promotion = skilltest.Promotion("intent-test", skillSig("reconciliation_and_persist"))
		}
		_, err := store.ApplySkillTransition(ctx, c)
		require.NoError(t, err)
	}
	eph, _, err := store.EnsureSkill(ctx, skillSig("aggregate_daily"))
	require.NoError(t, err)

	out, err = run(t, env, "skill", "list")
	require.NoError(t, err)
	require.Regexp(t, `SKILL\s+STATE\s+DOMAIN\s+INTENT\s+TRANSITIONS\s+UPDATED`, out)
	require.Regexp(t, active.ID[:12]+`\s+watchlist\s+fiscal\s+reconciliation_and_persist\s+3\s`, out)
	require.Regexp(t, eph.ID[:12]+`\s+ephemeral\s+fiscal\s+aggregate_daily\s+0\s`, out)

	out, err = run(t, env, "skill", "list", "--state", "watchlist", "-o", "json")
	require.NoError(t, err)
	var listed []db.Skill
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, active.ID, listed[0].ID)
	require.Equal(t, skill.Watchlist, listed[0].State)

	out, err = run(t, env, "skill", "list", "--state", "retired")
	require.NoError(t, err)
	require.Equal(t, "no skill is retired\n", out)

	out, err = run(t, env, "skill", "show", active.ID[:12])
	require.NoError(t, err)
	require.Contains(t, out, "skill        "+active.ID)
	require.Contains(t, out, "state        watchlist: persisted and served, under observation")
	require.Contains(t, out, "transitions  3 (cfa skill history "+active.ID[:12]+")")
	require.Regexp(t, `recovered\s+→ persisted_active\s+the indices are back above the thresholds`, out)
	require.Regexp(t, `schema_drift\s+→ deprecated`, out)
	require.Contains(t, out, `"intent": "reconciliation_and_persist"`)

	out, err = run(t, env, "skill", "show", active.ID, "-o", "json")
	require.NoError(t, err)
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &shown))
	require.Equal(t, active.ID, shown["skill_id"])
	require.Equal(t, "watchlist", shown["state"])
	require.Len(t, shown["next"], len(skill.Allowed(skill.Watchlist)))

	out, err = run(t, env, "skill", "history", active.ID[:8])
	require.NoError(t, err)
	require.Regexp(t, `SEQ\s+AT\s+FROM\s+TO\s+TRIGGER\s+BY\s+REASON`, out)
	require.Regexp(t, `1\s+\S+\s+ephemeral\s+promotion_candidate\s+gate_passed\s+promotion_engine\s+thresholds_met: IFo 1 >= 0.75`, out)
	require.Regexp(t, `2\s+\S+\s+promotion_candidate\s+persisted_active\s+promoted\s+maria\s+reviewed and promoted`, out)
	require.Regexp(t, `3\s+\S+\s+persisted_active\s+watchlist\s+idi_drift\s+promotion_engine\s+IDI 0.6667`, out)
	require.Contains(t, out, "cfa audit show skill-transition-"+active.ID+"-<SEQ>")

	out, err = run(t, env, "skill", "history", active.ID, "-o", "json")
	require.NoError(t, err)
	var history []db.SkillTransition
	require.NoError(t, json.Unmarshal([]byte(out), &history))
	require.Len(t, history, 3)
	require.Equal(t, db.SkillTransitionPrefix+active.ID+"-3", history[2].AuditID)

	// The transition's trail is readable with the audit command.
	out, err = run(t, env, "audit", "show", history[2].AuditID)
	require.NoError(t, err)
	require.Contains(t, out, audit.EventSkillTransition)

	out, err = run(t, env, "skill", "history", eph.ID[:10])
	require.NoError(t, err)
	require.Equal(t, "skill "+eph.ID+" has no transition yet: it is ephemeral\n", out)

	_, err = run(t, env, "skill", "show", "ffffffffffff")
	requireCode(t, err, codeNotFound, "skill not found")
	_, err = run(t, env, "skill", "history", "nothex!!")
	requireCode(t, err, codeInvalidInput, "give the skill id (64 hex digits) or its first 8 or more")
}

func TestSkillCommandsBadInput(t *testing.T) {
	// Refused before connecting: the database is unreachable.
	env := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=1"}
	_, err := run(t, env, "skill", "list", "--state", "active")
	requireCode(t, err, codeInvalidInput,
		`--state: unknown skill state "active": use one of ephemeral, promotion_candidate, persisted_active, watchlist, demoted, deprecated, retired`)
	_, err = run(t, env, "skill", "list", "--limit", "0")
	requireCode(t, err, codeInvalidInput, "give 1 to 10000")
	_, err = run(t, env, "skill", "show")
	requireCode(t, err, codeUsage, "accepts 1 arg(s)")
	_, err = run(t, env, "skill", "history", "a", "b")
	requireCode(t, err, codeUsage, "accepts 1 arg(s)")
	out, err := run(t, env, "skill", "--help")
	require.NoError(t, err)
	for _, s := range skill.States() {
		require.Contains(t, out, string(s)+" ")
	}
}
