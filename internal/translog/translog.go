package translog

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Origin names this log in its checkpoints' first line.
const Origin = "contextualflux.cfa/audit"

var (
	hasher = rfc6962.DefaultHasher
	ranges = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// Sentinel errors a caller branches on; the errors returned wrap them with
// the sizes and hashes involved.
var (
	// ErrTruncated: fewer receipts than the checkpoint commits to.
	ErrTruncated = errors.New("fewer receipts than the checkpoint commits to")
	// ErrRootMismatch: the receipts do not hash to the checkpoint's root.
	ErrRootMismatch = errors.New("the receipts do not give the checkpoint's root")
	// ErrBadSignature: the note is not signed by the key given, or is not
	// a checkpoint of this log.
	ErrBadSignature = errors.New("the checkpoint's signature does not verify")
	// ErrProof: a proof does not check against the roots it is for.
	ErrProof = errors.New("the proof does not verify")
)

// LeafHash is the tree's leaf for a receipt: SHA-256(0x00 || integrity).
func LeafHash(integrity []byte) []byte { return hasher.HashLeaf(integrity) }

// EmptyRoot is the root of the tree of no receipts.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// RootFromFrontier is the root of the tree of size leaves whose compact
// range (the roots of its perfect subtrees, largest first) is frontier.
func RootFromFrontier(size uint64, frontier [][]byte) ([]byte, error) {
	if size == 0 && len(frontier) == 0 {
		return EmptyRoot(), nil
	}
	r, err := ranges.NewRange(0, size, frontier)
	if err != nil {
		return nil, fmt.Errorf("merkle frontier of %d receipts: %w: the chain head's tree is damaged; recompute it from the chain (docs/adr/0145)", size, err)
	}
	return r.GetRootHash(nil)
}

// Checkpoint is a signed tree head.
type Checkpoint struct {
	log.Checkpoint
	// KeyName is the name of the key that signed Note ("" when the
	// signature was not checked).
	KeyName string
	// Note is the signed note: the checkpoint text and its signature lines.
	Note []byte
}

// Sign makes the signed note of the tree head (size, root) of Origin.
func Sign(s note.Signer, size uint64, root []byte) (Checkpoint, error) {
	if len(root) != hasher.Size() {
		return Checkpoint{}, fmt.Errorf("sign checkpoint of %d receipts: root of %d bytes, want %d", size, len(root), hasher.Size())
	}
	cp := log.Checkpoint{Origin: Origin, Size: size, Hash: bytes.Clone(root)}
	msg, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint of %d receipts with key %s: %w", size, s.Name(), err)
	}
	return Checkpoint{Checkpoint: cp, KeyName: s.Name(), Note: msg}, nil
}

// Open checks msg's signature with v and parses the checkpoint it signs,
// which must be of Origin.
func Open(msg []byte, v note.Verifier) (Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(msg, Origin, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v: check that the public key is the log's (%s) and the file is a checkpoint of %s", ErrBadSignature, err, v.Name(), Origin)
	}
	return Checkpoint{Checkpoint: *cp, KeyName: v.Name(), Note: bytes.Clone(msg)}, nil
}

// ParseUnverified reads the checkpoint of a signed note without checking
// its signature: for a checkpoint this process just read from its own
// store, or one the caller checks otherwise.
func ParseUnverified(msg []byte) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		n = unverified.Note
	case err != nil:
		return Checkpoint{}, fmt.Errorf("read checkpoint: %w: give a signed note written by `cfa audit checkpoint`", err)
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint: %w: give a signed note written by `cfa audit checkpoint`", err)
	}
	if cp.Origin != Origin {
		return Checkpoint{}, fmt.Errorf("read checkpoint: origin %q, want %q: the note is another log's", cp.Origin, Origin)
	}
	return Checkpoint{Checkpoint: cp, Note: bytes.Clone(msg)}, nil
}

