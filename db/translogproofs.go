package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/contextualflux/cfa/internal/translog"
)

// ErrTreeTooLarge: a proof asked for a tree larger than the chain.
var ErrTreeTooLarge = errors.New("the audit log has fewer receipts than the tree asked for")

// FeedTree streams the leaves of the first b.Size() receipts into b; a
// missing position is a deleted receipt, fewer receipts a truncated tail.
func (s *Store) FeedTree(ctx context.Context, b *translog.Builder) error {
	var next int64 = 1
	err := s.StreamAuditLeaves(ctx, b.Size(), func(pos int64, integrity []byte) error {
		if pos != next {
			return fmt.Errorf("%w: the audit chain has no receipt at position %d (next is %d): a receipt was deleted; `cfa audit verify` tells where the chain breaks", translog.ErrTruncated, next, pos)
		}
		next++
		return b.Add(translog.LeafHash(integrity))
	})
	if err != nil {
		return err
	}
	if b.Added() < b.Size() {
		return fmt.Errorf("%w: the audit chain holds %d receipts, the tree asked for has %d: receipts were removed from the end; `cfa audit verify` tells more",
			translog.ErrTruncated, b.Added(), b.Size())
	}
	return nil
}

// SignCheckpoint signs the current tree head and records it. Before
// signing it reads every receipt's integrity up to the head, checks that
// they give the root the database keeps, and proves that the tree extends
// the last recorded checkpoint: it never signs a history that contradicts
// one it signed before.
func (s *Store) SignCheckpoint(ctx context.Context, signer note.Signer) (StoredCheckpoint, error) {
	head, err := s.AuditTreeHead(ctx)
	if err != nil {
		return StoredCheckpoint{}, err
	}
	root, err := translog.RootFromFrontier(head.Size, head.Frontier)
	if err != nil {
		return StoredCheckpoint{}, err
	}
	prev, err := s.LatestCheckpoint(ctx, translog.Origin)
	hasPrev := err == nil
	if err != nil && !errors.Is(err, ErrNoCheckpoint) {
		return StoredCheckpoint{}, err
	}
	if hasPrev && prev.Size > head.Size {
		return StoredCheckpoint{}, fmt.Errorf("the last checkpoint covers %d receipts, the chain now %d: receipts were removed from the end; do not sign: `cfa audit verify --checkpoint` on the published checkpoint tells more",
			prev.Size, head.Size)
	}
	oldSize := head.Size
	if hasPrev {
		oldSize = prev.Size
	}
	b, err := translog.NewConsistencyBuilder(oldSize, head.Size)
	if err != nil {
		return StoredCheckpoint{}, err
	}
	if err := s.FeedTree(ctx, b); err != nil {
		return StoredCheckpoint{}, fmt.Errorf("check the tree before signing: %w", err)
	}
	if leavesRoot, _ := b.Root(); !bytes.Equal(leavesRoot, root) {
		return StoredCheckpoint{}, fmt.Errorf("the receipts give root %x, the chain head's tree %x: the head or the chain was changed behind the triggers; do not sign: run `cfa audit verify`", leavesRoot, root)
	}
	if hasPrev {
		p, _ := b.Proof()
		oldRoot, _ := b.OldRoot()
		if err := translog.VerifyConsistency(prev.Size, head.Size, p, prev.Root, root); err != nil || !bytes.Equal(oldRoot, prev.Root) {
			return StoredCheckpoint{}, fmt.Errorf("the chain does not extend the checkpoint of %d receipts recorded %s (root %x; the receipts give %x): it was rewritten; do not sign: `cfa audit verify --checkpoint` tells more",
				prev.Size, prev.CreatedAt.Format("2006-01-02T15:04:05Z"), prev.Root, oldRoot)
		}
	}
	cp, err := translog.Sign(signer, head.Size, root)
	if err != nil {
		return StoredCheckpoint{}, err
	}
	return s.RecordCheckpoint(ctx, StoredCheckpoint{Origin: cp.Origin, KeyName: cp.KeyName, Size: cp.Size, Root: cp.Hash, Note: cp.Note})
}

// Inclusion is an RFC 6962 inclusion proof of one receipt.
type Inclusion struct {
	ReceiptID   string
	Index, Size uint64
	Integrity   []byte
	Hashes      [][]byte
	Root        []byte
}

// InclusionProof proves that receipt receiptID is in the tree of the first
// size receipts, from the receipts in Postgres, and checks the proof.
func (s *Store) InclusionProof(ctx context.Context, receiptID string, size uint64) (Inclusion, error) {
	pos, integrity, err := s.AuditLeaf(ctx, receiptID)
	if err != nil {
		return Inclusion{}, err
	}
	if err := s.checkTreeSize(ctx, size); err != nil {
		return Inclusion{}, err
	}
	index := uint64(pos - 1)
	if index >= size {
		return Inclusion{}, fmt.Errorf("%w: receipt %s is at position %d, after the tree's %d receipts: ask for a larger tree or sign a newer checkpoint",
			ErrReceiptNotFound, receiptID, pos, size)
	}
	b, err := translog.NewInclusionBuilder(index, size)
	if err != nil {
		return Inclusion{}, err
	}
	if err := s.FeedTree(ctx, b); err != nil {
		return Inclusion{}, err
	}
	hashes, err := b.Proof()
	if err != nil {
		return Inclusion{}, err
	}
	root, err := b.Root()
	if err != nil {
		return Inclusion{}, err
	}
	if err := translog.VerifyInclusion(integrity, index, size, hashes, root); err != nil {
		return Inclusion{}, err
	}
	return Inclusion{ReceiptID: receiptID, Index: index, Size: size, Integrity: integrity, Hashes: hashes, Root: root}, nil
}

// Consistency is an RFC 6962 consistency proof between two tree sizes.
type Consistency struct {
	OldSize, Size uint64
	OldRoot, Root []byte
	Hashes        [][]byte
}

// ConsistencyProof proves that the tree of oldSize receipts is a prefix of
// the tree of size receipts, and checks the proof.
func (s *Store) ConsistencyProof(ctx context.Context, oldSize, size uint64) (Consistency, error) {
	if err := s.checkTreeSize(ctx, size); err != nil {
		return Consistency{}, err
	}
	b, err := translog.NewConsistencyBuilder(oldSize, size)
	if err != nil {
		return Consistency{}, err
	}
	if err := s.FeedTree(ctx, b); err != nil {
		return Consistency{}, err
	}
	hashes, err := b.Proof()
	if err != nil {
		return Consistency{}, err
	}
	oldRoot, err := b.OldRoot()
	if err != nil {
		return Consistency{}, err
	}
	root, err := b.Root()
	if err != nil {
		return Consistency{}, err
	}
	if err := translog.VerifyConsistency(oldSize, size, hashes, oldRoot, root); err != nil {
		return Consistency{}, err
	}
	return Consistency{OldSize: oldSize, Size: size, OldRoot: oldRoot, Root: root, Hashes: hashes}, nil
}

func (s *Store) checkTreeSize(ctx context.Context, size uint64) error {
	head, err := s.AuditTreeHead(ctx)
	if err != nil {
		return err
	}
	if size > head.Size {
		return fmt.Errorf("%w: %d receipts asked for, %d in the chain", ErrTreeTooLarge, size, head.Size)
	}
	return nil
}
