package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

func (c *cli) dataplaneCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dataplane", Short: "The data plane on Postgres: partitions, quarantine and publication of a governed dataset"}
	var dataset string
	show := &cobra.Command{
		Use:         "show [DATASET]",
		Annotations: receipt(audit.ActionRead, "dataplane:{0}|dataplane"),
		Short:       "Rows per partition in the target, staging and quarantine, and the publication status",
		Args:        cobra.MaximumNArgs(1),
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
				return invalid(fmt.Errorf("dataplane show: %q is not a silver or gold dataset of the catalog", dataset))
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
	cmd.AddCommand(show)
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
		where db.Where
		set   func(*partitionRow, int64)
	}{
		{db.InTarget, func(r *partitionRow, n int64) { r.Target = n }},
		{db.InQuarantine, func(r *partitionRow, n int64) { r.Quarantined = n }},
	} {
		counts, err := store.PartitionCounts(ctx, d, src.where)
		if err != nil {
			return nil, fmt.Errorf("dataplane show: %w (the worker creates the data plane when it starts; `cfa-demo seed` fills it with sample data)", err)
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
