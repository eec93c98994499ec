package main

// The transparency log commands (SHOULD-001, docs/adr/0145): keys,
// signed checkpoints of the receipts' Merkle tree, inclusion and
// consistency proofs, and the checkpoint check of `cfa audit verify`.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/translog"
)

// Environment variables that stand for --key and --pubkey: a key file's
// path, or the key itself.
const (
	envCheckpointKey    = "CFA_CHECKPOINT_KEY"
	envCheckpointPubkey = "CFA_CHECKPOINT_PUBKEY"
)

func (c *cli) auditKeygenCmd() *cobra.Command {
	var name, dir string
	cmd := &cobra.Command{
		Use:   "keygen [--name NAME] [--out-dir DIR]",
		Short: "Create the Ed25519 key pair that signs checkpoints",
		Long: `Create the Ed25519 key pair that signs the audit log's checkpoints (C2SP
signed notes): DIR/NAME.key, the signer key (mode 0600: keep it secret, give
it to ` + "`cfa audit checkpoint --key`" + ` or ` + envCheckpointKey + `), and DIR/NAME.pub, the
verifier key to publish with the checkpoints (` + "`cfa audit verify --pubkey`" + `).
An existing key file is never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			skey, vkey, err := translog.GenerateKey(rand.Reader, name)
			if err != nil {
				return invalid(err)
			}
			base := filepath.Join(dir, keyFileBase(name))
			out := keygenReport{Name: name, PrivateKeyFile: base + ".key", PublicKeyFile: base + ".pub", VerifierKey: vkey}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create key directory %s: %w", dir, err)
			}
			if err := writeNewFile(out.PrivateKeyFile, skey+"\n", 0o600); err != nil {
				return err
			}
			if err := writeNewFile(out.PublicKeyFile, vkey+"\n", 0o644); err != nil {
				return err
			}
			return c.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "signer key   %s (secret: `cfa audit checkpoint --key %s`)\n", out.PrivateKeyFile, out.PrivateKeyFile)
				fmt.Fprintf(w, "verifier key %s (publish it: `cfa audit verify --pubkey %s`)\n%s\n", out.PublicKeyFile, out.PublicKeyFile, vkey)
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", translog.Origin, "the key's name, written in every signature")
	cmd.Flags().StringVar(&dir, "out-dir", ".", "directory for NAME.key and NAME.pub")
	return cmd
}

// keygenReport is `cfa audit keygen -o json`.
type keygenReport struct {
	Name           string `json:"name"`
	PrivateKeyFile string `json:"private_key_file"`
	PublicKeyFile  string `json:"public_key_file"`
	VerifierKey    string `json:"verifier_key"`
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// keyFileBase is a file name for a key name ("a.b/audit" → "a.b_audit").
func keyFileBase(name string) string { return unsafeFileChars.ReplaceAllString(name, "_") }

func writeNewFile(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return invalid(fmt.Errorf("%s exists: choose another --out-dir or --name; a key is never overwritten", path))
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// loadSigner reads the signer key of --key, or of CFA_CHECKPOINT_KEY (a
// path or the key).
func loadSigner(path string) (note.Signer, error) {
	if path == "" {
		env := strings.TrimSpace(os.Getenv(envCheckpointKey))
		if strings.HasPrefix(env, "PRIVATE+KEY+") {
			s, err := note.NewSigner(env)
			if err != nil {
				return nil, invalid(fmt.Errorf("%s: %w: give the key `cfa audit keygen` wrote, or its path", envCheckpointKey, err))
			}
			return s, nil
		}
		path = env
	}
	if path == "" {
		return nil, usage(fmt.Errorf("no signing key: give --key FILE or set %s (`cfa audit keygen` creates one)", envCheckpointKey))
	}
	s, err := translog.LoadSigner(path)
	if err != nil {
		return nil, invalid(err)
	}
	return s, nil
}

// loadVerifier reads the verifier key of --pubkey, or of
// CFA_CHECKPOINT_PUBKEY (a path or the key); nil when neither is set.
func loadVerifier(path string) (note.Verifier, error) {
	if path == "" {
		env := strings.TrimSpace(os.Getenv(envCheckpointPubkey))
		if _, statErr := os.Stat(env); env != "" && statErr != nil && strings.Contains(env, "+") {
			v, err := note.NewVerifier(env)
			if err != nil {
				return nil, invalid(fmt.Errorf("%s: %w: give the key `cfa audit keygen` wrote to NAME.pub, or its path", envCheckpointPubkey, err))
			}
			return v, nil
		}
		path = env
	}
	if path == "" {
		return nil, nil
	}
	v, err := translog.LoadVerifier(path)
	if err != nil {
		return nil, invalid(err)
	}
	return v, nil
}

// readCheckpoint reads a checkpoint file, checking its signature when v
// is not nil.
func readCheckpoint(path string, v note.Verifier) (translog.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return translog.Checkpoint{}, invalid(fmt.Errorf("read checkpoint: %w: give a file `cfa audit checkpoint --out` wrote", err))
	}
	if v == nil {
		cp, err := translog.ParseUnverified(b)
		if err != nil {
			return translog.Checkpoint{}, invalid(fmt.Errorf("%s: %w", path, err))
		}
		return cp, nil
	}
	cp, err := translog.Open(b, v)
	if err != nil {
		return translog.Checkpoint{}, invalid(fmt.Errorf("checkpoint %s: %w", path, err))
	}
	return cp, nil
}

// checkpointReport is `cfa audit checkpoint -o json`.
type checkpointReport struct {
	Origin   string `json:"origin"`
	TreeSize uint64 `json:"tree_size"`
	Root     string `json:"root"`
	KeyName  string `json:"key_name"`
	Note     string `json:"note"`
	File     string `json:"file,omitempty"`
	// ExtendsSize is the size of the previous checkpoint this tree was
	// proved to extend (0: none recorded).
	ExtendsSize uint64 `json:"extends_size,omitempty"`
}

func (c *cli) auditCheckpointCmd() *cobra.Command {
	var keyFile, out string
	cmd := &cobra.Command{
		Use:   "checkpoint [--key FILE] [--out FILE]",
		Short: "Sign the audit log's tree head and record it",
		Long: `Sign the current tree head of the receipts' Merkle tree (its size and
RFC 6962 root) as a C2SP signed note, record it in audit_checkpoints and
print it (or write it to --out). Publish the note where the database's
owner cannot change it: ` + "`cfa audit verify --checkpoint`" + ` later holds the chain to it.

Before signing it reads every receipt's integrity up to the head, checks
that they give the root the database keeps, and proves that the tree
extends the last recorded checkpoint: it never signs a history that
contradicts one it signed before. The key is --key or ` + envCheckpointKey + `
(a path, or the key itself).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			signer, err := loadSigner(keyFile)
			if err != nil {
				return err
			}
			store, err := c.openStore(ctx)
			if err != nil {
				return err
			}
			prev, err := store.LatestCheckpoint(ctx, translog.Origin)
			if err != nil && !errors.Is(err, db.ErrNoCheckpoint) {
				return err
			}
			stored, err := store.SignCheckpoint(ctx, signer)
			if err != nil {
				return err
			}
			rep := checkpointReport{Origin: stored.Origin, TreeSize: stored.Size, Root: hex.EncodeToString(stored.Root), File: out}
			if prev.Note != nil {
				rep.ExtendsSize = prev.Size
			}
			rep.KeyName, rep.Note = stored.KeyName, string(stored.Note)
			if out != "" && out != "-" {
				if err := os.WriteFile(out, stored.Note, 0o644); err != nil {
					return fmt.Errorf("write checkpoint to %s: %w", out, err)
				}
			}
			return c.emit(rep, func(w io.Writer) {
				if out != "" && out != "-" {
					fmt.Fprintf(c.stderr(), "checkpoint of %d receipts signed by %s written to %s\n", rep.TreeSize, rep.KeyName, out)
				}
				fmt.Fprint(w, rep.Note)
			})
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the signer key file (`cfa audit keygen`); default "+envCheckpointKey)
	cmd.Flags().StringVar(&out, "out", "", "also write the signed note to this file")
	return cmd
}

