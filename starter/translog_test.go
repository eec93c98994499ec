package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/translog"
)

// keygen runs `cfa audit keygen` into a temporary directory.
func keygen(t *testing.T) keygenReport {
	t.Helper()
	out, err := run(t, nil, "audit", "keygen", "--name", "cfa-test-log", "--out-dir", t.TempDir(), "-o", "json")
	require.NoError(t, err)
	var k keygenReport
	require.NoError(t, json.Unmarshal([]byte(out), &k))
	info, err := os.Stat(k.PrivateKeyFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the signer key is private")
	return k
}

// writeExport writes receipts as a JSONL export.
func writeExport(t *testing.T, dir, name string, rs []audit.Receipt) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, audit.WriteJSONL(&b, rs))
	file := filepath.Join(dir, name+".jsonl")
	require.NoError(t, os.WriteFile(file, b.Bytes(), 0o644))
	return file
}

// reseal rewrites the chain from index i with every hash recomputed, as
// someone who holds the database and the code would: the chain checks
// pass.
func reseal(t *testing.T, rs []audit.Receipt, i int, edit func(*audit.Event)) []audit.Receipt {
	t.Helper()
	out := append([]audit.Receipt(nil), rs[:i]...)
	prev := rs[i].PrevHash
	for j, r := range rs[i:] {
		e := eventOf(t, r)
		if j == 0 {
			edit(&e)
		}
		sealed, err := audit.Seal(e, r.Position, prev)
		require.NoError(t, err)
		out = append(out, sealed)
		prev = sealed.Integrity
	}
	return out
}

// eventOf is the event a receipt of auditChain was sealed from.
func eventOf(t *testing.T, r audit.Receipt) audit.Event {
	t.Helper()
	return audit.Event{
		IntentID: r.IntentID(), Seq: r.Seq(), CorrelationID: r.Context[audit.CtxCorrelationID], PolicyBundleVersion: r.Context[audit.CtxPolicyBundleVersion],
		Stage: r.Context[audit.CtxStage], EventType: r.EventType(), Outcome: r.Context[audit.CtxOutcome],
		Actor: r.Actor, Action: r.Action, Targets: r.Targets, Timestamp: r.Timestamp,
		Details: json.RawMessage(r.Context[audit.CtxDetails]),
	}
}

// TestAuditVerifyCheckpointOffline: `cfa audit verify --file --checkpoint
// --pubkey` holds an export to a signed checkpoint without a database: it
// finds a truncated tail, a deleted middle receipt and a chain rewritten
// with every hash recomputed, which the chain checks alone pass.
func TestAuditVerifyCheckpointOffline(t *testing.T) {
	dir := t.TempDir()
	k := keygen(t)
	chain := auditChain(t, 5) // 20 receipts
	signer, err := translog.LoadSigner(k.PrivateKeyFile)
	require.NoError(t, err)
	root, err := audit.MerkleRoot(chain)
	require.NoError(t, err)
	cp, err := translog.Sign(signer, 20, root)
	require.NoError(t, err)
	cpFile := filepath.Join(dir, "checkpoint")
	require.NoError(t, os.WriteFile(cpFile, cp.Note, 0o644))

	// A same-order copy of the receipts: the rewrite edits the 4th.
	rewritten := reseal(t, chain, 3, func(e *audit.Event) { e.Outcome = "blocked" })
	_, plainErr := run(t, nil, "audit", "verify", "--file", writeExport(t, dir, "plain_rewritten", rewritten))
	require.NoError(t, plainErr, "a consistent rewrite passes the chain checks")

	cases := []struct {
		name     string
		receipts []audit.Receipt
		holds    bool
		reason   string
	}{
		{"whole chain", chain, true, ""},
		{"truncated tail", chain[:18], false, "the checkpoint commits to 20 receipts, the chain has 18"},
		{"deleted middle receipt", append(append([]audit.Receipt(nil), chain[:9]...), chain[10:]...), false, "follows position 9, want 10"},
		{"rewritten chain", rewritten, false, "the first 20 receipts give root"},
	}
	for _, c := range cases {
		file := writeExport(t, dir, strings.ReplaceAll(c.name, " ", "_"), c.receipts)
		out, err := run(t, nil, "audit", "verify", "--file", file, "--checkpoint", cpFile, "--pubkey", k.PublicKeyFile, "-o", "json")
		var rep verifyReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep), c.name)
		require.NotNil(t, rep.Checkpoint, c.name)
		require.Equal(t, uint64(20), rep.Checkpoint.TreeSize)
		require.Equal(t, uint64(len(c.receipts)), rep.Checkpoint.Receipts)
		require.Equal(t, c.holds, rep.Checkpoint.Holds, c.name)
		if c.holds {
			require.NoError(t, err, c.name)
			require.True(t, rep.Verified)
			continue
		}
		require.Equal(t, exitError{code: exitAuditBroken}, err, c.name)
		require.False(t, rep.Verified)
		require.Contains(t, rep.Reason, c.reason, c.name)
	}

	good := writeExport(t, dir, "good", chain)
	out, err := run(t, nil, "audit", "verify", "--file", good, "--checkpoint", cpFile, "--pubkey", k.PublicKeyFile)
	require.NoError(t, err)
	require.Equal(t, "audit chain verified: 20 receipts from "+good+", every link and integrity hash checks, every intent has a start and an end, the first 20 give the root of the checkpoint signed by cfa-test-log\n", out)

	// Another key's signature, a forged size, no key: refused before the chain is read.
	other := keygen(t)
	_, err = run(t, nil, "audit", "verify", "--file", good, "--checkpoint", cpFile, "--pubkey", other.PublicKeyFile)
	require.ErrorIs(t, err, translog.ErrBadSignature)
	forged := filepath.Join(dir, "forged")
	require.NoError(t, os.WriteFile(forged, bytes.Replace(cp.Note, []byte("\n20\n"), []byte("\n12\n"), 1), 0o644))
	_, err = run(t, nil, "audit", "verify", "--file", good, "--checkpoint", forged, "--pubkey", k.PublicKeyFile)
	require.ErrorIs(t, err, translog.ErrBadSignature)
	_, err = run(t, map[string]string{envCheckpointPubkey: ""}, "audit", "verify", "--file", good, "--checkpoint", cpFile)
	require.ErrorContains(t, err, "give --pubkey FILE")
	// The key from the environment, as the key itself.
	pub, err := os.ReadFile(k.PublicKeyFile)
	require.NoError(t, err)
	_, err = run(t, map[string]string{envCheckpointPubkey: string(pub)}, "audit", "verify", "--file", good, "--checkpoint", cpFile)
	require.NoError(t, err)
}

