package db_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/translog"
)

// intentEvents are n consecutive events of one intent from seq 1.
func intentEvents(intent string, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = event(intent, int64(i+1))
	}
	return out
}

// requireTreeMatchesChain: the frontier Postgres keeps gives the root Go
// computes from every receipt (internal/audit.MerkleRoot).
func requireTreeMatchesChain(t *testing.T, s *db.Store, wantSize int) {
	t.Helper()
	ctx := context.Background()
	head, err := s.AuditTreeHead(ctx)
	require.NoError(t, err)
	chain, err := s.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.Len(t, chain, wantSize)
	require.Equal(t, uint64(wantSize), head.Size)
	want, err := audit.MerkleRoot(chain)
	require.NoError(t, err)
	got, err := translog.RootFromFrontier(head.Size, head.Frontier)
	require.NoError(t, err)
	require.Equal(t, want, got, "tree of %d receipts", wantSize)
}

// TestMerkleFrontierFollowsAppends: the statement trigger keeps the tree
// across appends of 1, 7 and 100 events, concurrent callers committed in
// one batch, and a plain INSERT; the workers' store is used, as in
// production.
func TestMerkleFrontierFollowsAppends(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db_merkle")
	ctx := context.Background()
	s := db.New(d.Worker)
	requireTreeMatchesChain(t, s, 0)

	size := 0
	for i, n := range []int{1, 7, 100, 1, 100, 7} {
		_, err := s.Append(ctx, intentEvents(fmt.Sprintf("merkle_seq_%d", i), n)...)
		require.NoError(t, err)
		size += n
		requireTreeMatchesChain(t, s, size)
	}

	// Concurrent callers: the group appender sends them in shared batches.
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Append(ctx, intentEvents(fmt.Sprintf("merkle_par_%d", i), []int{1, 7, 100}[i%3])...)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	size += 10 * (1 + 7 + 100)
	requireTreeMatchesChain(t, s, size)

	// An insert that skips audit_append is held to the same tree.
	_, err := d.Worker.Exec(ctx, `INSERT INTO audit_events (position, receipt_id, intent_id, seq, event_type, actor_id, actor_type, action, ts, context, prev_hash, integrity)
		SELECT position + 1, 'plain/1', 'plain', 1, 'X', 'a', 'SYSTEM', 'READ', now(), '{}', integrity, sha256(integrity) FROM audit_chain_head`)
	require.NoError(t, err)
	head, err := s.AuditTreeHead(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(size+1), head.Size)
	b := translog.NewBuilder(head.Size)
	require.NoError(t, s.StreamAuditLeaves(ctx, head.Size, func(_ int64, in []byte) error { return b.Add(translog.LeafHash(in)) }))
	want, err := b.Root()
	require.NoError(t, err)
	got, err := translog.RootFromFrontier(head.Size, head.Frontier)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// The head still refuses anything but an advance, and a tree of the
	// wrong shape.
	_, err = d.Pool.Exec(ctx, `UPDATE audit_chain_head SET merkle_frontier = '{}'`)
	require.ErrorContains(t, err, "audit_chain_head may only advance")
	tx, err := d.Worker.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_advance`)
	require.Error(t, err, "the worker cannot turn the head's trigger off")
}

// TestMerkleMigrationBackfillsTheTree: 0022 gives a chain recorded before it
// the tree of its receipts; down, appends, and up again keep it right.
func TestMerkleMigrationBackfillsTheTree(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t, "db_merkle_backfill")
	ctx := context.Background()
	p, err := db.NewMigrationProvider(d.Pool)
	require.NoError(t, err)
	defer p.Close()
	_, err = p.UpTo(ctx, 21)
	require.NoError(t, err)
	s := db.New(d.Pool)
	_, err = s.Append(ctx, intentEvents("backfill", 13)...)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 22)
	require.NoError(t, err)
	requireTreeMatchesChain(t, s, 13)
	_, err = s.Append(ctx, intentEvents("after_backfill", 4)...)
	require.NoError(t, err)
	requireTreeMatchesChain(t, s, 17)

	_, err = p.DownTo(ctx, 21)
	require.NoError(t, err)
	_, err = s.Append(ctx, intentEvents("without_tree", 6)...)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 22)
	require.NoError(t, err)
	requireTreeMatchesChain(t, s, 23)
}

// TestCheckpointsAreAppendOnlyAndHeldToTheHead: the database records a
// checkpoint of the head's tree or of a smaller one, never another root
// at the head or a tree it does not hold, and never changes one.
func TestCheckpointsAreAppendOnlyAndHeldToTheHead(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db_checkpoints")
	ctx := context.Background()
	s := db.New(d.Worker)
	_, err := s.LatestCheckpoint(ctx, translog.Origin)
	require.ErrorIs(t, err, db.ErrNoCheckpoint)
	_, err = s.Append(ctx, intentEvents("cp", 9)...)
	require.NoError(t, err)
	head, err := s.AuditTreeHead(ctx)
	require.NoError(t, err)
	root, err := translog.RootFromFrontier(head.Size, head.Frontier)
	require.NoError(t, err)

	skey, _, err := translog.GenerateKey(rand.Reader, "db-test")
	require.NoError(t, err)
	signer, err := noteSigner(skey)
	require.NoError(t, err)
	cp, err := translog.Sign(signer, head.Size, root)
	require.NoError(t, err)
	stored, err := s.RecordCheckpoint(ctx, db.StoredCheckpoint{Origin: translog.Origin, KeyName: cp.KeyName, Size: cp.Size, Root: cp.Hash, Note: cp.Note})
	require.NoError(t, err)
	require.Equal(t, cp.Note, stored.Note)
	again, err := s.RecordCheckpoint(ctx, db.StoredCheckpoint{Origin: translog.Origin, KeyName: cp.KeyName, Size: cp.Size, Root: cp.Hash, Note: cp.Note})
	require.NoError(t, err, "signing the same head again is idempotent")
	require.Equal(t, stored, again)
	latest, err := s.LatestCheckpoint(ctx, translog.Origin)
	require.NoError(t, err)
	require.Equal(t, stored, latest)

	other := make([]byte, 32)
	for name, c := range map[string]struct {
		cp   db.StoredCheckpoint
		want string
	}{
		"another root at the head": {db.StoredCheckpoint{Origin: translog.Origin, KeyName: "k2", Size: head.Size, Root: other, Note: []byte("x")}, "the chain head's tree"},
		"past the head":            {db.StoredCheckpoint{Origin: translog.Origin, KeyName: "k2", Size: head.Size + 1, Root: root, Note: []byte("x")}, "the chain holds 9"},
	} {
		_, err := s.RecordCheckpoint(ctx, c.cp)
		require.ErrorContains(t, err, c.want, name)
	}
	// A smaller tree cannot be checked against the head: the signer
	// computes it from the leaves.
	_, err = s.RecordCheckpoint(ctx, db.StoredCheckpoint{Origin: translog.Origin, KeyName: "k2", Size: 3, Root: other, Note: []byte("x")})
	require.NoError(t, err)
	_, err = s.RecordCheckpoint(ctx, db.StoredCheckpoint{Origin: translog.Origin, KeyName: "k2", Size: 3, Root: root, Note: []byte("y")})
	require.ErrorIs(t, err, db.ErrCheckpointConflict)

	for name, stmt := range map[string]string{
		"update":   `UPDATE audit_checkpoints SET tree_size = 0`,
		"delete":   `DELETE FROM audit_checkpoints`,
		"truncate": `TRUNCATE audit_checkpoints`,
	} {
		_, err := d.Pool.Exec(ctx, stmt) // even a superuser, with the triggers on
		require.ErrorContains(t, err, "audit_checkpoints is append-only", name)
		_, err = d.Worker.Exec(ctx, stmt)
		require.Error(t, err, name)
	}
}

func noteSigner(skey string) (note.Signer, error) { return note.NewSigner(skey) }
