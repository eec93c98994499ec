package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/render"
)

func (c *cli) policyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Policy bundle commands"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [DIR]",
		Short: "Load and type-check a policy bundle (default: the shipped policies/)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := c.cfg.PolicyDir
			if len(args) == 1 {
				dir = args[0]
			}
			b, err := app.LoadBundle(context.Background(), dir)
			if err != nil {
				return err
			}
			return c.emit(b, func(w io.Writer) {
				fmt.Fprintf(w, "policy bundle %s: %d rules compiled, max_replan_attempts %d\n", b.Version, len(b.Rules), b.MaxReplanAttempts)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RULE\tPOLICY TYPE\tACTION\tSEVERITY\tFAULT CODE")
				for _, r := range b.Rules {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.PolicyType, r.Action, r.Severity, r.FaultCode)
				}
				_ = tw.Flush()
			})
		},
	})
	cmd.AddCommand(c.policyVersionsCmd())
	return cmd
}

func (c *cli) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Data catalog commands"}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Show the data catalog and its catalog_snapshot_version",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			cat, err := app.LoadCatalog(c.cfg.CatalogDir)
			if err != nil {
				return err
			}
			return c.emit(cat, func(w io.Writer) {
				fmt.Fprintf(w, "catalog_snapshot_version %s\n", cat.SnapshotVersion)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DATASET\tLAYER\tSIZE\tCLASSIFICATION\tPII\tPARTITION\tMERGE KEY\tALIASES")
				for _, d := range cat.Datasets {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Layer, d.Size, d.Classification,
						render.Dash(strings.Join(d.PII, ",")), render.Dash(d.PartitionKey), render.Dash(d.MergeKey), strings.Join(d.Aliases, ", "))
				}
				_ = tw.Flush()
			})
		},
	})
	cmd.AddCommand(c.catalogVersionsCmd())
	return cmd
}

