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
	cmd.AddCommand(c.auditShowCmd(), c.auditVerifyCmd(), c.auditExportCmd())
	return cmd
}

func (c *cli) auditShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show INTENT_ID",
		Short: "Show an intent's audit events in causal order",
		Args:  cobra.ExactArgs(1),
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
				return fmt.Errorf("no audit events for intent %q; `cfa list` shows recent intents", args[0])
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
	var file string
	cmd := &cobra.Command{
		Use:   "verify [--file export.jsonl]",
		Short: "Verify the hash chain (Postgres, or an exported file offline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				rs     []audit.Receipt
				err    error
				source = "postgres"
			)
			if file != "" {
				source = file
				f, ferr := os.Open(file)
				if ferr != nil {
					return fmt.Errorf("open export %s: %w", file, ferr)
				}
				defer f.Close()
				rs, err = audit.ReadJSONL(f)
			} else {
				rs, err = c.loadChain(cmd.Context())
			}
			if err != nil {
				return err
			}
			verr := audit.Verify(rs)
			if verr == nil {
				verr = audit.CompletePerIntent(rs)
			}
			report := map[string]any{"source": source, "receipts": len(rs), "verified": verr == nil}
			var ce *audit.ChainError
			if errors.As(verr, &ce) {
				report["first_bad_position"], report["first_bad_receipt"], report["reason"] = ce.Position, ce.ReceiptID, ce.Reason
			} else if verr != nil {
				report["reason"] = verr.Error()
			}
			if err := c.emit(report, func(w io.Writer) {
				if verr == nil {
					fmt.Fprintf(w, "audit chain verified: %d receipts from %s, every link and integrity hash checks, every intent has a start and an end\n", len(rs), source)
					return
				}
				fmt.Fprintf(w, "audit chain BROKEN (%s): %v\n", source, verr)
			}); err != nil {
				return err
			}
			if verr != nil {
				return exitError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "verify an exported JSONL file instead of Postgres")
	return cmd
}

func (c *cli) auditExportCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export [--file export.jsonl]",
		Short: "Export the whole chain as JSONL (one receipt per line)",
		Args:  cobra.NoArgs,
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
				fmt.Fprintf(os.Stderr, "exported %d receipts to %s\n", len(rs), strings.TrimSpace(file))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "write to this file instead of standard output")
	return cmd
}
