package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/audit"
)

func (c *cli) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read, verify and export the audit trail"}
	cmd.AddCommand(c.auditShowCmd(), c.auditVerifyCmd(), c.auditExportCmd(),
		c.auditKeygenCmd(), c.auditCheckpointCmd(), c.auditProveCmd(), c.auditConsistencyCmd())
	return cmd
}

func (c *cli) auditShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "show INTENT_ID",
		Short:       "Show an intent's audit events in causal order",
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionRead, "audit:intent/{0}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			rs, err := store.AuditByIntent(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				return notFound(fmt.Errorf("no audit events for intent %q; `cfa list` shows recent intents", args[0]))
			}
			return c.emit(rs, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tPOSITION\tTIME\tSTAGE\tEVENT\tOUTCOME\tACTOR\tINTEGRITY")
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%x\n", r.Context["seq"], r.Position, r.Timestamp.Format(time.RFC3339),
						r.Context["stage"], r.Context["event_type"], r.Context["outcome"], r.Actor.ID, r.Integrity[:8])
				}
				_ = tw.Flush()
			})
		},
	}
}

// loadChain reads the whole chain from Postgres.
func (c *cli) loadChain(ctx context.Context) ([]audit.Receipt, error) {
	store, err := c.openStore(ctx)
	if err != nil {
		return nil, err
	}
	return store.WholeAuditChain(ctx)
}

