package composite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/errtree"
)

// ErrInvalid is wrapped by every error Parse and Validate return; callers
// branch on it with errors.Is, and on the Code of each *Error.
var ErrInvalid = errors.New("invalid intent graph")

// Code classifies a problem so the workflow can audit it without parsing
// the message.
type Code string

// Problem codes.
const (
	CodeYAML                Code = "yaml"                 // not YAML, or a value of the wrong shape
	CodeUnknownField        Code = "unknown_field"        // a field the model does not have (strict decoding)
	CodeMissing             Code = "missing"              // a required field is absent or empty
	CodeInvalidID           Code = "invalid_id"           // an identifier is not snake_case
	CodeDuplicateID         Code = "duplicate_id"         // two sub-intents share an id
	CodeIntentForm          Code = "intent_form"          // a sub-intent has both or neither of intent and signature
	CodeDanglingDependency  Code = "dangling_dependency"  // an edge names an unknown sub-intent
	CodeSelfDependency      Code = "self_dependency"      // a -> a
	CodeDuplicateDependency Code = "duplicate_dependency" // the same edge twice
	CodeCycle               Code = "cycle"                // the dependencies are not a DAG
	CodeInvalidConsistency  Code = "invalid_consistency"  // consistency_unit outside the closed enum
)

// Error is one problem of an intent graph, located by YAML line when the
// graph came from Parse (Line 0 otherwise), with what to change.
type Error struct {
	Line      int
	Code      Code
	SubIntent string   // the sub-intent concerned, when there is one
	Cycle     []string // for CodeCycle and CodeSelfDependency: the path, first id repeated last
	Problem   string
	Fix       string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("intent graph")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	fmt.Fprintf(&b, ": %s", e.Problem)
	if e.Fix != "" {
		fmt.Fprintf(&b, "; %s", e.Fix)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) match any *Error.
func (e *Error) Unwrap() error { return ErrInvalid }

// Problems returns every *Error inside err (Parse and Validate report all
// problems at once, joined), in the order they were reported.
func Problems(err error) []*Error { return errtree.All[*Error](err) }
