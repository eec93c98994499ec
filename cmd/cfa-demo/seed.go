package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/dataplane"
)

// seedCmd fills the demo's data plane with the deterministic sample data
// the scenarios run on (bronze.nfe, clientes, vendas_diarias).
func (c *cli) seedCmd() *cobra.Command {
	var (
		broken     string
		partitions []string
		rows       int
	)
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create the data plane's schemas in the demo's database and fill bronze with sample data, deterministically",
		Example: `  cfa-demo seed --break 2026-01-03   # that partition's nfe has 12% null cliente_id/cpf (breaks max_null_ratio 5%)
  cfa-demo seed                      # the same data, fixed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := c.service(cmd.Context())
			if err != nil {
				return err
			}
			cat, err := app.LoadCatalog(c.cfg.CatalogDir)
			if err != nil {
				return err
			}
			if err := svc.Store.EnsureDataPlane(cmd.Context(), cat); err != nil {
				return err
			}
			if err := svc.Store.SeedDataPlane(cmd.Context(), cat, dataplane.Options{Partitions: partitions, RowsPerPartition: rows, BreakPartition: broken}); err != nil {
				return err
			}
			p := partitions
			if len(p) == 0 {
				p = dataplane.DemoPartitions
			}
			return c.emit(map[string]any{"partitions": p, "broken": broken}, func(w io.Writer) error {
				fmt.Fprintf(w, "bronze seeded: nfe partitions %s", strings.Join(p, ", "))
				if broken != "" {
					fmt.Fprintf(w, " (%s broken: 12%% null cliente_id)", broken)
				}
				_, err := fmt.Fprintln(w)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&broken, "break", "", "partition (processing_date) whose rows break max_null_ratio")
	cmd.Flags().StringSliceVar(&partitions, "partitions", nil, "processing_date partitions (default 2026-01-01,2026-01-02,2026-01-03)")
	cmd.Flags().IntVar(&rows, "rows", 0, "rows per partition (default 2000)")
	return cmd
}
