package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
)

// receiptAnnotation marks a command that reads or writes the context
// plane: each run records a receipt (MUST-005, docs/adr/0146). Opt in
// with one line in the command's literal:
//
//	Annotations: receipt(audit.ActionRead, "audit:intent/{0}"),
const receiptAnnotation = "cfa.receipt"

// receipt is the annotation of a command that records a receipt with
// action and targets. A target may name the command's arguments ({0} is
// the first) and flags ({--version}); a target whose placeholder is empty
// is left out, and "a|b" is a unless it is left out, else b. The command
// adds what it learns while it runs with noteReceipt.
func receipt(action audit.Action, targets ...string) map[string]string {
	return map[string]string{receiptAnnotation: strings.Join(append([]string{string(action)}, targets...), " ")}
}

// CFAActorEnv names who runs the CLI when the OS user is not the person
// (a shared account, a CI job): the actor of its receipts.
const CFAActorEnv = "CFA_ACTOR"

// receiptNote is what a running command tells the hook.
type receiptNote struct {
	action  audit.Action // overrides the annotation's when set
	targets []string
	// recorded: the command recorded its own receipts, in the transaction
	// of its change (an operator action's trail): the hook adds none.
	recorded bool
}

// noteReceipt adds targets to the running command's receipt and, when
// action is not "", replaces its action.
func (c *cli) noteReceipt(action audit.Action, targets ...string) {
	if action != "" {
		c.receipt.action = action
	}
	c.receipt.targets = append(c.receipt.targets, targets...)
}

// receiptRecorded says that the running command recorded its own receipts.
func (c *cli) receiptRecorded() { c.receipt.recorded = true }

// withReceipts wraps the RunE of every command of root annotated with
// receipt: its output is held until its receipt is in the chain, so a read
// whose receipt cannot be recorded shows nothing (fail closed). A failed
// or refused run records its receipt too, unless it never reached the
// context plane (Temporal or Postgres unreachable).
func (c *cli) withReceipts(root *cobra.Command) {
	for _, sub := range root.Commands() {
		c.withReceipts(sub)
	}
	spec, ok := root.Annotations[receiptAnnotation]
	if !ok || root.RunE == nil {
		return
	}
	run := root.RunE
	root.RunE = func(cmd *cobra.Command, args []string) error {
		c.receipt = receiptNote{}
		out := c.out
		var held bytes.Buffer
		c.out = &held
		err := run(cmd, args)
		c.out = out
		if rerr := c.recordReceipt(cmd, args, spec, err); rerr != nil && err == nil {
			return rerr
		}
		if _, werr := out.Write(held.Bytes()); werr != nil && err == nil {
			return werr
		}
		return err
	}
}

// recordReceipt records the receipt of cmd's run that ended with err.
func (c *cli) recordReceipt(cmd *cobra.Command, args []string, spec string, err error) error {
	if c.receipt.recorded {
		return nil
	}
	outcome, code := db.AccessOK, ""
	var exit exitError
	if err != nil && !errors.As(err, &exit) {
		f := classify(err, cmd)
		switch f.code {
		case codeTemporalUnreachable, codePostgresUnreachable, codeSchemaNotCurrent, codeInterrupted:
			return nil // nothing was read or written
		case codeUsage, codeInvalidInput, codeRefused:
			outcome = db.AccessDenied
		default:
			outcome = db.AccessFailed
		}
		code = f.code
	}
	fields := strings.Fields(spec)
	action := audit.Action(fields[0])
	if c.receipt.action != "" {
		action = c.receipt.action
	}
	targets := expandTargets(cmd, args, fields[1:])
	for _, t := range c.receipt.targets {
		if !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	// Its own context: an interrupted command's receipt is still recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 10*time.Second)
	defer cancel()
	op := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	store, serr := c.openStore(ctx)
	if serr == nil {
		_, serr = store.RecordAccess(ctx, db.Access{Actor: cliActor(cmd), Action: action, Targets: targets,
			Via: "cli", Operation: op, Outcome: outcome, Code: code})
	}
	if serr != nil {
		return fmt.Errorf("cfa %s: its receipt could not be recorded, so its result is withheld (every read and write of the context plane is audited, docs/adr/0146): %w", op, serr)
	}
	return nil
}

// expandTargets fills the annotation's targets from args and flags.
func expandTargets(cmd *cobra.Command, args, specs []string) []string {
	var out []string
	for _, spec := range specs {
		for _, alt := range strings.Split(spec, "|") {
			if t, ok := fillTarget(cmd, args, alt); ok {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
				break
			}
		}
	}
	return out
}

// fillTarget replaces t's placeholders; false when one of them is empty.
func fillTarget(cmd *cobra.Command, args []string, t string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String(), true
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			b.WriteString(t)
			return b.String(), true
		}
		name := t[i+1 : i+j]
		var v string
		if flag, ok := strings.CutPrefix(name, "--"); ok {
			if f := cmd.Flags().Lookup(flag); f != nil {
				v = f.Value.String()
			}
		} else if n := indexArg(name); n >= 0 && n < len(args) {
			v = args[n]
		}
		if v == "" {
			return "", false
		}
		b.WriteString(t[:i])
		b.WriteString(v)
		t = t[i+j+1:]
	}
}

func indexArg(s string) int {
	if len(s) != 1 || s[0] < '0' || s[0] > '9' {
		return -1
	}
	return int(s[0] - '0')
}

// cliActor is who runs cmd: its --by when it has one (the operator of a
// write, as db.Operator records them), else $CFA_ACTOR, else the OS user.
func cliActor(cmd *cobra.Command) audit.Principal {
	if f := cmd.Flags().Lookup("by"); f != nil {
		if by := strings.TrimSpace(f.Value.String()); by != "" {
			return human(by)
		}
	}
	if a := strings.TrimSpace(os.Getenv(CFAActorEnv)); a != "" {
		return audit.Principal{ID: a, Type: audit.PrincipalHuman, AuthContext: "cli:env"}
	}
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return audit.Principal{ID: name, Type: audit.PrincipalHuman, AuthContext: "cli:os-user"}
}