// treeCheckpoint is the checkpoint a proof is checked against: from a
// file, or the latest recorded.
func (c *cli) treeCheckpoint(ctx context.Context, store *db.Store, file string, v note.Verifier) (translog.Checkpoint, error) {
	if file != "" {
		return readCheckpoint(file, v)
	}
	stored, err := store.LatestCheckpoint(ctx, translog.Origin)
	if errors.Is(err, db.ErrNoCheckpoint) {
		return translog.Checkpoint{}, notFound(err)
	}
	if err != nil {
		return translog.Checkpoint{}, err
	}
	if v != nil {
		cp, err := translog.Open(stored.Note, v)
		if err != nil {
			return translog.Checkpoint{}, invalid(fmt.Errorf("the latest recorded checkpoint: %w", err))
		}
		return cp, nil
	}
	cp, err := translog.ParseUnverified(stored.Note)
	cp.KeyName = stored.KeyName
	return cp, err
}

// proofReport is `cfa audit prove -o json`.
type proofReport struct {
	ReceiptID   string   `json:"receipt_id"`
	Position    int64    `json:"position"`
	LeafIndex   uint64   `json:"leaf_index"`
	TreeSize    uint64   `json:"tree_size"`
	Root        string   `json:"root"`
	Integrity   string   `json:"integrity"`
	LeafHash    string   `json:"leaf_hash"`
	Proof       []string `json:"proof"`
	SignatureBy string   `json:"signature_checked_with,omitempty"`
	Verified    bool     `json:"verified"`
	Reason      string   `json:"reason,omitempty"`
}

