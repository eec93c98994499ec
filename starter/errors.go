package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/workflows"
)

// Exit statuses a script branches on (README "Exit codes"). 1 and 2 keep
// their meaning; each decision family has its own status from 10 up.
const (
	exitFailure            = 1 // a usage or operational error
	exitAuditBroken        = 2 // audit verify: chain broken or an intent abandoned
	exitBlocked            = 10
	exitPartiallyCommitted = 11
	exitQuarantined        = 12
	exitRolledBack         = 13
	exitReplanned          = 14
	exitRunning            = 15 // status: no decision yet
	exitNoDecision         = 16 // the workflow ended without a decision
	exitNoWorker           = 17
)

// decisionExits gives every decision_state of the closed enum its exit
// status; a test checks that none is missing.
var decisionExits = map[decision.State]int{
	decision.Approved:             0,
	decision.ApprovedWithWarnings: 0,
	decision.PromotionCandidate:   0,
	decision.Blocked:              exitBlocked,
	decision.PartiallyCommitted:   exitPartiallyCommitted,
	decision.Quarantined:          exitQuarantined,
	decision.RolledBack:           exitRolledBack,
	decision.Replanned:            exitReplanned,
}

// decisionExit is the exit status of an intent decided s; a state this
// build does not know is no decision it can vouch for.
func decisionExit(s decision.State) int {
	if code, ok := decisionExits[s]; ok {
		return code
	}
	return exitNoDecision
}

// exitCodes is the table `--help` and the README show, in order.
var exitCodes = []struct {
	code       int
	meaning    string
	statusOnly bool
}{
	{0, "approved, approved_with_warnings or promotion_candidate (submit without --wait: submitted)", false},
	{exitFailure, "usage or operational error (with -o json, an error object on stdout)", false},
	{exitBlocked, "blocked", false},
	{exitPartiallyCommitted, "partially_committed", false},
	{exitQuarantined, "quarantined", false},
	{exitRolledBack, "rolled_back", false},
	{exitReplanned, "replanned", false},
	{exitRunning, "still running: no decision yet", true},
	{exitNoDecision, "the intent's workflow ended without a decision (failed, terminated, cancelled, timed out)", false},
	{exitNoWorker, "no worker polls task queue " + workflows.TaskQueue + " (error code no_worker)", false},
}

// exitCodesHelp is the "Exit status" paragraph of a command's --help.
func exitCodesHelp(status bool) string {
	var b strings.Builder
	b.WriteString("Exit status:\n")
	for _, e := range exitCodes {
		if e.statusOnly && !status {
			continue
		}
		fmt.Fprintf(&b, "  %-3d %s\n", e.code, e.meaning)
	}
	b.WriteString("\nWith -o json a decision's status comes with the result object; an error is\none object {\"error\": {\"code\", \"message\", \"fix\"}} on stdout and nothing else.")
	return b.String()
}

// Stable machine codes of an error object (README "Exit codes").
const (
	codeUsage               = "usage"
	codeInvalidInput        = "invalid_input"
	codeNotFound            = "not_found"
	codeNotWaiting          = "not_waiting"
	codeRefused             = "refused"
	codeNoWorker            = "no_worker"
	codeTemporalUnreachable = "temporal_unreachable"
	codePostgresUnreachable = "postgres_unreachable"
	codeSchemaNotCurrent    = "schema_not_current"
	codeNoDecision          = "no_decision"
	codeInterrupted         = "interrupted"
	codeFailed              = "failed"
)

// failure is an error a script can act on: a stable code, what to do, and
// the exit status. Its message is the wrapped error's.
type failure struct {
	code     string
	fix      string
	exit     int
	intentID string
	err      error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// usage marks err as a command line to correct.
func usage(err error) error { return &failure{code: codeUsage, exit: exitFailure, err: err} }

// invalid marks err as a value to correct.
func invalid(err error) error { return &failure{code: codeInvalidInput, exit: exitFailure, err: err} }

// notFound marks err as naming something that does not exist.
func notFound(err error) error { return &failure{code: codeNotFound, exit: exitFailure, err: err} }

// markUsage makes every argument-count error of cmd and its subcommands a
// usage error: cobra's own are untyped.
func markUsage(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usage(err)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markUsage(sub)
	}
}

// flagError types pflag's errors: a value that does not parse is input to
// correct, an unknown or incomplete flag is usage.
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		return invalid(err)
	}
	return usage(err)
}

