// Package translog is the transparency log over the audit receipts: the
// RFC 6962 Merkle tree whose leaves are the receipts' integrity hashes in
// chain order, its signed checkpoints, and inclusion and consistency
// proofs.
//
// CFS 0.1, SHOULD-001 Merkle Audit: "Implementations SHOULD maintain a
// merkle tree of receipts for tamper-evident audit trails."
//
// The tree is kept by Postgres as a compact range (the frontier, migration
// 0022); RootFromFrontier turns it into the root. A checkpoint is the C2SP
// signed note of the tree head ("origin\nsize\nbase64 root\n", formatted
// and parsed by github.com/transparency-dev/formats/log), signed with an
// Ed25519 key of golang.org/x/mod/sumdb/note. A Builder takes the leaves
// of a tree in order and gives its root, the root at a smaller size and
// the hashes of a proof, in O(log n) memory; proofs are checked with
// github.com/transparency-dev/merkle/proof. Publishing checkpoints and
// holding the chain to them with Check is what lets a reader notice a
// truncated tail, a deleted receipt or a rewritten chain that the hash
// chain alone cannot (docs/adr/0145).
//
// Pure: no SQL, no clock; randomness only from the reader GenerateKey is
// given.
package translog