func (c *cli) auditProveCmd() *cobra.Command {
	var file, pubkey string
	cmd := &cobra.Command{
		Use:   "prove RECEIPT_ID [--checkpoint FILE] [--pubkey FILE]",
		Short: "Prove that a receipt is in a checkpoint's tree",
		Long: `Build the RFC 6962 inclusion proof of a receipt in the tree of the latest
recorded checkpoint (or of --checkpoint FILE), and check it against that
checkpoint's root. With --pubkey (or ` + envCheckpointPubkey + `) the
checkpoint's signature is checked first. Exit status 2 when the proof does
not check: the chain no longer holds the tree the checkpoint signed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			v, err := loadVerifier(pubkey)
			if err != nil {
				return err
			}
			store, err := c.openStore(ctx)
			if err != nil {
				return err
			}
			cp, err := c.treeCheckpoint(ctx, store, file, v)
			if err != nil {
				return err
			}
			rep := proofReport{ReceiptID: args[0], TreeSize: cp.Size, Root: hex.EncodeToString(cp.Hash), Proof: []string{}}
			if v != nil {
				rep.SignatureBy = v.Name()
			}
			pr, verr := store.InclusionProof(ctx, args[0], cp.Size)
			switch {
			case errors.Is(verr, db.ErrReceiptNotFound):
				return notFound(verr)
			case verr == nil:
				rep.Position, rep.LeafIndex, rep.Proof = int64(pr.Index)+1, pr.Index, hexes(pr.Hashes)
				rep.Integrity, rep.LeafHash = hex.EncodeToString(pr.Integrity), hex.EncodeToString(translog.LeafHash(pr.Integrity))
				verr = translog.VerifyInclusion(pr.Integrity, pr.Index, cp.Size, pr.Hashes, cp.Hash)
			case !treeBroken(verr):
				return verr
			}
			return c.emitTreeCheck(&rep.Verified, &rep.Reason, verr, &rep, func(w io.Writer) {
				fmt.Fprintf(w, "receipt %s is leaf %d of the tree of %d receipts with root %s (proof of %d hashes", rep.ReceiptID, rep.LeafIndex, rep.TreeSize, rep.Root, len(rep.Proof))
				if rep.SignatureBy != "" {
					fmt.Fprintf(w, ", checkpoint signed by %s", rep.SignatureBy)
				}
				fmt.Fprintln(w, ")")
				for _, h := range rep.Proof {
					fmt.Fprintf(w, "  %s\n", h)
				}
			})
		},
	}
	cmd.Flags().StringVar(&file, "checkpoint", "", "a checkpoint file (default: the latest recorded)")
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "check the checkpoint's signature with this verifier key; default "+envCheckpointPubkey)
	return cmd
}

// treeBroken reports the errors that mean the chain no longer holds the
// tree asked for: fewer receipts, or one missing.
func treeBroken(err error) bool {
	return errors.Is(err, db.ErrTreeTooLarge) || errors.Is(err, translog.ErrTruncated)
}

// emitTreeCheck prints a proof's report, or why it does not check, with
// exit status 2 then.
func (c *cli) emitTreeCheck(verified *bool, reason *string, verr error, rep any, text func(io.Writer)) error {
	*verified = verr == nil
	if verr != nil {
		*reason = verr.Error()
	}
	if err := c.emit(rep, func(w io.Writer) {
		if verr != nil {
			fmt.Fprintf(w, "audit log BROKEN: %v\n", verr)
			return
		}
		text(w)
	}); err != nil {
		return err
	}
	if verr != nil {
		return exitError{code: exitAuditBroken}
	}
	return nil
}

func hexes(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// consistencyReport is `cfa audit consistency -o json`.
type consistencyReport struct {
	OldSize     uint64   `json:"old_size"`
	NewSize     uint64   `json:"new_size"`
	OldRoot     string   `json:"old_root"`
	NewRoot     string   `json:"new_root"`
	Proof       []string `json:"proof"`
	SignatureBy string   `json:"signature_checked_with,omitempty"`
	Verified    bool     `json:"verified"`
	Reason      string   `json:"reason,omitempty"`
}

// treeSide is one side of a consistency proof: a size, and the root a
// checkpoint file gives it (nil: computed from the receipts).
type treeSide struct {
	size uint64
	root []byte
}

func parseTreeSide(arg string, v note.Verifier) (treeSide, error) {
	if _, err := os.Stat(arg); err == nil {
		cp, err := readCheckpoint(arg, v)
		if err != nil {
			return treeSide{}, err
		}
		return treeSide{size: cp.Size, root: cp.Hash}, nil
	}
	n, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		return treeSide{}, usage(fmt.Errorf("%q is neither a checkpoint file nor a tree size: give a file `cfa audit checkpoint --out` wrote, or a number of receipts", arg))
	}
	return treeSide{size: n}, nil
}

func (c *cli) auditConsistencyCmd() *cobra.Command {
	var pubkey string
	cmd := &cobra.Command{
		Use:   "consistency OLD NEW",
		Short: "Prove that the newer tree extends the older one",
		Long: `Build the RFC 6962 consistency proof between two trees of the audit log,
each given as a checkpoint file or a tree size, from the receipts in
Postgres, and check it. A checkpoint gives its root; a size gets the root
the receipts give. With --pubkey (or ` + envCheckpointPubkey + `) each checkpoint's
signature is checked first. Exit status 2 when the proof does not check:
the history the older checkpoint signed was rewritten.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			v, err := loadVerifier(pubkey)
			if err != nil {
				return err
			}
			old, err := parseTreeSide(args[0], v)
			if err != nil {
				return err
			}
			cur, err := parseTreeSide(args[1], v)
			if err != nil {
				return err
			}
			if old.size > cur.size {
				return usage(fmt.Errorf("OLD has %d receipts, NEW %d: give the older tree first", old.size, cur.size))
			}
			store, err := c.openStore(ctx)
			if err != nil {
				return err
			}
			rep := consistencyReport{OldSize: old.size, NewSize: cur.size, Proof: []string{}}
			if v != nil {
				rep.SignatureBy = v.Name()
			}
			pr, verr := store.ConsistencyProof(ctx, old.size, cur.size)
			switch {
			case verr == nil:
				verr = checkConsistency(pr, &old, &cur, &rep)
			case !treeBroken(verr) || (old.root == nil && cur.root == nil):
				return invalid(verr) // no signed tree says the chain held more
			}
			rep.OldRoot, rep.NewRoot = hex.EncodeToString(old.root), hex.EncodeToString(cur.root)
			return c.emitTreeCheck(&rep.Verified, &rep.Reason, verr, &rep, func(w io.Writer) {
				fmt.Fprintf(w, "the tree of %d receipts (root %s) extends the tree of %d (root %s): proof of %d hashes\n",
					rep.NewSize, rep.NewRoot, rep.OldSize, rep.OldRoot, len(rep.Proof))
				for _, h := range rep.Proof {
					fmt.Fprintf(w, "  %s\n", h)
				}
			})
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "check the checkpoints' signatures with this verifier key; default "+envCheckpointPubkey)
	return cmd
}

