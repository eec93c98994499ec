package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/contextualflux/cfa/internal/audit"
)

// The checkpoint key pair (cfa audit keygen --name demoKeyName --out-dir
// demoKeyDir) is made once and kept across runs, as an operator keeps
// theirs; the checkpoint file is rewritten by every run.
const (
	demoKeyName    = "cfa-demo"
	demoCheckpoint = ".data/demo-checkpoint.txt"
)

var demoKeyDir = filepath.Join(".data", "checkpoint-key")

// demoContextPlane is (v), as an operator runs it with the cfa CLI: sign a
// checkpoint of the audit log, prove that the demo's last decision is in
// it, hold a fresh export to it, and sync the context plane into the
// demo's second database (reset-database --replica made it empty), which
// the sync verifies. It returns what failed; an error only when the demo
// itself cannot go on.
func (c *cli) demoContextPlane(ctx context.Context, cfa, exportPath string, rs []audit.Receipt) ([]string, error) {
	w := c.out
	fmt.Fprintf(w, "-- (v) the context plane: a signed checkpoint, an inclusion proof, a sync to a second database\n")
	var failures []string
	fail := func(err error) []string {
		fmt.Fprintln(w)
		return append(failures, "(v) "+err.Error())
	}

	signer := filepath.Join(demoKeyDir, demoKeyName+".key")
	verifier := filepath.Join(demoKeyDir, demoKeyName+".pub")
	switch have, err := bothExist(signer, verifier); {
	case err != nil:
		return fail(err), nil
	case have:
		fmt.Fprintf(w, "  checkpoint key pair from an earlier run: %s, %s\n", signer, verifier)
	default:
		if err := c.runCFA(ctx, cfa, "audit", "keygen", "--name", demoKeyName, "--out-dir", demoKeyDir); err != nil {
			return fail(err), nil
		}
	}

	// The demo's last decision: the last DECISION receipt in the chain
	// demoVerify read (nothing was appended since). The checkpoint is
	// signed after it, so its tree holds it.
	var last *audit.Receipt
	for i := len(rs) - 1; i >= 0 && last == nil; i-- {
		if rs[i].Context["event_type"] == audit.EventDecision {
			last = &rs[i]
		}
	}
	if last == nil {
		return fail(errors.New("no DECISION receipt in the audit chain to prove")), nil
	}
	fmt.Fprintf(w, "  the demo's last decision: receipt %s (intent %s, %s), position %d of %d\n",
		last.ReceiptID, last.Context["intent_id"], last.Context["outcome"], last.Position, len(rs))

	if err := os.MkdirAll(filepath.Dir(demoCheckpoint), 0o755); err != nil {
		return nil, err
	}
	if err := c.runCFA(ctx, cfa, "audit", "checkpoint", "--key", signer, "--out", demoCheckpoint); err != nil {
		return fail(err), nil
	}
	if err := c.runCFAShort(ctx, cfa, 2, "audit", "prove", last.ReceiptID, "--checkpoint", demoCheckpoint, "--pubkey", verifier); err != nil {
		return fail(err), nil
	}
	// The export demoVerify wrote predates the checkpoint: export again, so
	// the file holds at least the checkpoint's receipts, and hold it to the
	// checkpoint offline.
	if err := c.runCFA(ctx, cfa, "audit", "export", "--file", exportPath); err != nil {
		return fail(err), nil
	}
	if err := c.runCFA(ctx, cfa, "audit", "verify", "--file", exportPath, "--checkpoint", demoCheckpoint, "--pubkey", verifier); err != nil {
		return fail(err), nil
	}

	replica, err := replicaDatabaseURL(c.cfg.DatabaseURL)
	if err != nil {
		return fail(err), nil
	}
	if err := c.runCFA(ctx, cfa, "plane", "sync", "--to", replica); err != nil {
		fmt.Fprintf(w, "  (the replica is made by `cfa-demo reset-database --replica`, as make demo does)\n")
		return fail(err), nil
	}
	fmt.Fprintln(w)
	return failures, nil
}

// bothExist reports whether both files exist; an error when only one does
// (keygen never overwrites a key, so it would fail).
func bothExist(a, b string) (bool, error) {
	ea, err := exists(a)
	if err != nil {
		return false, err
	}
	eb, err := exists(b)
	if err != nil {
		return false, err
	}
	if ea != eb {
		return false, fmt.Errorf("%s and %s: only one of the checkpoint key pair exists; remove it to make a new pair", a, b)
	}
	return ea, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
