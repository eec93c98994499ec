package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/tests/testenv"
)

// TestCLIReadsAndWritesRecordReceipts: every command that reads or writes
// the context plane records a receipt in the chain, with the CLI user as
// actor, its action, its targets and its outcome, a refused or failed run
// too; the chain still verifies, every trail complete (MUST-005,
// docs/adr/0146).
func TestCLIReadsAndWritesRecordReceipts(t *testing.T) {
	d := dbtest.New(t, "starter_receipts")
	env := map[string]string{"DATABASE_URL": d.WorkerURL, CFAActorEnv: "ana"}
	ctx := context.Background()
	store := db.New(d.Worker)
	seeded, opID, err := store.OverrideDatasetStates(ctx, []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
	}, db.Operator{By: "test", Reason: "seed"})
	require.NoError(t, err)
	v := seeded.VersionID
	ana := audit.Principal{ID: "ana", Type: audit.PrincipalHuman, AuthContext: "cli:env"}
	maria := audit.Principal{ID: "maria", Type: audit.PrincipalHuman, AuthContext: "cli"}

	cases := []struct {
		name    string
		args    []string
		wantErr string // "" for a run that succeeds
		actor   audit.Principal
		action  audit.Action
		targets []string
		outcome string
		code    string
	}{
		{"registry show", []string{"registry", "show"}, "", ana, audit.ActionRead,
			[]string{"registry:latest", "registry:version/" + v}, db.AccessOK, ""},
		{"registry show --version", []string{"registry", "show", "--version", v, "-o", "json"}, "", ana, audit.ActionRead,
			[]string{"registry:version/" + v}, db.AccessOK, ""},
		{"registry show of an unknown version", []string{"registry", "show", "--version", "01900000-0000-7000-8000-000000000000"}, "registry", ana, audit.ActionRead,
			[]string{"registry:version/01900000-0000-7000-8000-000000000000"}, db.AccessFailed, codeFailed},
		{"registry set without --by is refused", []string{"registry", "set", "silver_documentos", "--state", "stale"}, "--by and --reason are required", ana, audit.ActionWrite,
			[]string{"dataset:silver_documentos", "registry:latest"}, db.AccessDenied, codeUsage},
		{"registry set of a dataset not in the catalog", []string{"registry", "set", "nope", "--by", "maria", "--reason", "x"}, "not in the catalog", maria, audit.ActionWrite,
			[]string{"dataset:nope", "registry:latest"}, db.AccessDenied, codeInvalidInput},
		{"registry resolve lists the open markers", []string{"registry", "resolve"}, "", ana, audit.ActionRead,
			[]string{"registry:projection-failures"}, db.AccessOK, ""},
		{"registry resolve of no marker", []string{"registry", "resolve", "intent-x", "--by", "maria", "--reason", "checked"}, "no open failed projection", maria, audit.ActionWrite,
			[]string{"intent:intent-x", "registry:projection-failure/intent-x"}, db.AccessFailed, codeFailed},
		{"audit show", []string{"audit", "show", opID}, "", ana, audit.ActionRead,
			[]string{"audit:intent/" + opID}, db.AccessOK, ""},
		{"audit show of no trail", []string{"audit", "show", "intent-none"}, "no audit events", ana, audit.ActionRead,
			[]string{"audit:intent/intent-none"}, db.AccessFailed, codeNotFound},
		{"audit export", []string{"audit", "export"}, "", ana, audit.ActionRead,
			[]string{"audit:chain"}, db.AccessOK, ""},
		{"plan", []string{"plan", "intent-none"}, "plan", ana, audit.ActionRead,
			[]string{"plan:intent/intent-none", "intent:intent-none"}, db.AccessFailed, codeNotFound},
		{"code", []string{"code", "intent-none"}, "plan", ana, audit.ActionRead,
			[]string{"code:intent/intent-none", "intent:intent-none"}, db.AccessFailed, codeNotFound},
		{"list", []string{"list", "-o", "json"}, "", ana, audit.ActionRead,
			[]string{"intents"}, db.AccessOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := chainLen(t, store)
			_, err := run(t, env, tc.args...)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			r := lastReceipt(t, store)
			require.Equal(t, before+1, r.Position, "one receipt")
			requireAccess(t, r, tc.actor, tc.action, tc.targets, tc.outcome, tc.code, cliOperation(tc.args))
		})
	}

	t.Run("a write with its own trail records no second receipt", func(t *testing.T) {
		before := chainLen(t, store)
		out, err := run(t, env, "registry", "set", "silver_documentos", "--state", "stale", "--by", "maria", "--reason", "checked the data", "-o", "json")
		require.NoError(t, err)
		rs, err := store.AuditChain(ctx, before, 10)
		require.NoError(t, err)
		require.Len(t, rs, 3, "the proposal's trail: start, CFS_PROPOSED, end")
		require.Equal(t, audit.EventCFSProposed, rs[1].EventType())
		require.Equal(t, maria, rs[1].Actor)
		require.Equal(t, audit.ActionWrite, rs[1].Action)
		require.Contains(t, rs[1].Targets, "dataset:silver_documentos")

		// Nothing changes until another approver reviews and it is applied.
		var prop struct {
			ProposalID string `json:"proposal_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &prop), out)
		env0, err := store.LatestSnapshot(ctx)
		require.NoError(t, err)
		if ds, ok := env0.Dataset("silver_documentos"); ok {
			require.NotEqual(t, "stale", ds.State)
		}
		out, err = run(t, env, "review", prop.ProposalID, "--approve", "--by", "joao", "-o", "json")
		require.NoError(t, err)
		var rev struct {
			Receipt struct {
				ReceiptID string `json:"receipt_id"`
			} `json:"receipt"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rev), out)
		_, err = run(t, env, "apply", prop.ProposalID, "--approver", "joao", "--approval-ref", rev.Receipt.ReceiptID, "--by", "maria")
		require.NoError(t, err)
		env1, err := store.LatestSnapshot(ctx)
		require.NoError(t, err)
		ds, ok := env1.Dataset("silver_documentos")
		require.True(t, ok)
		require.Equal(t, "stale", ds.State, "applied: the registry snapshot is committed")
	})

	t.Run("the OS user without CFA_ACTOR", func(t *testing.T) {
		_, err := run(t, map[string]string{"DATABASE_URL": d.WorkerURL, CFAActorEnv: ""}, "registry", "show")
		require.NoError(t, err)
		r := lastReceipt(t, store)
		require.Equal(t, "cli:os-user", r.Actor.AuthContext)
		require.NotEmpty(t, r.Actor.ID)
	})

	t.Run("no receipt, no result", func(t *testing.T) {
		// The chain cannot take the append (its function is gone, for
		// the test's length): the read shows nothing and fails.
		_, err := d.Pool.Exec(ctx, `ALTER FUNCTION audit_append(jsonb) RENAME TO audit_append_away`)
		require.NoError(t, err)
		restored := false
		restore := func() {
			if !restored {
				_, err := d.Pool.Exec(ctx, `ALTER FUNCTION audit_append_away(jsonb) RENAME TO audit_append`)
				require.NoError(t, err)
				restored = true
			}
		}
		t.Cleanup(restore)
		out, err := run(t, env, "registry", "show")
		require.ErrorContains(t, err, "its receipt could not be recorded, so its result is withheld")
		require.Empty(t, out)
		restore()
	})

	// Receipts are whole trails: the chain verifies, every trail complete.
	out, err := run(t, env, "audit", "verify", "-o", "json")
	require.NoError(t, err, out)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.Verified)
	require.Empty(t, rep.InFlight)
}

