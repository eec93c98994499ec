package audit

import (
	"bytes"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Leaf is the Merkle leaf data of a receipt: its integrity hash. The tree
// hashes it again as an RFC 6962 leaf (SHA-256(0x00 || leaf)).
func Leaf(r Receipt) []byte { return bytes.Clone(r.Integrity) }

var hasher = rfc6962.DefaultHasher

// MerkleRoot is the RFC 6962 tree head over Leaf(r) for receipts in order
// (SHOULD-001). Publishing (len, root) anchors the chain: a later export
// must reproduce it, which also catches receipts removed from the end.
func MerkleRoot(receipts []Receipt) ([]byte, error) {
	return rangeRoot(leafHashes(receipts))
}

// InclusionProof proves that receipts[index] is in the tree of all receipts;
// check it with VerifyInclusion against MerkleRoot(receipts).
func InclusionProof(receipts []Receipt, index uint64) ([][]byte, error) {
	size := uint64(len(receipts))
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof for index %d of %d receipts: %w", index, size, err)
	}
	leaves := leafHashes(receipts)
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		begin, end := id.Coverage()
		h, err := rangeRoot(leaves[begin:end]) // a perfect subtree: its root does not depend on the offset
		if err != nil {
			return nil, fmt.Errorf("audit: inclusion proof node %v: %w", id, err)
		}
		hashes[i] = h
	}
	p, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof for index %d: %w", index, err)
	}
	return p, nil
}

// VerifyInclusion checks that r sits at index in a tree of size receipts
// with the given root.
func VerifyInclusion(r Receipt, index, size uint64, inclusion [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(hasher, index, size, hasher.HashLeaf(Leaf(r)), inclusion, root); err != nil {
		return fmt.Errorf("audit: receipt %q is not at index %d of the tree of size %d with root %x: %w",
			r.ReceiptID, index, size, root, err)
	}
	return nil
}

func leafHashes(receipts []Receipt) [][]byte {
	out := make([][]byte, len(receipts))
	for i, r := range receipts {
		out[i] = hasher.HashLeaf(Leaf(r))
	}
	return out
}

// rangeRoot is the RFC 6962 root of the tree over leafHashes.
func rangeRoot(leafHashes [][]byte) ([]byte, error) {
	if len(leafHashes) == 0 {
		return hasher.EmptyRoot(), nil
	}
	rf := compact.RangeFactory{Hash: hasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	for _, h := range leafHashes {
		if err := cr.Append(h, nil); err != nil {
			return nil, err
		}
	}
	return cr.GetRootHash(nil)
}
