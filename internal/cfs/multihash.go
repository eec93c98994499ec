package cfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/multiformats/go-multihash"
)

// MultihashSHA256Prefix is <0x12 sha2-256><0x20 32-byte length>.
var MultihashSHA256Prefix = []byte{0x12, 0x20}

// Multihash wraps a SHA-256 digest as a multihash (0x1220 + digest), the
// CFS content address.
func Multihash(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("cfs: multihash: digest is %d bytes, want %d: pass a SHA-256 digest", len(digest), sha256.Size)
	}
	mh, err := multihash.Encode(digest, multihash.SHA2_256)
	if err != nil {
		return nil, fmt.Errorf("cfs: multihash: %w", err)
	}
	return mh, nil
}

// MultihashHex is Multihash as lower-case hex ("1220" + 64 hex chars).
func MultihashHex(digest []byte) (string, error) {
	mh, err := Multihash(digest)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(mh), nil
}

// DigestFromMultihash returns the SHA-256 digest inside a multihash and
// rejects any other hash function.
func DigestFromMultihash(mh []byte) ([]byte, error) {
	d, err := multihash.Decode(mh)
	if err != nil {
		return nil, fmt.Errorf("cfs: decode multihash %x: %w", mh, err)
	}
	if d.Code != multihash.SHA2_256 || d.Length != sha256.Size {
		return nil, fmt.Errorf("cfs: decode multihash %x: hash function 0x%x length %d, want sha2-256 (0x12) length 32", mh, d.Code, d.Length)
	}
	return d.Digest, nil
}