// appendIntents appends complete intents of four events each, one intent
// after another, through the worker's store.
func appendIntents(t *testing.T, s *db.Store, prefix string, n int) {
	t.Helper()
	types := []string{audit.EventIntentReceived, audit.EventSemanticResolution, audit.EventPolicyApprove, audit.EventIntentCompleted}
	for i := range n {
		intent := fmt.Sprintf("%s-%02d", prefix, i)
		events := make([]audit.Event, len(types))
		for j, typ := range types {
			events[j] = audit.Event{
				IntentID: intent, Seq: int64(j + 1), CorrelationID: "session", PolicyBundleVersion: "v1",
				Stage: "policy_engine", EventType: typ, Outcome: "ok",
				Actor:  audit.Principal{ID: "cfa-worker", Type: audit.PrincipalService},
				Action: audit.ActionInvoke, Targets: []string{intent},
				Timestamp: time.Date(2026, 3, 1, 9, i, j, 0, time.UTC),
			}
		}
		_, err := s.Append(context.Background(), events...)
		require.NoError(t, err)
	}
}

// TestAuditTransparencyLogOnPostgres: checkpoint, prove and consistency
// against Postgres, and `audit verify --checkpoint` finding a tail a
// superuser deleted together with the head, which the chain checks alone
// cannot see.
func TestAuditTransparencyLogOnPostgres(t *testing.T) {
	d := dbtest.New(t, "starter_translog")
	ctx := context.Background()
	k := keygen(t)
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": d.WorkerURL, envCheckpointKey: "", envCheckpointPubkey: ""}
	store := db.New(d.Worker)
	appendIntents(t, store, "first", 6) // 24 receipts

	_, err := run(t, env, "audit", "checkpoint")
	require.ErrorContains(t, err, "give --key FILE or set "+envCheckpointKey)

	cp1 := filepath.Join(dir, "cp1")
	out, err := run(t, env, "audit", "checkpoint", "--key", k.PrivateKeyFile, "--out", cp1, "-o", "json")
	require.NoError(t, err)
	var c1 checkpointReport
	require.NoError(t, json.Unmarshal([]byte(out), &c1))
	require.Equal(t, uint64(24), c1.TreeSize)
	require.Equal(t, "cfa-test-log", c1.KeyName)
	note, err := os.ReadFile(cp1)
	require.NoError(t, err)
	require.Equal(t, c1.Note, string(note))
	chain, err := store.WholeAuditChain(ctx)
	require.NoError(t, err)
	root, err := audit.MerkleRoot(chain)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%x", root), c1.Root)

	// Inclusion of a receipt in the latest checkpoint's tree.
	out, err = run(t, env, "audit", "prove", "first-03/2", "--pubkey", k.PublicKeyFile, "-o", "json")
	require.NoError(t, err)
	var pr proofReport
	require.NoError(t, json.Unmarshal([]byte(out), &pr))
	require.True(t, pr.Verified)
	require.Equal(t, uint64(13), pr.LeafIndex)
	require.Equal(t, uint64(24), pr.TreeSize)
	require.Equal(t, "cfa-test-log", pr.SignatureBy)
	want, err := audit.InclusionProof(chain, 13)
	require.NoError(t, err)
	require.Equal(t, hexes(want), pr.Proof, "the proof internal/audit builds from the whole chain")
	_, err = run(t, env, "audit", "prove", "nobody/1")
	require.ErrorContains(t, err, "no such audit receipt")

	// A newer checkpoint extends the first.
	env[envCheckpointKey] = k.PrivateKeyFile
	appendIntents(t, store, "second", 3)
	cp2 := filepath.Join(dir, "cp2")
	out, err = run(t, env, "audit", "checkpoint", "--out", cp2, "-o", "json")
	require.NoError(t, err)
	var c2 checkpointReport
	require.NoError(t, json.Unmarshal([]byte(out), &c2))
	require.Equal(t, uint64(36), c2.TreeSize)
	require.Equal(t, uint64(24), c2.ExtendsSize)
	for _, args := range [][]string{{cp1, cp2}, {"24", cp2}, {"5", "36"}, {cp1, "30"}} {
		out, err = run(t, env, append([]string{"audit", "consistency", "--pubkey", k.PublicKeyFile, "-o", "json"}, args...)...)
		require.NoError(t, err, "%v", args)
		var cr consistencyReport
		require.NoError(t, json.Unmarshal([]byte(out), &cr))
		require.True(t, cr.Verified, "%v: %s", args, cr.Reason)
	}
	_, err = run(t, env, "audit", "consistency", cp2, cp1)
	require.ErrorContains(t, err, "give the older tree first")

	out, err = run(t, env, "audit", "verify", "--checkpoint", cp2, "--pubkey", k.PublicKeyFile, "-o", "json")
	require.NoError(t, err, out)

	// A superuser deletes the last intent and moves the head, with its
	// tree, back onto the receipt before: the chain checks pass.
	_, err = d.Pool.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER USER;
		ALTER TABLE audit_chain_head DISABLE TRIGGER USER;
		DELETE FROM audit_events WHERE position > 32;
		UPDATE audit_chain_head SET position = 32, integrity = (SELECT integrity FROM audit_events WHERE position = 32),
		    merkle_frontier = audit_merkle_extend('{}', 0, (SELECT array_agg(sha256('\x00'::bytea || integrity) ORDER BY position) FROM audit_events));
		ALTER TABLE audit_chain_head ENABLE TRIGGER USER;
		ALTER TABLE audit_events ENABLE TRIGGER USER`)
	require.NoError(t, err)
	_, err = run(t, env, "audit", "verify")
	require.NoError(t, err, "without a checkpoint the shorter chain looks whole")

	out, err = run(t, env, "audit", "verify", "--checkpoint", cp2, "--pubkey", k.PublicKeyFile, "-o", "json")
	require.Equal(t, exitError{code: exitAuditBroken}, err)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.False(t, rep.Verified)
	require.False(t, rep.Checkpoint.Holds)
	require.Equal(t, uint64(32), rep.Checkpoint.Receipts)
	require.Contains(t, rep.Reason, "the checkpoint commits to 36 receipts, the chain has 32")

	// The older checkpoint still holds; proofs in the newer tree fail; no
	// new checkpoint is signed over the cut.
	_, err = run(t, env, "audit", "verify", "--checkpoint", cp1, "--pubkey", k.PublicKeyFile)
	require.NoError(t, err)
	_, err = run(t, env, "audit", "prove", "first-00/1", "--checkpoint", cp2)
	require.Equal(t, exitError{code: exitAuditBroken}, err)
	_, err = run(t, env, "audit", "consistency", cp1, cp2)
	require.Equal(t, exitError{code: exitAuditBroken}, err)
	_, err = run(t, env, "audit", "checkpoint")
	require.ErrorContains(t, err, "the last checkpoint covers 36 receipts, the chain now 32")
}