// GenerateKey makes an Ed25519 key pair named name: the signer key
// ("PRIVATE+KEY+name+hash+key") and the verifier key ("name+hash+key").
func GenerateKey(rand io.Reader, name string) (signer, verifier string, err error) {
	signer, verifier, err = note.GenerateKey(rand, name)
	if err != nil {
		return "", "", fmt.Errorf("generate checkpoint key %q: %w: use a name without spaces or '+'", name, err)
	}
	return signer, verifier, nil
}

// LoadSigner reads a signer key file written by `cfa audit keygen`.
func LoadSigner(path string) (note.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint signing key: %w: create one with `cfa audit keygen`", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signing key %s: %w: give the private key file `cfa audit keygen` wrote", path, err)
	}
	return s, nil
}

// LoadVerifier reads a verifier (public) key file written by `cfa audit
// keygen`.
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint public key: %w: give the .pub file `cfa audit keygen` wrote", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("checkpoint public key %s: %w: give the .pub file `cfa audit keygen` wrote, not the private key", path, err)
	}
	return v, nil
}

// Builder takes the leaf hashes of a tree in order, from the first, and
// keeps what its caller asked for: the root at the tree's size, the root
// at a smaller size, and the hashes of proof nodes. Memory is O(log n).
type Builder struct {
	size, oldSize uint64
	n             uint64
	all           *compact.Range
	oldRoot       []byte

	nodes  proof.Nodes
	order  []int // indices into nodes.IDs, by the first leaf each covers
	next   int   // position in order of the node being built
	cur    *compact.Range
	hashes [][]byte
}

// NewBuilder is a Builder for the root of the tree of size leaves.
func NewBuilder(size uint64) *Builder {
	return &Builder{size: size, oldSize: size, all: ranges.NewEmptyRange(0)}
}

// NewInclusionBuilder is a Builder for the inclusion proof of leaf index
// in the tree of size leaves, and that tree's root.
func NewInclusionBuilder(index, size uint64) (*Builder, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof of leaf %d: %w", index, err)
	}
	b := NewBuilder(size)
	b.setNodes(nodes)
	return b, nil
}

// NewConsistencyBuilder is a Builder for the consistency proof between the
// trees of oldSize and size leaves, and both roots.
func NewConsistencyBuilder(oldSize, size uint64) (*Builder, error) {
	nodes, err := proof.Consistency(oldSize, size)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d receipts: %w: give the older tree first", oldSize, size, err)
	}
	b := NewBuilder(size)
	b.oldSize = oldSize
	b.setNodes(nodes)
	return b, nil
}

func (b *Builder) setNodes(nodes proof.Nodes) {
	b.nodes = nodes
	b.hashes = make([][]byte, len(nodes.IDs))
	b.order = make([]int, len(nodes.IDs))
	for i := range b.order {
		b.order[i] = i
	}
	slices.SortFunc(b.order, func(x, y int) int {
		bx, _ := nodes.IDs[x].Coverage()
		by, _ := nodes.IDs[y].Coverage()
		return int(bx) - int(by) // nodes are disjoint; coverage fits an int here
	})
}

// Size is how many leaves the Builder needs.
func (b *Builder) Size() uint64 { return b.size }

// Added is how many leaves it has had.
func (b *Builder) Added() uint64 { return b.n }

// Add takes the next leaf hash (LeafHash of the next receipt). Leaves past
// Size are ignored.
func (b *Builder) Add(leafHash []byte) error {
	if b.n >= b.size {
		return nil
	}
	i := b.n
	b.n++
	if err := b.all.Append(leafHash, nil); err != nil {
		return err
	}
	if b.n == b.oldSize && b.oldSize < b.size {
		root, err := b.all.GetRootHash(nil)
		if err != nil {
			return err
		}
		b.oldRoot = root
	}
	if b.next >= len(b.order) {
		return nil
	}
	begin, end := b.nodes.IDs[b.order[b.next]].Coverage()
	if i < begin {
		return nil // the leaf proved, or one of its subtree's
	}
	if b.cur == nil {
		b.cur = ranges.NewEmptyRange(begin)
	}
	if err := b.cur.Append(leafHash, nil); err != nil {
		return err
	}
	if i+1 == end { // a perfect subtree: one hash, its root
		b.hashes[b.order[b.next]] = b.cur.Hashes()[0]
		b.cur = nil
		b.next++
	}
	return nil
}

