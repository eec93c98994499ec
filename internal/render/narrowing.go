package render

import (
	"fmt"
	"io"

	"github.com/contextualflux/cfa/internal/policy"
)

// PrintNarrowed prints what replans changed of what the user asked, one
// line each with its before and after (docs/adr/0136), so an approver
// approves knowingly.
func PrintNarrowed(w io.Writer, ns []policy.Narrowing, indent string) {
	if len(ns) == 0 {
		return
	}
	fmt.Fprintf(w, "%snarrowed by replans since the signature was confirmed:\n", indent)
	for _, n := range ns {
		fmt.Fprintf(w, "%s  %s\n", indent, n.Warning)
	}
}