// checkConsistency fills the roots a size left open with the receipts'
// and checks the proof against both roots.
func checkConsistency(pr db.Consistency, old, cur *treeSide, rep *consistencyReport) error {
	p, oldRoot, newRoot := pr.Hashes, pr.OldRoot, pr.Root
	rep.Proof = hexes(p)
	if old.root == nil {
		old.root = oldRoot
	}
	if cur.root == nil {
		cur.root = newRoot
	}
	if err := translog.VerifyConsistency(old.size, cur.size, p, old.root, cur.root); err != nil {
		return err
	}
	// The proof shows the two roots agree with each other; the receipts
	// must also give them (a proof from the empty or the same tree is
	// empty).
	for _, s := range []struct {
		side *treeSide
		got  []byte
	}{{old, oldRoot}, {cur, newRoot}} {
		if !bytes.Equal(s.side.root, s.got) {
			return fmt.Errorf("%w: the first %d receipts give root %x, the checkpoint %x: the chain was rewritten; `cfa audit verify --checkpoint` tells more",
				translog.ErrRootMismatch, s.side.size, s.got, s.side.root)
		}
	}
	return nil
}

// treeCheck holds `cfa audit verify --checkpoint`'s chain to the
// checkpoint while the chain checks run.
type treeCheck struct {
	cp    translog.Checkpoint
	check *translog.Check
}