func (c *cli) auditVerifyCmd() *cobra.Command {
	var file, checkpoint, pubkey string
	cmd := &cobra.Command{
		Use:   "verify [--file export.jsonl] [--checkpoint FILE --pubkey FILE]",
		Short: "Verify the hash chain (Postgres, or an exported file offline)",
		Long: `Verify every link and integrity hash of the audit chain and that every
intent has a start and an end (complete_per_intent).

From Postgres it also checks that the chain ends at its recorded head (no
receipt removed from the end), and asks Temporal about each intent with no
end yet: one still running is in flight; one that is not is reported
abandoned, with its id. Exit status 2 when the chain does not verify or an
intent is abandoned (or Temporal cannot say which).

With --checkpoint (a signed note of ` + "`cfa audit checkpoint`" + `) and --pubkey (the
log's verifier key) it checks the signature, then that the first N
receipts (N, the checkpoint's size) give the checkpoint's Merkle root: a
chain cut short, a receipt deleted or a chain rewritten with every hash
recomputed does not (docs/adr/0145).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				rep  verifyReport
				verr error
			)
			tree, err := checkpointCheck(checkpoint, pubkey)
			if err != nil {
				return err
			}
			switch {
			case file != "" && tree != nil:
				rep, verr = verifyFileTree(file, tree)
			case file != "":
				rep, verr = verifyFile(file)
			default:
				rep, verr = c.verifyStored(cmd.Context(), tree)
			}
			if rep.Receipts == 0 && rep.Source == "" {
				return verr // could not read the chain
			}
			rep.Verified = verr == nil
			var ce *audit.ChainError
			if errors.As(verr, &ce) {
				rep.FirstBadPosition, rep.FirstBadReceipt, rep.Reason = ce.Position, ce.ReceiptID, ce.Reason
			} else if verr != nil {
				rep.Reason = verr.Error()
			}
			if err := c.emit(rep, func(w io.Writer) {
				if verr != nil {
					fmt.Fprintf(w, "audit chain BROKEN (%s): %v\n", rep.Source, verr)
					return
				}
				fmt.Fprintf(w, "audit chain verified: %d receipts from %s, every link and integrity hash checks, every intent has a start and an end", rep.Receipts, rep.Source)
				if cp := rep.Checkpoint; cp != nil {
					fmt.Fprintf(w, ", the first %d give the root of the checkpoint signed by %s", cp.TreeSize, cp.KeyName)
				}
				if len(rep.InFlight) > 0 {
					fmt.Fprintf(w, " or is in flight (%d: %s)", len(rep.InFlight), strings.Join(rep.InFlight, ", "))
				}
				fmt.Fprintln(w)
			}); err != nil {
				return err
			}
			if verr != nil {
				return exitError{code: exitAuditBroken}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "verify an exported JSONL file instead of Postgres")
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "also hold the chain to this signed checkpoint (`cfa audit checkpoint`)")
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "the log's verifier key, to check the checkpoint's signature; default "+envCheckpointPubkey)
	return cmd
}

// verifyReport is `cfa audit verify -o json`.
type verifyReport struct {
	Source           string   `json:"source"`
	Receipts         int      `json:"receipts"`
	Verified         bool     `json:"verified"`
	HeadPosition     int64    `json:"head_position,omitempty"`
	InFlight         []string `json:"in_flight,omitempty"`
	Abandoned        []string `json:"abandoned,omitempty"`
	FirstBadPosition int64    `json:"first_bad_position,omitempty"`
	FirstBadReceipt  string   `json:"first_bad_receipt,omitempty"`
	Reason           string   `json:"reason,omitempty"`
	// Checkpoint is the check of --checkpoint.
	Checkpoint *verifyCheckpoint `json:"checkpoint,omitempty"`
}

// verifyFile checks an export offline: the chain, and that every intent in
// it is complete (export finished intents). It streams the file: memory
// does not grow with its length (docs/adr/0139).
func verifyFile(file string) (verifyReport, error) {
	f, err := os.Open(file)
	if err != nil {
		return verifyReport{}, fmt.Errorf("open export %s: %w", file, err)
	}
	defer f.Close()
	// A chain error does not stop the read: the report counts every
	// receipt, and a malformed line further on is still the error.
	v := audit.NewVerifier()
	n, err := audit.VerifyJSONL(f, v)
	if err != nil {
		return verifyReport{}, err
	}
	rep := verifyReport{Source: file, Receipts: n}
	if err := v.Finish(); err != nil {
		return rep, err
	}
	return rep, v.CompletePerIntent()
}

// verifyStored checks the chain in Postgres against its head, and tells
// intents in flight from abandoned ones. It streams the chain.
func (c *cli) verifyStored(ctx context.Context, tree *treeCheck) (verifyReport, error) {
	store, err := c.openStore(ctx)
	if err != nil {
		return verifyReport{}, err
	}
	// The head first: appends after it only lengthen the chain read next.
	headPos, headHash, err := store.AuditHead(ctx)
	if err != nil {
		return verifyReport{}, err
	}
	v := audit.NewVerifier()
	v.ExpectHead(headPos, headHash)
	n := 0
	if err := store.StreamAuditChain(ctx, func(r audit.Receipt) error { n++; _ = v.Add(r); tree.add(r.Integrity); return nil }); err != nil {
		return verifyReport{}, err
	}
	rep := verifyReport{Source: "postgres", Receipts: n, HeadPosition: headPos}
	chainErr := v.Finish()
	if err := tree.finish(&rep); chainErr == nil && err != nil {
		return rep, err
	}
	if chainErr != nil {
		return rep, chainErr
	}
	var inc *audit.IncompleteError
	if err := v.CompletePerIntent(); !errors.As(err, &inc) {
		return rep, err
	}
	svc, err := c.service(ctx, false)
	if err != nil {
		return rep, fmt.Errorf("%w; %d intent(s) have no end yet and Temporal cannot say whether they are in flight or abandoned: run again when it answers", err, len(inc.Intents))
	}
	var unknown []string
	for _, in := range inc.Intents {
		running, err := svc.Running(ctx, in.IntentID)
		switch {
		case err != nil:
			unknown = append(unknown, in.IntentID)
		case running && in.Problem == "no "+audit.EventIntentCompleted:
			rep.InFlight = append(rep.InFlight, in.IntentID)
		default:
			rep.Abandoned = append(rep.Abandoned, in.IntentID+" ("+in.Problem+")")
		}
	}
	switch {
	case len(rep.Abandoned) > 0:
		return rep, fmt.Errorf("%d intent(s) abandoned: their workflow ended without INTENT_COMPLETED: %s; `cfa audit show ID` shows how far each got",
			len(rep.Abandoned), strings.Join(rep.Abandoned, "; "))
	case len(unknown) > 0:
		return rep, fmt.Errorf("could not ask Temporal whether %d intent(s) with no end are in flight or abandoned: %s; run again when it answers",
			len(unknown), strings.Join(unknown, ", "))
	}
	return rep, nil
}

func (c *cli) auditExportCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:         "export [--file export.jsonl]",
		Short:       "Export the whole chain as JSONL (one receipt per line)",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "audit:chain"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := c.loadChain(cmd.Context())
			if err != nil {
				return err
			}
			w := c.out
			if file != "" && file != "-" {
				f, err := os.Create(file)
				if err != nil {
					return fmt.Errorf("create %s: %w", file, err)
				}
				defer f.Close()
				w = f
			}
			if err := audit.WriteJSONL(w, rs); err != nil {
				return fmt.Errorf("export audit chain: %w", err)
			}
			if file != "" && file != "-" {
				fmt.Fprintf(c.stderr(), "exported %d receipts to %s\n", len(rs), strings.TrimSpace(file))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "write to this file instead of standard output")
	return cmd
}