func (b *Builder) complete() error {
	if b.n < b.size {
		return fmt.Errorf("%w: %d of %d", ErrTruncated, b.n, b.size)
	}
	return nil
}

// Root is the root of the tree of Size leaves, once they are all added.
func (b *Builder) Root() ([]byte, error) {
	if err := b.complete(); err != nil {
		return nil, err
	}
	if b.size == 0 {
		return EmptyRoot(), nil
	}
	return b.all.GetRootHash(nil)
}

// OldRoot is the root of the smaller tree of a consistency Builder.
func (b *Builder) OldRoot() ([]byte, error) {
	switch {
	case b.oldSize == 0:
		return EmptyRoot(), nil
	case b.oldSize == b.size:
		return b.Root()
	case b.n < b.oldSize:
		return nil, fmt.Errorf("%w: %d of %d", ErrTruncated, b.n, b.oldSize)
	}
	return b.oldRoot, nil
}

// Proof is the proof's hashes, once every leaf is added.
func (b *Builder) Proof() ([][]byte, error) {
	if err := b.complete(); err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(b.hashes))
	copy(hashes, b.hashes)
	return b.nodes.Rehash(hashes, hasher.HashChildren)
}

// VerifyInclusion checks that the receipt of the given integrity is leaf
// index of the tree of size leaves with root.
func VerifyInclusion(integrity []byte, index, size uint64, hashes [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(hasher, index, size, LeafHash(integrity), hashes, root); err != nil {
		return fmt.Errorf("%w: receipt %x is not leaf %d of the tree of %d receipts with root %x: %v", ErrProof, integrity, index, size, root, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size leaves with root extends
// the tree of oldSize leaves with oldRoot.
func VerifyConsistency(oldSize, size uint64, hashes [][]byte, oldRoot, root []byte) error {
	if err := proof.VerifyConsistency(hasher, oldSize, size, hashes, oldRoot, root); err != nil {
		return fmt.Errorf("%w: the tree of %d receipts (root %x) does not extend the tree of %d (root %x): %v", ErrProof, size, root, oldSize, oldRoot, err)
	}
	return nil
}

// Check holds a chain read in order to a checkpoint: Add every receipt's
// integrity, then Finish says whether the first Size of them give the
// checkpoint's root.
type Check struct {
	cp    log.Checkpoint
	b     *Builder
	count uint64
}

// NewCheck starts checking a chain against cp.
func NewCheck(cp log.Checkpoint) *Check { return &Check{cp: cp, b: NewBuilder(cp.Size)} }

// Add takes the next receipt's integrity. The slice is not kept.
func (c *Check) Add(integrity []byte) {
	c.count++
	_ = c.b.Add(LeafHash(integrity)) // compact ranges of in-order leaves do not fail
}

// Receipts is how many receipts were added.
func (c *Check) Receipts() uint64 { return c.count }

// Finish returns nil when the chain holds the checkpoint's tree, an error
// wrapping ErrTruncated when it has fewer receipts, or ErrRootMismatch.
func (c *Check) Finish() error {
	if c.count < c.cp.Size {
		return fmt.Errorf("%w: the checkpoint commits to %d receipts, the chain has %d: receipts were removed from the end; restore them from a backup or an export",
			ErrTruncated, c.cp.Size, c.count)
	}
	root, err := c.b.Root()
	if err != nil {
		return err
	}
	if !bytes.Equal(root, c.cp.Hash) {
		return fmt.Errorf("%w: the first %d receipts give root %s, the checkpoint %s: receipts were removed, reordered or rewritten; find where with `cfa audit verify` and an older export",
			ErrRootMismatch, c.cp.Size, hex.EncodeToString(root), hex.EncodeToString(c.cp.Hash))
	}
	return nil
}
