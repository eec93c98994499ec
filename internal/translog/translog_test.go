package translog_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/contextualflux/cfa/internal/translog"
)

func integrities(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		s := sha256.Sum256([]byte(fmt.Sprint("receipt ", i)))
		out[i] = s[:]
	}
	return out
}

// naiveRoot is RFC 6962 2.1's MTH, written from the definition.
func naiveRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		s := sha256.Sum256(nil)
		return s[:]
	case 1:
		s := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return s[:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	s := sha256.Sum256(append(append([]byte{1}, naiveRoot(leaves[:k])...), naiveRoot(leaves[k:])...))
	return s[:]
}

func TestRootFromFrontierIsTheTreeHead(t *testing.T) {
	t.Parallel()
	ints := integrities(300)
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	for n := 0; n <= len(ints); n++ {
		root, err := translog.RootFromFrontier(uint64(n), cr.Hashes())
		require.NoError(t, err)
		require.Equal(t, naiveRoot(ints[:n]), root, "size %d", n)
		if n < len(ints) {
			require.NoError(t, cr.Append(translog.LeafHash(ints[n]), nil))
		}
	}
	_, err := translog.RootFromFrontier(5, cr.Hashes()[:1])
	require.ErrorContains(t, err, "recompute it from the chain")
}

func TestInclusionProofsVerify(t *testing.T) {
	t.Parallel()
	ints := integrities(70)
	for size := 1; size <= len(ints); size++ {
		root := naiveRoot(ints[:size])
		for index := 0; index < size; index++ {
			b, err := translog.NewInclusionBuilder(uint64(index), uint64(size))
			require.NoError(t, err)
			for _, in := range ints { // leaves past the size are ignored
				require.NoError(t, b.Add(translog.LeafHash(in)))
			}
			got, err := b.Root()
			require.NoError(t, err)
			require.Equal(t, root, got)
			p, err := b.Proof()
			require.NoError(t, err)
			require.NoError(t, translog.VerifyInclusion(ints[index], uint64(index), uint64(size), p, root), "leaf %d of %d", index, size)
			other := (index + 1) % size
			if other != index {
				require.ErrorIs(t, translog.VerifyInclusion(ints[other], uint64(index), uint64(size), p, root), translog.ErrProof)
			}
		}
	}
	_, err := translog.NewInclusionBuilder(3, 3)
	require.Error(t, err)
}

func TestConsistencyProofsVerify(t *testing.T) {
	t.Parallel()
	ints := integrities(40)
	for size := 0; size <= len(ints); size++ {
		for old := 0; old <= size; old++ {
			b, err := translog.NewConsistencyBuilder(uint64(old), uint64(size))
			require.NoError(t, err)
			for _, in := range ints[:size] {
				require.NoError(t, b.Add(translog.LeafHash(in)))
			}
			p, err := b.Proof()
			require.NoError(t, err)
			oldRoot, err := b.OldRoot()
			require.NoError(t, err)
			root, err := b.Root()
			require.NoError(t, err)
			require.Equal(t, naiveRoot(ints[:old]), oldRoot, "%d..%d", old, size)
			require.Equal(t, naiveRoot(ints[:size]), root)
			if old == 0 {
				continue // RFC 9162: nothing to prove from the empty tree
			}
			require.NoError(t, translog.VerifyConsistency(uint64(old), uint64(size), p, oldRoot, root), "%d..%d", old, size)
			if old < size {
				forged := naiveRoot(append(append([][]byte{}, ints[:old-1]...), ints[old]))
				require.ErrorIs(t, translog.VerifyConsistency(uint64(old), uint64(size), p, forged, root), translog.ErrProof)
			}
		}
	}
	_, err := translog.NewConsistencyBuilder(5, 4)
	require.ErrorContains(t, err, "give the older tree first")

	b, err := translog.NewConsistencyBuilder(2, 9)
	require.NoError(t, err)
	require.NoError(t, b.Add(translog.LeafHash(ints[0])))
	_, err = b.Proof()
	require.ErrorIs(t, err, translog.ErrTruncated)
}

func TestSignedCheckpoints(t *testing.T) {
	t.Parallel()
	skey, vkey, err := translog.GenerateKey(rand.Reader, "cfa-test")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := dir + "/" + name
		require.NoError(t, writeFile(p, s))
		return p
	}
	signer, err := translog.LoadSigner(write("k", skey+"\n"))
	require.NoError(t, err)
	verifier, err := translog.LoadVerifier(write("k.pub", vkey+"\n"))
	require.NoError(t, err)
	_, err = translog.LoadVerifier(write("wrong.pub", skey))
	require.ErrorContains(t, err, "not the private key")

	root := naiveRoot(integrities(12))
	cp, err := translog.Sign(signer, 12, root)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(cp.Note, []byte(translog.Origin+"\n12\n")), "%s", cp.Note)
	require.Contains(t, string(cp.Note), "\n\n— cfa-test ")

	got, err := translog.Open(cp.Note, verifier)
	require.NoError(t, err)
	require.Equal(t, log.Checkpoint{Origin: translog.Origin, Size: 12, Hash: root}, got.Checkpoint)
	require.Equal(t, "cfa-test", got.KeyName)

	unverified, err := translog.ParseUnverified(cp.Note)
	require.NoError(t, err)
	require.Equal(t, got.Checkpoint, unverified.Checkpoint)

	_, otherV, err := translog.GenerateKey(rand.Reader, "cfa-test")
	require.NoError(t, err)
	other, err := translog.LoadVerifier(write("other.pub", otherV))
	require.NoError(t, err)
	_, err = translog.Open(cp.Note, other)
	require.ErrorIs(t, err, translog.ErrBadSignature)

	tampered := bytes.Replace(cp.Note, []byte("\n12\n"), []byte("\n13\n"), 1)
	_, err = translog.Open(tampered, verifier)
	require.ErrorIs(t, err, translog.ErrBadSignature)
}

func TestCheckFindsTruncationAndRewrites(t *testing.T) {
	t.Parallel()
	ints := integrities(20)
	cp := log.Checkpoint{Origin: translog.Origin, Size: 15, Hash: naiveRoot(ints[:15])}
	check := func(chain [][]byte) error {
		c := translog.NewCheck(cp)
		for _, in := range chain {
			c.Add(in)
		}
		return c.Finish()
	}
	require.NoError(t, check(ints), "a longer chain holds the checkpoint's tree")
	require.NoError(t, check(ints[:15]))
	require.ErrorIs(t, check(ints[:14]), translog.ErrTruncated)
	deleted := append(append([][]byte{}, ints[:7]...), ints[8:]...)
	require.ErrorIs(t, check(deleted), translog.ErrRootMismatch)
	rewritten := append([][]byte{}, ints...)
	rewritten[3] = integrities(21)[20]
	require.ErrorIs(t, check(rewritten), translog.ErrRootMismatch)
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
