package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/render"
)

// planeCmd is `cfa plane`: the CFS Sync protocol between context planes
// (docs/adr/0148). An export file is length-delimited canonical protobuf
// (a varint length before each message): a SyncRequest naming the source
// plane and the cursor it starts from, then one SyncResponse per batch.
func (c *cli) planeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plane", Short: "Context plane sync: export, import, sync (CFS Sync protocol)"}
	var cursor, out string
	var batch int32
	export := &cobra.Command{
		Use:         "export [--cursor C] [--out FILE]",
		Short:       "Export the context plane from a cursor as canonical SyncEntry batches",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionSync, "plane:export"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			w := c.out
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return invalid(fmt.Errorf("plane export: %w", err))
				}
				defer f.Close()
				w = f
			}
			n, next, err := exportPlaneTo(cmd.Context(), store, cursor, batch, w)
			if err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d entries; next cursor %s\n", n, next)
			}
			return nil
		},
	}
	export.Flags().StringVar(&cursor, "cursor", "", "start after this cursor (a next_cursor of an earlier export; default: the beginning)")
	export.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	export.Flags().Int32Var(&batch, "batch", db.DefaultSyncBatch, "entries per batch")

	var file string
	imp := &cobra.Command{
		Use:         "import --file FILE",
		Short:       "Import an export file: every entry verified, one transaction per batch, resumable",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionSync, "plane:import"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return invalid(errors.New("plane import: --file is required: give a file of `cfa plane export`"))
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return invalid(fmt.Errorf("plane import: %w", err))
			}
			defer f.Close()
			src, n, err := importPlaneFrom(cmd.Context(), store, f)
			if err != nil {
				return err
			}
			c.noteReceipt("", "plane:"+src)
			return c.emit(map[string]any{"source_plane": src, "entries": n}, func(w io.Writer) {
				fmt.Fprintf(w, "imported %d entries from plane %s\n", n, src)
			})
		},
	}
	imp.Flags().StringVar(&file, "file", "", "export file to import")

	var to string
	sync := &cobra.Command{
		Use:         "sync --to DATABASE_URL",
		Short:       "Copy this context plane into another database from its stored cursor, then verify both exports are byte-identical",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionSync, "plane:sync"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return invalid(errors.New("plane sync: --to is required: give the target database's URL"))
			}
			ctx := cmd.Context()
			from, err := c.openStore(ctx)
			if err != nil {
				return err
			}
			target, err := db.Open(ctx, to, c.cfg.SandboxLogin())
			if err != nil {
				return &failure{code: codePostgresUnreachable, exit: exitFailure, err: err}
			}
			defer target.Close()
			if err := target.CheckSchema(ctx); err != nil {
				return err
			}
			res, err := syncPlanes(ctx, from, target, batch)
			if err != nil {
				return err
			}
			c.noteReceipt("", "plane:"+res.Source, "plane:"+res.Target)
			return c.emit(res, func(w io.Writer) {
				fmt.Fprintf(w, "synced %d entries from plane %s to plane %s; verified: both export the same %d entries byte for byte\n",
					res.Imported, res.Source, res.Target, res.Verified)
			})
		},
	}
	sync.Flags().StringVar(&to, "to", "", "target database URL (migrated)")
	sync.Flags().Int32Var(&batch, "batch", db.DefaultSyncBatch, "entries per batch (one transaction each)")
	cmd.AddCommand(export, imp, sync)
	return cmd
}

