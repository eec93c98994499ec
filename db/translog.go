package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// ErrNoCheckpoint: no checkpoint of the log is recorded yet.
var ErrNoCheckpoint = errors.New("no audit checkpoint recorded")

// ErrReceiptNotFound: no receipt has the id asked for.
var ErrReceiptNotFound = errors.New("no such audit receipt")

// ErrCheckpointConflict: a checkpoint of the same size and key is recorded
// with another root: the log signed two trees of one size.
var ErrCheckpointConflict = errors.New("a checkpoint of this size is recorded with another root")

// TreeHead is the chain head with the Merkle tree of the receipts
// (migration 0022): Size receipts, the last one's integrity, and the
// tree's compact range (translog.RootFromFrontier gives its root).
type TreeHead struct {
	Size      uint64
	Integrity []byte
	Frontier  [][]byte
}

// AuditTreeHead reads the chain head and its tree in one row: the size,
// the integrity and the frontier always belong together.
func (s *Store) AuditTreeHead(ctx context.Context) (TreeHead, error) {
	row, err := s.q.GetAuditTreeHead(ctx)
	if err != nil {
		return TreeHead{}, fmt.Errorf("read audit tree head: %w: run `cfa migrate`", err)
	}
	return TreeHead{Size: uint64(row.Position), Integrity: row.Integrity, Frontier: row.MerkleFrontier}, nil
}

// StoredCheckpoint is a signed tree head as audit_checkpoints records it.
type StoredCheckpoint struct {
	Origin    string
	KeyName   string
	Size      uint64
	Root      []byte
	Note      []byte
	CreatedAt time.Time
}

// RecordCheckpoint appends a signed tree head. Signing a size again with
// the same key records nothing and returns the stored checkpoint; one with
// another root is ErrCheckpointConflict. The database refuses a size past
// the head, and a root at the head's size other than its tree's.
func (s *Store) RecordCheckpoint(ctx context.Context, cp StoredCheckpoint) (StoredCheckpoint, error) {
	row, err := s.q.InsertAuditCheckpoint(ctx, dbsqlc.InsertAuditCheckpointParams{
		Origin: cp.Origin, KeyName: cp.KeyName, TreeSize: int64(cp.Size), RootHash: cp.Root, Note: string(cp.Note),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredCheckpoint{}, fmt.Errorf("record checkpoint of %d receipts: another session recorded it at the same time: run the command again", cp.Size)
	}
	if err != nil {
		return StoredCheckpoint{}, fmt.Errorf("record checkpoint of %d receipts: %w", cp.Size, err)
	}
	stored := StoredCheckpoint{Origin: row.Origin, KeyName: row.KeyName, Size: uint64(row.TreeSize), Root: row.RootHash, Note: []byte(row.Note), CreatedAt: row.CreatedAt.UTC()}
	if !bytes.Equal(stored.Root, cp.Root) {
		return stored, fmt.Errorf("record checkpoint of %d receipts signed by %s: root %x, recorded %x: %w: the chain was rewritten since; do not publish either before `cfa audit verify --checkpoint`",
			cp.Size, cp.KeyName, cp.Root, stored.Root, ErrCheckpointConflict)
	}
	return stored, nil
}

// LatestCheckpoint is the recorded checkpoint of origin's largest tree.
func (s *Store) LatestCheckpoint(ctx context.Context, origin string) (StoredCheckpoint, error) {
	row, err := s.q.LatestAuditCheckpoint(ctx, origin)
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredCheckpoint{}, fmt.Errorf("%w for %s: sign one with `cfa audit checkpoint`", ErrNoCheckpoint, origin)
	}
	if err != nil {
		return StoredCheckpoint{}, fmt.Errorf("read the latest audit checkpoint: %w", err)
	}
	return StoredCheckpoint{Origin: row.Origin, KeyName: row.KeyName, Size: uint64(row.TreeSize), Root: row.RootHash, Note: []byte(row.Note), CreatedAt: row.CreatedAt.UTC()}, nil
}

// AuditLeaf returns the chain position and integrity of a receipt: it is
// leaf position - 1 of the tree.
func (s *Store) AuditLeaf(ctx context.Context, receiptID string) (position int64, integrity []byte, err error) {
	row, err := s.q.GetAuditLeaf(ctx, receiptID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("%w: %q: `cfa audit show INTENT_ID` lists an intent's receipts", ErrReceiptNotFound, receiptID)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read audit receipt %q: %w", receiptID, err)
	}
	return row.Position, row.Integrity, nil
}

// StreamAuditLeaves calls fn with the position and integrity of every
// receipt at positions 1..size, in order, reading keyset pages of the two
// columns only (as StreamAuditChain, docs/adr/0139). The integrity slice
// is fn's to keep. A position missing from the table is not filled in: fn
// sees the gap.
func (s *Store) StreamAuditLeaves(ctx context.Context, size uint64, fn func(position int64, integrity []byte) error) error {
	const page = 20000
	var after int64
	for {
		rows, err := s.q.AuditLeafPage(ctx, dbsqlc.AuditLeafPageParams{AfterPosition: after, UpToPosition: int64(size), MaxRows: page})
		if err != nil {
			return fmt.Errorf("read audit leaves after position %d: %w", after, err)
		}
		for _, r := range rows {
			if err := fn(r.Position, r.Integrity); err != nil {
				return err
			}
		}
		if len(rows) < page {
			return nil
		}
		after = rows[len(rows)-1].Position
	}
}
