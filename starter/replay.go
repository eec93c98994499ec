package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/service"
)

// Exit statuses of `cfa replay` besides 0 (identical), 1 (an error) and
// exitRunning (no decision recorded yet: compared as far as it went).
const (
	// exitNotReproducible: the replay differs from the record (I8).
	exitNotReproducible = 18
	// exitNotReplayable: the record does not allow a replay (an input
	// never recorded), or units could not be compared because a source
	// they read has changed since; nothing differed.
	exitNotReplayable = 19
)

func (c *cli) replayCmd() *cobra.Command {
	var execute bool
	cmd := &cobra.Command{
		Use:         "replay INTENT_ID [--execute]",
		Annotations: receipt(audit.ActionRead, "intent:{0}", "replay:intent/{0}"),
		Short:       "Run an intent again from its record and compare it, stage by stage (I8, docs/adr/0127)",
		Long: `Replay an intent from what was recorded (whitepaper I8: user_intent +
context_registry.version_id + policy_bundle_version + catalog_snapshot_version):
the registry snapshot, policy bundle and catalog are loaded by version from
Postgres (never from the files on disk), and resolution, signing, governance
with its replans, the pre-cost verdict, planning, code generation, static
validation, the partial failure policy and the decision run again with the
kernel the worker runs. Each stage is compared with the record, byte for byte
(signature and plan bytes and hashes, code hash, decision state and
decided_by); the first difference is printed with both values. What the
flow asked outside itself (a human, an extension point, the cost history,
the scope locks, the units' runtime reports, the promotion evaluation) is
taken from the record and listed as such.

--execute also runs each unit that ran again, in the sandbox as the plan's
role, in a transaction that is rolled back, and compares a fingerprint of
what it staged (row count and SHA-256 of the ordered rows) with the one
recorded at execution time. A unit whose sources changed since is not
compared: Postgres cannot read them as of then (docs/adr/0128).

Exit status: 0 identical; 1 an error; 15 no decision recorded yet (compared
as far as the intent went); 18 a difference (I8 violated); 19 cannot be
replayed (an input never recorded, or units whose sources changed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			res, err := (&service.Service{Store: store}).Replay(cmd.Context(), args[0], execute)
			if errors.Is(err, service.ErrNotReplayable) {
				return &failure{code: codeNotReplayable, exit: exitNotReplayable, intentID: args[0], err: err,
					fix: "the intent's record lacks what its units ran: `cfa plan " + args[0] + "` and `cfa code " + args[0] + "` show what is recorded"}
			}
			if err != nil {
				return err
			}
			if err := c.emit(res, func(w io.Writer) { printReplay(w, res) }); err != nil {
				return err
			}
			if code := replayExit(res); code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&execute, "execute", false, "also run the units again in a scratch transaction and compare their output's fingerprint (docs/adr/0128)")
	return cmd
}

// codeNotReplayable is the error code of a replay the record does not allow.
const codeNotReplayable = "not_replayable"

// replayExit is the exit status of a replay.
func replayExit(res replay.Result) int {
	ex := res.Execution
	switch {
	case res.FirstDifference != nil, ex != nil && ex.FirstDifference != nil:
		return exitNotReproducible
	case res.Refused != "", ex != nil && ex.Refused != "":
		return exitNotReplayable
	case res.Through != intent.StageDecision:
		return exitRunning
	}
	return 0
}

func printReplay(w io.Writer, res replay.Result) {
	verdict := "identical"
	switch d := res.FirstDifference; {
	case res.Refused != "":
		verdict = "NOT REPLAYABLE"
	case d != nil:
		verdict = fmt.Sprintf("DIFFERENT at %s (I8 violated)", d.Stage)
	case res.Through != intent.StageDecision:
		verdict = "identical so far: no decision is recorded yet (compared through " + res.Through + ")"
	}
	fmt.Fprintf(w, "replay of %s: %s\n", res.IntentID, verdict)
	in := res.Inputs
	if in.RegistryVersionID != "" {
		fmt.Fprintf(w, "  inputs: registry %s, policy bundle %s, catalog %s", in.RegistryVersionID, in.PolicyBundleVersion, in.CatalogSnapshotVersion)
		if in.AsOf != "" {
			fmt.Fprintf(w, ", as_of %s", in.AsOf)
		}
		fmt.Fprintln(w)
	}
	switch {
	case in.UserIntent != "":
		fmt.Fprintf(w, "  user_intent: %q\n", in.UserIntent)
	case in.Signature:
		fmt.Fprintln(w, "  user_intent: a structured signature")
	}
	if res.Refused != "" {
		fmt.Fprintf(w, "  %s\n", res.Refused)
	}
	if len(res.Stages) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STAGE\tCYCLE\tRESULT\tRECORDED\tREPLAYED")
		for _, s := range res.Stages {
			result, replayed := "identical", "="
			if !s.Identical {
				result, replayed = "DIFFERENT", s.Replayed
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Stage, cycle(s.Cycle), result, s.Recorded, replayed)
		}
		_ = tw.Flush()
	}
	if d := res.FirstDifference; d != nil {
		fmt.Fprintf(w, "first difference, at %s (cycle %d):\n  field     %s\n  recorded  %s\n  replayed  %s\n", d.Stage, d.Cycle, d.Field, d.Recorded, d.Replayed)
	}
	if len(res.Answers) > 0 {
		fmt.Fprintln(w, "taken from the record (answers of humans, extension points and the environment):")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, a := range res.Answers {
			fmt.Fprintf(tw, "  %s\t%s\n", a.Stage, a.Answer)
		}
		_ = tw.Flush()
	}
	if ex := res.Execution; ex != nil {
		printRerun(w, *ex)
	}
}

func printRerun(w io.Writer, ex replay.Execution) {
	verdict := "identical"
	switch {
	case ex.FirstDifference != nil:
		verdict = "DIFFERENT (I8 violated)"
	case ex.Refused != "":
		verdict = "not compared"
	}
	fmt.Fprintf(w, "execution (--execute, rolled back): %s\n", verdict)
	if ex.Refused != "" {
		fmt.Fprintf(w, "  %s\n", ex.Refused)
	}
	if len(ex.Units) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tATTEMPT\tRESULT\tRECORDED\tREPLAYED")
	for _, u := range ex.Units {
		replayed := "-"
		if u.Replayed != nil {
			replayed = u.Replayed.String()
			if *u.Replayed == u.Recorded {
				replayed = "="
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", u.Key, u.Attempt, u.Outcome, u.Recorded, replayed)
	}
	_ = tw.Flush()
	for _, u := range ex.Units {
		if u.Reason != "" {
			fmt.Fprintf(w, "  %s: %s\n", u.Key, strings.TrimSpace(u.Reason))
		}
	}
}

func cycle(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