// classify gives err its code, fix and exit status; cmd is the command that
// ran (for the --help it points to).
func classify(err error, cmd *cobra.Command) *failure {
	f := &failure{code: codeFailed, exit: exitFailure, err: err}
	var known *failure
	var input *service.InputError
	var refusal *service.RefusedError
	var unavailable *serviceerror.Unavailable
	var ended *temporal.WorkflowExecutionError
	switch {
	case errors.As(err, &known):
		f = &failure{code: known.code, fix: known.fix, exit: known.exit, intentID: known.intentID, err: err}
	case errors.Is(err, service.ErrNoWorker):
		f.code, f.exit = codeNoWorker, exitNoWorker
	case errors.As(err, &input):
		f.code = codeInvalidInput
	case errors.Is(err, service.ErrUnknownIntent), errors.Is(err, db.ErrIntentNotFound), errors.Is(err, db.ErrPlanNotFound):
		f.code = codeNotFound
	case errors.Is(err, service.ErrNotWaiting):
		f.code = codeNotWaiting
	case errors.As(err, &refusal):
		f.code, f.intentID = codeRefused, refusal.IntentID
	case errors.Is(err, db.ErrSchemaNotCurrent):
		f.code = codeSchemaNotCurrent
	case errors.As(err, &ended):
		f.code, f.exit = codeNoDecision, exitNoDecision
	case errors.Is(err, context.Canceled):
		f.code = codeInterrupted
	case errors.As(err, &unavailable):
		f.code = codeTemporalUnreachable
	case strings.HasPrefix(err.Error(), "unknown command "):
		// cobra's own error for an unknown subcommand, untyped.
		f.code = codeUsage
	}
	if f.fix == "" {
		f.fix = fixFor(f.code, cmd)
	}
	return f
}

// fixFor says what to do about an error with code.
func fixFor(code string, cmd *cobra.Command) string {
	help := "cfa --help"
	if cmd != nil {
		help = cmd.CommandPath() + " --help"
	}
	switch code {
	case codeUsage:
		return "correct the command line: `" + help + "` shows the usage"
	case codeInvalidInput:
		return "correct the value the message names: `" + help + "` lists each option and its range (README, Limits)"
	case codeNotFound:
		return "check the id: `cfa list` shows recent intents"
	case codeNotWaiting:
		return "`cfa status ID` shows what the intent is doing; only a pending escalation takes an answer"
	case codeRefused:
		return "the escalation is still open: `cfa status ID` shows who may answer it (policy bundle confirmation.approvers); answer with --by one of them"
	case codeNoWorker:
		return "start cfa-worker (bin/cfa-worker, or `make dev`); an intent already submitted goes on when it polls"
	case codeTemporalUnreachable:
		return "start Temporal (`make dev`) or set TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE"
	case codePostgresUnreachable:
		return "start Postgres or set DATABASE_URL"
	case codeSchemaNotCurrent:
		return "run `cfa migrate` as the schema owner (docs/roles.md)"
	case codeNoDecision:
		return "`cfa status ID` and `cfa audit show ID` show how far the intent got; the worker log says why it ended"
	case codeInterrupted:
		return "the intent goes on running: `cfa status ID` follows it"
	default:
		return "the message names the cause; correct it and run the command again (`" + help + "`)"
	}
}

// report prints err as the output format asks and returns the exit status:
// one error object on stdout in json mode, `cfa: message` on stderr in
// text mode; an exitError's command has already printed its result.
func (c *cli) report(err error, cmd *cobra.Command, args []string) int {
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	f := classify(err, cmd)
	if !c.json() && !jsonRequested(args) {
		fmt.Fprintln(c.stderr(), "cfa:", err)
		return f.exit
	}
	writeErrorJSON(c.out, f)
	return f.exit
}

// errorObject is the one object `-o json` prints for an error.
type errorObject struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
	IntentID string `json:"intent_id,omitempty"`
}

func writeErrorJSON(w io.Writer, f *failure) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(errorObject{errorBody{Code: f.code, Message: f.err.Error(), Fix: f.fix, IntentID: f.intentID}})
}

// jsonRequested reads -o/--output from the raw arguments: a flag that does
// not parse stops cobra before it reaches a later --output json.
func jsonRequested(args []string) bool {
	out := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return out == "json"
		case a == "-o" || a == "--output":
			if i+1 < len(args) {
				out = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--output="):
			out = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o="):
			out = strings.TrimPrefix(a, "-o=")
		case strings.HasPrefix(a, "-o") && !strings.HasPrefix(a, "--"):
			out = strings.TrimPrefix(a, "-o")
		}
	}
	return out == "json"
}