func (c *cli) registryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Context Registry commands"}
	var version, asOfSystem, asOfValid string
	show := &cobra.Command{
		Use:         "show [--version VERSION_ID | --as-of-system T --as-of-valid T]",
		Short:       "Show environment_state of the latest committed snapshot (or a given one)",
		Args:        cobra.NoArgs,
		Annotations: receipt(audit.ActionRead, "registry:version/{--version}|registry:latest"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if asOfSystem != "" || asOfValid != "" {
				if version != "" {
					return invalid(fmt.Errorf("registry show: --version and --as-of-* name different reads: give one"))
				}
				return c.showRegistryAsOf(cmd, store, asOfValid, asOfSystem)
			}
			var env registry.EnvironmentState
			if version != "" {
				env, err = store.SnapshotByVersion(cmd.Context(), version)
			} else {
				env, err = store.LatestSnapshot(cmd.Context())
			}
			if err != nil {
				return err
			}
			c.noteReceipt("", "registry:version/"+env.VersionID)
			return c.emit(env, func(w io.Writer) { printEnvironment(w, env) })
		},
	}
	show.Flags().StringVar(&version, "version", "", "registry version_id to read (default: latest committed)")
	show.Flags().StringVar(&asOfSystem, "as-of-system", "", "RFC 3339 time: the dataset records of the context plane as known then (CFS Read protocol)")
	show.Flags().StringVar(&asOfValid, "as-of-valid", "", "RFC 3339 time: the dataset records as valid then (default: now)")

	var (
		state, lastOK, reason, setBy string
		publish                      bool
		pending, quarantined         []string
	)
	set := &cobra.Command{
		Use:   "set DATASET --state STATE --by NAME --reason TEXT [--publish-allowed=false] [--pending P] [--quarantined P]",
		Short: "Propose an override of one dataset's environment_state (applied after another approver's review)",
		Long: `Proposes to set one dataset's environment_state by hand, outside any intent:
for an operator repairing the registry after checking it against the data.
A manual change of the context plane goes through the CFS write protocol
(docs/adr/0152): this proposes the dataset's registry record (the diff is
printed), an approver other than --by reviews it (` + "`cfa review ID --approve`" + `),
and ` + "`cfa apply ID --approver NAME --approval-ref RECEIPT`" + ` commits the registry
snapshot, with who and why in the audit trail (an operator trail,
registry-override-<version>), refused if the dataset changed since. Prefer
a governed intent: it projects the state it produced.`,
		Args:        cobra.ExactArgs(1),
		Annotations: receipt(audit.ActionWrite, "dataset:{0}", "registry:latest"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(setBy) == "" || strings.TrimSpace(reason) == "" {
				return usage(fmt.Errorf("registry set %s: --by and --reason are required: the override is recorded in the audit trail", args[0]))
			}
			cat, err := app.LoadCatalog(c.cfg.CatalogDir)
			if err != nil {
				return err
			}
			if _, ok := cat.Get(args[0]); !ok {
				return invalid(fmt.Errorf("registry set: dataset %q is not in the catalog; `cfa catalog show` lists them", args[0]))
			}
			switch state {
			case registry.StateCommitted, registry.StatePartiallyCommitted, registry.StateStale, registry.StateQuarantined, registry.StateUnknown:
			default:
				return invalid(fmt.Errorf("registry set: --state %q is not one of committed, partially_committed, stale, quarantined, unknown", state))
			}
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			ds := registry.DatasetState{
				Name: args[0], State: state, PublishAllowed: publish, LastSuccessfulPartition: lastOK,
				PendingPartitions: pending, QuarantinedUnits: quarantined, UpdatedAt: time.Now().UTC(),
			}
			resp, rec, err := store.ProposeDatasetStates(cmd.Context(), []registry.DatasetState{ds}, db.Operator{By: setBy, Reason: reason})
			if err != nil {
				return err
			}
			c.receiptRecorded() // the proposal's own trail
			return c.emitProposal(resp, rec)
		},
	}
	set.Flags().StringVar(&state, "state", registry.StateCommitted, "dataset state")
	set.Flags().BoolVar(&publish, "publish-allowed", true, "publish_allowed flag")
	set.Flags().StringVar(&lastOK, "last-successful-partition", "", "last_successful_partition")
	set.Flags().StringSliceVar(&pending, "pending", nil, "pending partitions")
	set.Flags().StringSliceVar(&quarantined, "quarantined", nil, "quarantined units")
	set.Flags().StringVar(&reason, "reason", "", "why (required; kept with the snapshot and in the audit trail)")
	set.Flags().StringVar(&setBy, "by", "", "who makes the change (required; recorded in the audit trail)")

	var by, why string
	resolve := &cobra.Command{
		Use:   "resolve INTENT_ID --by NAME --reason TEXT",
		Short: "Resolve a failed projection (I4): intents on its scopes are no longer blocked with ENVIRONMENT_STATE_UNCERTAIN",
		Long: `A projection that did not commit leaves its scopes uncertain (I4) and
blocks every intent on them. Check the registry against the data (the
intent's outputs are still in staging), then resolve the marker.
Without an argument, lists the open markers.`,
		Args:        cobra.MaximumNArgs(1),
		Annotations: receipt(audit.ActionWrite, "intent:{0}", "registry:projection-failure/{0}|registry:projection-failures"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 0 {
				c.noteReceipt(audit.ActionRead) // a list of the open markers
				open, err := store.OpenProjectionFailures(cmd.Context())
				if err != nil {
					return err
				}
				return c.emit(open, func(w io.Writer) {
					if len(open) == 0 {
						fmt.Fprintln(w, "no failed projection: the environment is certain")
					}
					for _, f := range open {
						fmt.Fprintf(w, "%s failed at %s on %d scopes: %s\n", f.IntentID, f.FailedAt.Format(time.RFC3339), len(f.Scopes), f.Cause)
					}
				})
			}
			if strings.TrimSpace(by) == "" || strings.TrimSpace(why) == "" {
				return usage(fmt.Errorf("registry resolve %s: --by and --reason are required: the resolution is recorded", args[0]))
			}
			ok, err := store.ResolveProjectionFailure(cmd.Context(), args[0], db.Operator{By: by, Reason: why})
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("registry resolve: intent %s has no open failed projection (`cfa registry resolve` lists them)", args[0])
			}
			c.receiptRecorded() // the resolution's own trail
			return c.emit(map[string]string{"resolved": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "resolved the failed projection of %s\n", args[0]) })
		},
	}
	resolve.Flags().StringVar(&by, "by", "", "who checked the registry against the data")
	resolve.Flags().StringVar(&why, "reason", "", "what was checked or repaired")
	cmd.AddCommand(show, set, resolve)
	return cmd
}

