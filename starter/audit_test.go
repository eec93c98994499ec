package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
)

// auditChain seals complete intents of four events each, interleaved.
func auditChain(t *testing.T, intents int) []audit.Receipt {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	types := []string{audit.EventIntentReceived, audit.EventSemanticResolution, audit.EventPolicyApprove, audit.EventIntentCompleted}
	var out []audit.Receipt
	prev := audit.GenesisPrevHash()
	for seq := range int64(4) {
		for i := range intents {
			intent := fmt.Sprintf("verify-cli-%02d", i)
			r, err := audit.Seal(audit.Event{
				IntentID: intent, Seq: seq + 1, CorrelationID: "session", PolicyBundleVersion: "v1",
				Stage: "policy_engine", EventType: types[seq], Outcome: "ok",
				Actor:  audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
				Action: audit.ActionInvoke, Targets: []string{intent},
				Timestamp: t0.Add(time.Duration(len(out)) * time.Second),
				Details:   json.RawMessage(`{"note":"ação <ok>"}`),
			}, int64(len(out)+1), prev)
			require.NoError(t, err)
			out = append(out, r)
			prev = r.Integrity
		}
	}
	return out
}

// verifyFileViaSlices is verifyFile as it was: the whole export in memory.
func verifyFileViaSlices(file string) (verifyReport, error) {
	f, err := os.Open(file)
	if err != nil {
		return verifyReport{}, err
	}
	defer f.Close()
	rs, err := audit.ReadJSONL(f)
	if err != nil {
		return verifyReport{}, err
	}
	rep := verifyReport{Source: file, Receipts: len(rs)}
	if err := audit.Verify(rs); err != nil {
		return rep, err
	}
	return rep, audit.CompletePerIntent(rs)
}

// TestAuditVerifyFileStreamsWithTheSameOutput: `cfa audit verify --file`
// streams the export and prints, in text and JSON, with the exit status,
// what it printed when it read the whole file first.
func TestAuditVerifyFileStreamsWithTheSameOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var export bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&export, auditChain(t, 5)))
	lines := strings.Split(strings.TrimSuffix(export.String(), "\n"), "\n")
	edit := func(i int, old, new string) []string {
		out := append([]string(nil), lines...)
		require.Contains(t, out[i], old)
		out[i] = strings.Replace(out[i], old, new, 1)
		return out
	}
	cases := map[string][]string{
		"good":                       lines,
		"edited outcome":             edit(7, `"outcome":"ok"`, `"outcome":"blocked"`),
		"receipt deleted":            append(append([]string(nil), lines[:9]...), lines[10:]...),
		"intent without its end":     lines[:len(lines)-2],
		"edited, then a broken line": append(edit(3, `"outcome":"ok"`, `"outcome":"x"`), `{"receipt_id":`),
		"empty":                      nil,
	}
	for name, ls := range cases {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".jsonl")
		require.NoError(t, os.WriteFile(file, []byte(strings.Join(ls, "\n")), 0o644))
		want, wantErr := verifyFileViaSlices(file)
		for _, output := range []string{"text", "json"} {
			out, err := run(t, nil, "audit", "verify", "--file", file, "-o", output)
			if want.Source == "" && wantErr != nil {
				require.EqualError(t, err, wantErr.Error(), "%s: the read error, no report", name)
				continue
			}
			if wantErr != nil {
				require.Equal(t, exitError{code: exitAuditBroken}, err, name)
			} else {
				require.NoError(t, err, name)
			}
			require.Equal(t, expectedVerifyOutput(t, want, wantErr, output), out, "%s -o %s", name, output)
		}
	}
}

// expectedVerifyOutput prints rep as auditVerifyCmd does.
func expectedVerifyOutput(t *testing.T, rep verifyReport, verr error, output string) string {
	t.Helper()
	rep.Verified = verr == nil
	var ce *audit.ChainError
	if errors.As(verr, &ce) {
		rep.FirstBadPosition, rep.FirstBadReceipt, rep.Reason = ce.Position, ce.ReceiptID, ce.Reason
	} else if verr != nil {
		rep.Reason = verr.Error()
	}
	var b bytes.Buffer
	switch {
	case output == "json":
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(rep))
	case verr != nil:
		fmt.Fprintf(&b, "audit chain BROKEN (%s): %v\n", rep.Source, verr)
	default:
		fmt.Fprintf(&b, "audit chain verified: %d receipts from %s, every link and integrity hash checks, every intent has a start and an end\n", rep.Receipts, rep.Source)
	}
	return b.String()
}

// TestAuditVerifyStoredStreams: `cfa audit verify` on Postgres streams the
// chain, checks it against its head, and reports what it always did.
func TestAuditVerifyStoredStreams(t *testing.T) {
	d := dbtest.New(t, "starter_audit_verify")
	env := map[string]string{"DATABASE_URL": d.WorkerURL}
	chain := auditChain(t, 1200) // 4800 receipts: two pages
	storeChain(t, d.Pool, chain)

	out, err := run(t, env, "audit", "verify", "-o", "json")
	require.NoError(t, err)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Equal(t, verifyReport{Source: "postgres", Receipts: len(chain), Verified: true, HeadPosition: int64(len(chain))}, rep)

	// Receipts deleted from the end, behind the triggers' back.
	_, err = d.Pool.Exec(context.Background(), fmt.Sprintf(`ALTER TABLE audit_events DISABLE TRIGGER USER;
		DELETE FROM audit_events WHERE position > %d;
		ALTER TABLE audit_events ENABLE TRIGGER USER`, len(chain)-3))
	require.NoError(t, err)
	out, err = run(t, env, "audit", "verify", "-o", "json")
	require.Equal(t, exitError{code: exitAuditBroken}, err)
	rep = verifyReport{}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.False(t, rep.Verified)
	require.Equal(t, len(chain)-3, rep.Receipts)
	require.Equal(t, int64(len(chain)-3), rep.FirstBadPosition)
	require.Contains(t, rep.Reason, fmt.Sprintf("head records position %d", len(chain)))
}

// storeChain stores pre-sealed receipts with COPY, triggers off, and moves
// the head to the last one.
func storeChain(t *testing.T, pool *pgxpool.Pool, rs []audit.Receipt) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET session_replication_role = replica")
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, "RESET session_replication_role") }()
	rows := make([][]any, len(rs))
	for i, r := range rs {
		ctxJSON, err := json.Marshal(r.Context)
		require.NoError(t, err)
		rows[i] = []any{r.Position, r.ReceiptID, r.IntentID(), r.Seq(), r.EventType(), r.Actor.ID, string(r.Actor.Type),
			string(r.Action), r.Targets, r.Timestamp, ctxJSON, []byte(r.Context[audit.CtxDetails]), r.PrevHash, r.Integrity}
	}
	_, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{"audit_events"}, []string{"position", "receipt_id", "intent_id", "seq",
		"event_type", "actor_id", "actor_type", "action", "targets", "ts", "context", "details", "prev_hash", "integrity"},
		pgx.CopyFromRows(rows))
	require.NoError(t, err)
	last := rs[len(rs)-1]
	_, err = conn.Exec(ctx, "UPDATE audit_chain_head SET position = $1, integrity = $2 WHERE id", last.Position, last.Integrity)
	require.NoError(t, err)
}
