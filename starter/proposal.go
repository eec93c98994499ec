package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// The CFS write protocol from the CLI (docs/adr/0150): propose, review,
// apply; and CFS policies and views.

func human(by string) audit.Principal {
	return audit.Principal{ID: by, Type: audit.PrincipalHuman, AuthContext: "cli"}
}

func (c *cli) proposeCmd() *cobra.Command {
	var file, intent, by string
	var citations []string
	cmd := &cobra.Command{
		Use:   "propose --file MUTATIONS.json --intent TEXT --by NAME",
		Short: "Propose changes to the context plane (CFS Propose): prints the diff, the affected records and the proposal id; nothing is written until review and apply",
		Long: `MUTATIONS.json is a JSON array of CFS Mutations, e.g.
[{"put_record": {"record_id": "dataset:x", "labels": ["dataset"], "props": {"state": "committed"}}}]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" || intent == "" || by == "" {
				return usage(fmt.Errorf("propose: --file, --intent and --by are required"))
			}
			muts, err := readMutations(file)
			if err != nil {
				return usage(err)
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			resp, rec, err := store.Propose(cmd.Context(), &cfspb.ProposeRequest{Mutations: muts, Intent: intent, Citations: citations}, human(by))
			if err != nil {
				return err
			}
			return c.emitProposal(resp, rec)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSON array of CFS Mutations")
	cmd.Flags().StringVar(&intent, "intent", "", "why this change (reviewers read it)")
	cmd.Flags().StringVar(&by, "by", "", "who proposes")
	cmd.Flags().StringSliceVar(&citations, "cite", nil, "source artifacts")
	return cmd
}

func readMutations(file string) ([]*cfspb.Mutation, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read mutations: %w", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("read mutations %s: give a JSON array of CFS Mutations: %w", file, err)
	}
	out := make([]*cfspb.Mutation, len(raw))
	for i, r := range raw {
		out[i] = &cfspb.Mutation{}
		if err := cfs.UnmarshalJSON(r, out[i]); err != nil {
			return nil, fmt.Errorf("read mutations %s, item %d: %w", file, i, err)
		}
	}
	return out, nil
}

func (c *cli) reviewCmd() *cobra.Command {
	var approve, reject bool
	var by, comment string
	cmd := &cobra.Command{
		Use:   "review PROPOSAL_ID --approve|--reject --by NAME",
		Short: "Review a proposal (CFS Review): an approval by a declared approver (policy bundle confirmation.approvers) or a CFS policy granting APPROVE; prints the APPROVE receipt apply cites",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if approve == reject || by == "" {
				return usage(fmt.Errorf("review %s: give exactly one of --approve and --reject, and --by", args[0]))
			}
			bundle, err := app.LoadBundle(cmd.Context(), c.cfg.PolicyDir)
			if err != nil {
				return err
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			verdict := cfspb.Verdict_VERDICT_APPROVE
			if reject {
				verdict = cfspb.Verdict_VERDICT_REJECT
			}
			resp, err := store.Review(cmd.Context(), &cfspb.ReviewRequest{ProposalId: args[0], Verdict: verdict, Comment: comment}, human(by), db.ReviewersFrom(bundle.Approvers))
			if err != nil {
				return err
			}
			b, err := cfs.MarshalJSON(resp)
			if err != nil {
				return err
			}
			return c.emit(json.RawMessage(b), func(w io.Writer) {
				fmt.Fprintf(w, "proposal %s reviewed by %s: receipt %s\n", args[0], by, resp.GetReceipt().GetReceiptId())
				if approve {
					fmt.Fprintf(w, "next: cfa apply %s --approver %s --approval-ref %s\n", args[0], by, resp.GetReceipt().GetReceiptId())
				}
			})
		},
	}
	cmd.Flags().BoolVar(&approve, "approve", false, "approve the proposal")
	cmd.Flags().BoolVar(&reject, "reject", false, "reject (or, as its proposer, withdraw) the proposal")
	cmd.Flags().StringVar(&by, "by", "", "who reviews")
	cmd.Flags().StringVar(&comment, "comment", "", "why (audited)")
	return cmd
}

func (c *cli) applyCmd() *cobra.Command {
	var approver, ref, by string
	cmd := &cobra.Command{
		Use:   "apply PROPOSAL_ID --approver NAME --approval-ref RECEIPT_ID",
		Short: "Apply an approved proposal (CFS Apply): idempotent; refused without its APPROVE receipt or when an affected record changed since the proposal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if approver == "" || ref == "" {
				return usage(fmt.Errorf("apply %s: --approver and --approval-ref are required (`cfa review` printed them)", args[0]))
			}
			if by == "" {
				by = approver
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			resp, err := store.Apply(cmd.Context(), &cfspb.ApplyRequest{ProposalId: args[0], Approver: approver, ApprovalRef: ref}, human(by))
			if err != nil {
				return err
			}
			b, err := cfs.MarshalJSON(resp)
			if err != nil {
				return err
			}
			return c.emit(json.RawMessage(b), func(w io.Writer) {
				fmt.Fprintf(w, "proposal %s applied: commit %s\n", args[0], resp.GetCommitId())
				for _, r := range resp.GetReceipts() {
					fmt.Fprintf(w, "  receipt %s\n", r.GetReceiptId())
				}
			})
		},
	}
	cmd.Flags().StringVar(&approver, "approver", "", "who approved (the APPROVE receipt's actor)")
	cmd.Flags().StringVar(&ref, "approval-ref", "", "the APPROVE receipt id")
	cmd.Flags().StringVar(&by, "by", "", "who applies (default: --approver)")
	return cmd
}

// cfsPolicyCmd and viewCmd store CFS policies and views from JSON files.
func (c *cli) cfsPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cfs-policy", Short: "CFS policies (ALLOW/DENY, matchers, conditions, priority, validity): put and list"}
	cmd.AddCommand(c.definitionPutCmd("policy"), c.definitionListCmd("policy"))
	return cmd
}

func (c *cli) viewCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "view", Short: "CFS views (base query, field mask, policy refs): put and list"}
	cmd.AddCommand(c.definitionPutCmd("view"), c.definitionListCmd("view"))
	return cmd
}

func (c *cli) definitionPutCmd(kind string) *cobra.Command {
	var by string
	var retire bool
	cmd := &cobra.Command{
		Use:   "put FILE --by NAME",
		Short: "Store a new version of the CFS " + kind + " in FILE (JSON); an invalid one is refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				return usage(fmt.Errorf("%s put: --by is required: it is recorded in the audit trail", kind))
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usage(err)
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			var id string
			var version int32
			var receipt string
			if kind == "policy" {
				p := &cfspb.Policy{}
				if err := cfs.UnmarshalJSON(b, p); err != nil {
					return usage(err)
				}
				id = p.GetPolicyId()
				version, receipt, err = store.PutCFSPolicy(cmd.Context(), p, retire, human(by))
				if err != nil {
					return err
				}
			} else {
				v := &cfspb.View{}
				if err := cfs.UnmarshalJSON(b, v); err != nil {
					return usage(err)
				}
				id = v.GetViewId()
				version, receipt, err = store.PutCFSView(cmd.Context(), v, retire, human(by))
				if err != nil {
					return err
				}
			}
			out := map[string]any{"kind": kind, "id": id, "version": version, "receipt_id": receipt, "retired": retire}
			return c.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "cfs %s %s version %d stored (receipt %s)\n", kind, id, version, receipt)
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who stores it")
	cmd.Flags().BoolVar(&retire, "retire", false, "retire the "+kind+" (FILE names it)")
	return cmd
}

func (c *cli) definitionListCmd(kind string) *cobra.Command {
	return &cobra.Command{
		Use:         "list",
		Annotations: receipt(audit.ActionRead, "cfs:"+kind+"s"),
		Short:       "List the current CFS " + kind + "s (JSON, one a line)",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			var lines []json.RawMessage
			if kind == "policy" {
				ps, err := store.CFSPolicies(cmd.Context())
				if err != nil {
					return err
				}
				for _, p := range ps {
					b, err := cfs.MarshalJSON(p)
					if err != nil {
						return err
					}
					lines = append(lines, b)
				}
			} else {
				vs, err := store.CFSViews(cmd.Context())
				if err != nil {
					return err
				}
				for _, v := range vs {
					b, err := cfs.MarshalJSON(v)
					if err != nil {
						return err
					}
					lines = append(lines, b)
				}
			}
			return c.emit(lines, func(w io.Writer) {
				for _, l := range lines {
					fmt.Fprintln(w, string(l))
				}
			})
		},
	}
}

// emitProposal prints a proposal, its diff and the next step.
func (c *cli) emitProposal(resp *cfspb.ProposeResponse, rec audit.Receipt) error {
	b, err := cfs.MarshalJSON(resp)
	if err != nil {
		return err
	}
	return c.emit(json.RawMessage(b), func(w io.Writer) {
		fmt.Fprintf(w, "proposal %s (receipt %s) affects %v:\n", resp.GetProposalId(), rec.ReceiptID, resp.GetAffected())
		for _, ch := range resp.GetDiff().GetChanges() {
			fmt.Fprintf(w, "  %s %s %s %v\n", ch.GetOp(), ch.GetKind(), ch.GetTarget(), ch.GetChangedFields())
		}
		fmt.Fprintf(w, "next: cfa review %s --approve --by APPROVER, then cfa apply %s --approver APPROVER --approval-ref RECEIPT_ID\n", resp.GetProposalId(), resp.GetProposalId())
	})
}