// TestStatusRecordsItsReceipt: `cfa status` reads Temporal and records its
// receipt in the chain, of a failed read too; with Temporal unreachable it
// read nothing and records nothing.
func TestStatusRecordsItsReceipt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	d := dbtest.New(t, "starter_status_receipt")
	store := db.New(d.Worker)
	env := map[string]string{"DATABASE_URL": d.WorkerURL, "TEMPORAL_ADDRESS": srv.FrontendHostPort(), CFAActorEnv: "ana"}
	ana := audit.Principal{ID: "ana", Type: audit.PrincipalHuman, AuthContext: "cli:env"}

	_, err := run(t, env, "status", "intent-none")
	require.Error(t, err)
	r := lastReceipt(t, store)
	require.Equal(t, int64(1), r.Position)
	requireAccess(t, r, ana, audit.ActionRead, []string{"intent:intent-none"}, db.AccessFailed, codeNotFound, "status")

	env["TEMPORAL_ADDRESS"] = "127.0.0.1:1"
	_, err = run(t, env, "status", "intent-none")
	require.ErrorContains(t, err, "cannot reach Temporal")
	require.Equal(t, int64(1), chainLen(t, store), "nothing was read")
}

// cliOperation is the command args run, as its receipt names it.
func cliOperation(args []string) string {
	if args[0] == "registry" || args[0] == "audit" {
		return args[0] + " " + args[1]
	}
	return args[0]
}

func requireAccess(t *testing.T, r audit.Receipt, actor audit.Principal, action audit.Action, targets []string, outcome, code, op string) {
	t.Helper()
	require.Equal(t, audit.EventAccessRecorded, r.EventType())
	require.True(t, strings.HasPrefix(r.IntentID(), db.AccessPrefix), r.IntentID())
	require.Equal(t, actor, r.Actor)
	require.Equal(t, action, r.Action)
	require.Equal(t, targets, r.Targets)
	require.Equal(t, outcome, r.Context[audit.CtxOutcome])
	var det events.AccessRecorded
	require.NoError(t, json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &det))
	require.Equal(t, events.AccessRecorded{Via: "cli", Operation: op, Code: code}, det)
	require.NoError(t, audit.Verify([]audit.Receipt{r}), "its integrity verifies")
}

func chainLen(t *testing.T, s *db.Store) int64 {
	t.Helper()
	pos, _, err := s.AuditHead(context.Background())
	require.NoError(t, err)
	return pos
}

func lastReceipt(t *testing.T, s *db.Store) audit.Receipt {
	t.Helper()
	pos := chainLen(t, s)
	rs, err := s.AuditChain(context.Background(), pos-1, 1)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	return rs[0]
}
