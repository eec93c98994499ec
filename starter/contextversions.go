package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/audit"
)

// The recorded policy bundles and catalogs (ADR 0122): every version a
// worker loaded, which `cfa replay` loads again.

func (c *cli) policyVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "versions",
		Short:       "List the policy bundle versions recorded in Postgres (every bundle a worker loaded)",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "policy_bundle:versions"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			vs, err := store.BundleVersions(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(vs, func(w io.Writer) {
				if len(vs) == 0 {
					fmt.Fprintln(w, "no policy bundle recorded yet: a worker records the bundle it loads when it starts")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "POLICY BUNDLE VERSION\tNAME\tRECORDED AT\tRECORDED BY")
				for _, v := range vs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Version, v.Name, v.RecordedAt.UTC().Format(time.RFC3339), v.RecordedBy)
				}
				_ = tw.Flush()
			})
		},
	}
}

func (c *cli) catalogVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:         "versions",
		Short:       "List the catalog snapshot versions recorded in Postgres (every catalog a worker loaded)",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "catalog:versions"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			vs, err := store.CatalogVersions(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(vs, func(w io.Writer) {
				if len(vs) == 0 {
					fmt.Fprintln(w, "no data catalog recorded yet: a worker records the catalog it loads when it starts")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CATALOG SNAPSHOT VERSION\tRECORDED AT\tRECORDED BY")
				for _, v := range vs {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Version, v.RecordedAt.UTC().Format(time.RFC3339), v.RecordedBy)
				}
				_ = tw.Flush()
			})
		},
	}
}