func printEnvironment(w io.Writer, env registry.EnvironmentState) {
	fmt.Fprintf(w, "registry version_id %s committed_at %s\n", render.Dash(env.VersionID), env.CommittedAt.Format(time.RFC3339))
	ds := append([]registry.DatasetState(nil), env.Datasets...)
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATASET\tSTATE\tPUBLISH_ALLOWED\tLAST_OK_PARTITION\tPENDING\tQUARANTINED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\n", d.Name, d.State, d.PublishAllowed, render.Dash(d.LastSuccessfulPartition),
			render.Dash(strings.Join(d.PendingPartitions, ",")), render.Dash(strings.Join(d.QuarantinedUnits, ",")))
	}
	_ = tw.Flush()
}

func (c *cli) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the database if missing and apply migrations as the owner role (CFA_MIGRATE_DATABASE_URL)",
		Long: `Create the database if missing, apply the pending migrations as the owner role
(cfa_owner: the login of CFA_MIGRATE_DATABASE_URL, or DATABASE_URL when it is
not set, must be a superuser or a member of it) and grant the worker role
its privileges on the control plane. The worker does not migrate: run this
before a new version's workers start. Set the roles up first (cfa roles setup).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := c.cfg.MigrateURL()
			if err := db.EnsureDatabase(cmd.Context(), url); err != nil {
				return err
			}
			if err := db.MigrateURL(cmd.Context(), url, c.cfg.Roles); err != nil {
				return err
			}
			return c.emit(map[string]string{"migrated": "ok", "owner": c.cfg.Roles.Owner, "worker": c.cfg.Roles.Worker},
				func(w io.Writer) {
					fmt.Fprintf(w, "database migrated as %s; %s granted its privileges\n", c.cfg.Roles.Owner, c.cfg.Roles.Worker)
				})
		},
	}
}

// rolesCmd prints or runs the SQL that sets up the database roles.
func (c *cli) rolesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roles",
		Short: "The database roles: owner, worker, sandbox (docs/roles.md)",
	}
	sql := &cobra.Command{
		Use:   "sql",
		Short: "Print the SQL a superuser runs once per database to set up the roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text, err := db.RolesSQL(c.cfg.Roles)
			if err != nil {
				return err
			}
			return c.emit(map[string]string{"sql": text}, func(w io.Writer) { fmt.Fprint(w, text) })
		},
	}
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create the database if missing and run that SQL on it (CFA_MIGRATE_DATABASE_URL, a superuser)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := c.cfg.MigrateURL()
			if err := db.EnsureDatabase(cmd.Context(), url); err != nil {
				return err
			}
			if err := db.SetupRoles(cmd.Context(), url, c.cfg.Roles); err != nil {
				return err
			}
			r := c.cfg.Roles
			return c.emit(map[string]string{"owner": r.Owner, "worker": r.Worker, "sandbox": r.Sandbox, "sandbox_admin": r.Admin},
				func(w io.Writer) {
					fmt.Fprintf(w, "roles set up: owner %s, worker %s, sandbox %s, sandbox admin %s\n", r.Owner, r.Worker, r.Sandbox, r.Admin)
				})
		},
	}
	cmd.AddCommand(sql, setup)
	return cmd
}
