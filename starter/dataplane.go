package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

func (c *cli) dataplaneCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dataplane", Short: "The data plane on Postgres: seed it with sample data, show partitions, quarantine and publication"}
	var (
		broken     string
		partitions []string
		rows       int
	)
	seed := &cobra.Command{
		Use:   "seed",
		Short: "Create the layer, staging and quarantine schemas and fill bronze deterministically",
		Example: `  cfa dataplane seed --break 2026-01-03   # that partition's nfe has 12% null cliente_id/cpf (breaks max_null_ratio 5%)
  cfa dataplane seed                      # the same data, fixed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			cat, err := app.LoadCatalog(c.cfg.CatalogDir)
			if err != nil {
				return err
			}
			if err := store.EnsureDataPlane(cmd.Context(), cat); err != nil {
				return err
			}
			opts := dataplane.Options{Partitions: partitions, RowsPerPartition: rows, BreakPartition: broken}
			if err := store.SeedDataPlane(cmd.Context(), cat, opts); err != nil {
				return err
			}
			p := partitions
			if len(p) == 0 {
				p = dataplane.DemoPartitions
			}
			return c.emit(map[string]any{"partitions": p, "broken": broken}, func(w io.Writer) {
				fmt.Fprintf(w, "bronze seeded: nfe partitions %s", strings.Join(p, ", "))
				if broken != "" {
					fmt.Fprintf(w, " (%s broken: 12%% null cliente_id)", broken)
				}
				fmt.Fprintln(w)
			})
		},
	}
	seed.Flags().StringVar(&broken, "break", "", "partition (processing_date) whose rows break max_null_ratio")
	seed.Flags().StringSliceVar(&partitions, "partitions", nil, "processing_date partitions (default 2026-01-01,2026-01-02,2026-01-03)")
	seed.Flags().IntVar(&rows, "rows", 0, "rows per partition (default 2000)")

	var dataset string
	show := &cobra.Command{
		Use:   "show [DATASET]",
		Short: "Rows per partition in the target, staging and quarantine, and the publication status",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				dataset = args[0]
			}
			cat, err := app.LoadCatalog(c.cfg.CatalogDir)
			if err != nil {
				return err
			}
			d, ok := cat.Get(dataset)
			if !ok || !dataplane.Governed(d) {
				return fmt.Errorf("dataplane show: %q is not a silver or gold dataset of the catalog", dataset)
			}
			rowsOut, err := c.partitionRows(cmd.Context(), d)
			if err != nil {
				return err
			}
			return c.emit(rowsOut, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "PARTITION\tTARGET ROWS\tQUARANTINED ROWS\tPUBLICATION\n")
				for _, r := range rowsOut {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.Partition, r.Target, r.Quarantined, r.Status)
				}
				_ = tw.Flush()
				fmt.Fprintf(w, "published view: %s (trusted partitions only)\n", dataplane.PublishedView(d))
			})
		},
	}
	cmd.AddCommand(seed, show)
	return cmd
}

// partitionRow is one partition of a governed dataset as `dataplane show`
// prints it.
type partitionRow struct {
	Partition   string `json:"partition"`
	Target      int64  `json:"target_rows"`
	Quarantined int64  `json:"quarantined_rows"`
	Status      string `json:"publication"`
}

func (c *cli) partitionRows(ctx context.Context, d catalog.Dataset) ([]partitionRow, error) {
	store, err := c.openStore(ctx)
	if err != nil {
		return nil, err
	}
	byPart := map[string]*partitionRow{}
	var order []string
	get := func(p string) *partitionRow {
		if byPart[p] == nil {
			byPart[p] = &partitionRow{Partition: p, Status: "-"}
			order = append(order, p)
		}
		return byPart[p]
	}
	for _, src := range []struct {
		table string
		set   func(*partitionRow, int64)
	}{
		{dataplane.Table(d), func(r *partitionRow, n int64) { r.Target = n }},
		{dataplane.QuarantineTable(d), func(r *partitionRow, n int64) { r.Quarantined = n }},
	} {
		counts, err := store.PartitionCounts(ctx, d, src.table)
		if err != nil {
			return nil, fmt.Errorf("dataplane show: %w (run `cfa dataplane seed` first)", err)
		}
		for _, c := range counts {
			p := c.Partition
			if p == "" {
				p = "-"
			}
			src.set(get(p), c.Rows)
		}
	}
	pubs, err := store.Publications(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, p := range pubs {
		get(p.Partition).Status = string(p.Status)
	}
	slices.Sort(order)
	out := make([]partitionRow, 0, len(order))
	for _, p := range order {
		out = append(out, *byPart[p])
	}
	return out, nil
}