// writeDelimited writes m's canonical bytes after their varint length.
func writeDelimited(w io.Writer, m proto.Message) error {
	b, err := cfs.Canonical(m)
	if err != nil {
		return err
	}
	if _, err := w.Write(protowire.AppendVarint(nil, uint64(len(b)))); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// exportPlaneTo writes the header and every batch from cursor to the end.
func exportPlaneTo(ctx context.Context, store *db.Store, cursor string, batch int32, w io.Writer) (int, string, error) {
	src, err := store.PlaneID(ctx)
	if err != nil {
		return 0, "", err
	}
	bw := bufio.NewWriter(w)
	if err := writeDelimited(bw, &cfspb.SyncRequest{SourcePlane: src, Cursor: cursor, BatchSize: batch}); err != nil {
		return 0, "", err
	}
	n := 0
	for {
		resp, err := store.ExportPlane(ctx, &cfspb.SyncRequest{SourcePlane: src, Cursor: cursor, BatchSize: batch})
		if err != nil {
			return n, cursor, err
		}
		if err := writeDelimited(bw, resp); err != nil {
			return n, cursor, fmt.Errorf("write the export: %w", err)
		}
		n += len(resp.Entries)
		cursor = resp.NextCursor
		if !resp.HasMore {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return n, cursor, fmt.Errorf("write the export: %w", err)
	}
	return n, cursor, nil
}

// importPlaneFrom imports an export file batch by batch.
func importPlaneFrom(ctx context.Context, store *db.Store, r io.Reader) (string, int, error) {
	br := bufio.NewReader(r)
	opts := protodelim.UnmarshalOptions{MaxSize: 64 << 20}
	head := &cfspb.SyncRequest{}
	if err := opts.UnmarshalFrom(br, head); err != nil || head.SourcePlane == "" {
		return "", 0, invalid(fmt.Errorf("plane import: the file does not start with a SyncRequest naming its source plane (%v): give a file of `cfa plane export`", err))
	}
	n := 0
	for {
		batch := &cfspb.SyncResponse{}
		err := opts.UnmarshalFrom(br, batch)
		if errors.Is(err, io.EOF) {
			return head.SourcePlane, n, nil
		}
		if err != nil {
			return head.SourcePlane, n, invalid(fmt.Errorf("plane import: batch after %d entries: %w", n, err))
		}
		if err := store.ImportPlane(ctx, head.SourcePlane, batch.Entries, batch.NextCursor); err != nil {
			return head.SourcePlane, n, err
		}
		n += len(batch.Entries)
	}
}

// planeSync is what `cfa plane sync` reports.
type planeSync struct {
	Source   string `json:"source_plane"`
	Target   string `json:"target_plane"`
	Imported int    `json:"imported"`
	Verified int    `json:"verified_entries"`
}

// syncPlanes copies from into to from to's stored cursor, one transaction
// per batch (an interrupted sync resumes there), then compares the two
// planes' exports entry by entry.
func syncPlanes(ctx context.Context, from, to *db.Store, batch int32) (planeSync, error) {
	var res planeSync
	var err error
	if res.Source, err = from.PlaneID(ctx); err != nil {
		return res, err
	}
	if res.Target, err = to.PlaneID(ctx); err != nil {
		return res, err
	}
	for {
		cursor, err := to.SyncCursor(ctx, res.Source)
		if err != nil {
			return res, err
		}
		resp, err := from.ExportPlane(ctx, &cfspb.SyncRequest{SourcePlane: res.Source, Cursor: cursor, BatchSize: batch})
		if err != nil {
			return res, err
		}
		if err := to.ImportPlane(ctx, res.Source, resp.Entries, resp.NextCursor); err != nil {
			return res, err
		}
		res.Imported += len(resp.Entries)
		if !resp.HasMore {
			break
		}
	}
	a, err := exportEntries(ctx, from, batch)
	if err != nil {
		return res, err
	}
	b, err := exportEntries(ctx, to, batch)
	if err != nil {
		return res, err
	}
	if len(a) != len(b) {
		return res, fmt.Errorf("plane sync: verify: plane %s exports %d entries, plane %s %d: the target held versions of its own; sync into an empty plane", res.Source, len(a), res.Target, len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return res, fmt.Errorf("plane sync: verify: entry %d differs between plane %s and plane %s", i, res.Source, res.Target)
		}
	}
	res.Verified = len(a)
	return res, nil
}

// exportEntries is the canonical bytes of every entry a plane exports.
func exportEntries(ctx context.Context, s *db.Store, batch int32) ([][]byte, error) {
	var out [][]byte
	cursor := ""
	for {
		resp, err := s.ExportPlane(ctx, &cfspb.SyncRequest{Cursor: cursor, BatchSize: batch})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.Entries {
			b, err := cfs.Canonical(e)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		cursor = resp.NextCursor
		if !resp.HasMore {
			return out, nil
		}
	}
}

// registryAsOf is `cfa registry show --as-of-*` in JSON.
type registryAsOf struct {
	AsOfValid  string                  `json:"as_of_valid"`
	AsOfSystem string                  `json:"as_of_system"`
	Datasets   []registry.DatasetState `json:"datasets"`
}

// showRegistryAsOf prints the dataset records of the context plane as
// valid at asOfValid and known at asOfSystem (RFC 3339; "" is now),
// through the CFS Read protocol.
func (c *cli) showRegistryAsOf(cmd *cobra.Command, store *db.Store, asOfValid, asOfSystem string) error {
	req := &cfspb.QueryRequest{
		Query: &cfspb.Query{Language: contextplane.LanguageLabels, Expression: contextplane.LabelDataset},
		Limit: db.MaxQueryLimit,
	}
	for _, f := range []struct {
		flag, value string
		set         func(time.Time)
	}{
		{"--as-of-valid", asOfValid, func(t time.Time) { req.AsOfValid = cfs.Timestamp(t) }},
		{"--as-of-system", asOfSystem, func(t time.Time) { req.AsOfSystem = cfs.Timestamp(t) }},
	} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.value)
		if err != nil {
			return invalid(fmt.Errorf("registry show: %s %q: give an RFC 3339 time such as 2026-03-22T14:30:00Z", f.flag, f.value))
		}
		f.set(t)
	}
	out := registryAsOf{AsOfValid: orNowText(asOfValid), AsOfSystem: orNowText(asOfSystem), Datasets: []registry.DatasetState{}}
	for {
		resp, err := store.QueryPlane(cmd.Context(), req)
		if err != nil {
			return err
		}
		for _, r := range resp.Records {
			d, ok, err := contextplane.DatasetStateOf(r)
			if err != nil {
				return err
			}
			if ok {
				out.Datasets = append(out.Datasets, d)
			}
		}
		if resp.NextCursor == "" {
			break
		}
		req.Cursor = resp.NextCursor
	}
	c.noteReceipt("", "plane:records/dataset")
	return c.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "context plane as of valid %s, system %s\n", out.AsOfValid, out.AsOfSystem)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATASET\tSTATE\tPUBLISH_ALLOWED\tLAST_OK_PARTITION\tPENDING\tQUARANTINED")
		for _, d := range out.Datasets {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\n", d.Name, d.State, d.PublishAllowed, render.Dash(d.LastSuccessfulPartition),
				render.Dash(strings.Join(d.PendingPartitions, ",")), render.Dash(strings.Join(d.QuarantinedUnits, ",")))
		}
		_ = tw.Flush()
	})
}

func orNowText(s string) string {
	if s == "" {
		return "now"
	}
	return s
}