// checkpointCheck loads the checkpoint and its key for `audit verify`; nil
// without --checkpoint.
func checkpointCheck(file, pubkey string) (*treeCheck, error) {
	if file == "" {
		if pubkey != "" {
			return nil, usage(errors.New("--pubkey checks a checkpoint: give --checkpoint FILE too"))
		}
		return nil, nil
	}
	v, err := loadVerifier(pubkey)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, usage(fmt.Errorf("--checkpoint needs the log's verifier key to check its signature: give --pubkey FILE or set %s", envCheckpointPubkey))
	}
	cp, err := readCheckpoint(file, v)
	if err != nil {
		return nil, err
	}
	return &treeCheck{cp: cp, check: translog.NewCheck(cp.Checkpoint)}, nil
}

func (t *treeCheck) add(integrity []byte) {
	if t != nil {
		t.check.Add(integrity)
	}
}

// finish records the check in rep and returns its error.
func (t *treeCheck) finish(rep *verifyReport) error {
	if t == nil {
		return nil
	}
	err := t.check.Finish()
	rep.Checkpoint = &verifyCheckpoint{Origin: t.cp.Origin, KeyName: t.cp.KeyName, TreeSize: t.cp.Size,
		Root: hex.EncodeToString(t.cp.Hash), Receipts: t.check.Receipts(), Holds: err == nil}
	return err
}

// verifyCheckpoint is the checkpoint part of `cfa audit verify -o json`.
type verifyCheckpoint struct {
	Origin   string `json:"origin"`
	KeyName  string `json:"key_name"`
	TreeSize uint64 `json:"tree_size"`
	Root     string `json:"root"`
	// Receipts is how many receipts the chain holds; the first TreeSize
	// of them must give Root.
	Receipts uint64 `json:"receipts"`
	Holds    bool   `json:"holds"`
}

// verifyFileTree is verifyFile holding the export to a checkpoint too: a
// receipt at a time (audit.ScanJSONL), each one to the chain checks and
// the tree.
func verifyFileTree(file string, tree *treeCheck) (verifyReport, error) {
	f, err := os.Open(file)
	if err != nil {
		return verifyReport{}, fmt.Errorf("open export %s: %w", file, err)
	}
	defer f.Close()
	v := audit.NewVerifier()
	n := 0
	if err := audit.ScanJSONL(f, func(r audit.Receipt) error {
		n++
		_ = v.Add(r)
		tree.add(r.Integrity)
		return nil
	}); err != nil {
		return verifyReport{}, err
	}
	rep := verifyReport{Source: file, Receipts: n}
	chainErr := v.Finish()
	treeErr := tree.finish(&rep)
	switch {
	case chainErr != nil:
		return rep, chainErr
	case treeErr != nil:
		return rep, treeErr
	}
	return rep, v.CompletePerIntent()
}
