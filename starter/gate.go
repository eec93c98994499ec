package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs"
)

// gateCmd shows CFS gates (docs/adr/0150): the promotion gate of each
// skill and the gate of each failed projection's marker.
func (c *cli) gateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gate", Short: "CFS gates: skill promotion (5.12) and failed-projection markers (I4), with their requirements and evidence receipts"}
	var kind string
	var limit int
	list := &cobra.Command{
		Use:         "list",
		Annotations: receipt(audit.ActionRead, "gates"),
		Short:       "List gates, most recently changed first",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			gates, err := store.Gates(cmd.Context(), kind, limit)
			if err != nil {
				return err
			}
			type row struct {
				GateID    string `json:"gate_id"`
				Kind      string `json:"kind"`
				Status    string `json:"status"`
				Satisfied string `json:"satisfied"`
				UpdatedAt string `json:"updated_at"`
			}
			rows := make([]row, len(gates))
			for i, g := range gates {
				n := 0
				for _, r := range g.Gate.GetRequirements() {
					if r.GetSatisfied() {
						n++
					}
				}
				rows[i] = row{g.Gate.GetGateId(), g.Kind, g.Gate.GetStatus().String(), fmt.Sprintf("%d/%d", n, len(g.Gate.GetRequirements())), g.UpdatedAt.Format("2006-01-02T15:04:05Z")}
			}
			return c.emit(rows, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "GATE\tKIND\tSTATUS\tSATISFIED\tUPDATED")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.GateID, r.Kind, r.Status, r.Satisfied, r.UpdatedAt)
				}
				_ = tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&kind, "kind", "", "only gates of this kind: "+db.GateKindPromotion+" or "+db.GateKindProjectionFailure)
	list.Flags().IntVar(&limit, "limit", 100, "at most this many gates")
	show := &cobra.Command{
		Use:         "show GATE_ID",
		Annotations: receipt(audit.ActionRead, "gate:{0}"),
		Short:       "Show a gate: requirements, evidence receipts (`cfa audit show` finds them) and status",
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			g, err := store.Gate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			b, err := cfs.MarshalJSON(g.Gate)
			if err != nil {
				return err
			}
			return c.emit(json.RawMessage(b), func(w io.Writer) {
				fmt.Fprintf(w, "gate %s (%s of %s): %s\n", g.Gate.GetGateId(), g.Kind, g.Subject, g.Gate.GetStatus())
				fmt.Fprintf(w, "unlocks: %v\n", g.Gate.GetUnlocks())
				for _, r := range g.Gate.GetRequirements() {
					fmt.Fprintf(w, "  [%s] %s: %s\n", map[bool]string{true: "x", false: " "}[r.GetSatisfied()], r.GetId(), r.GetDescription())
				}
				for _, e := range g.Gate.GetEvidence() {
					fmt.Fprintf(w, "  evidence %s: receipt %s at %s\n", e.GetRequirementId(), e.GetReceiptId(), e.GetVerifiedAt().AsTime().Format("2006-01-02T15:04:05Z"))
				}
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
