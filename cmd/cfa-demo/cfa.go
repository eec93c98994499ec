package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cfaBinary is the product CLI the demo runs where it shows an operator's
// command: $CFA_BIN, else the cfa next to this binary (both are built into
// bin/ by make build).
func cfaBinary() (string, error) {
	if p := os.Getenv("CFA_BIN"); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("CFA_BIN: %w", err)
		}
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the cfa CLI next to cfa-demo: %w; set CFA_BIN to its path", err)
	}
	p := filepath.Join(filepath.Dir(self), "cfa")
	if err := executable(p); err != nil {
		return "", fmt.Errorf("the demo runs the cfa CLI: %w; build it next to cfa-demo (make build) or set CFA_BIN to its path", err)
	}
	return p, nil
}

func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s not found", path)
		}
		return err
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// runCFA runs the cfa CLI with args, in the demo's environment, and prints
// the command line and its output, indented, as an operator would see it.
func (c *cli) runCFA(ctx context.Context, cfa string, args ...string) error {
	return c.runCFAShort(ctx, cfa, 0, args...)
}

// runCFAShort is runCFA printing at most maxLines lines of the output (0:
// all of them) and how many it left out. A failing command's output is
// printed whole.
func (c *cli) runCFAShort(ctx context.Context, cfa string, maxLines int, args ...string) error {
	fmt.Fprintf(c.out, "  $ cfa %s\n", strings.Join(quoteArgs(args), " "))
	out, err := exec.CommandContext(ctx, cfa, args...).CombinedOutput()
	if s := strings.TrimRight(string(out), "\n"); s != "" {
		if lines := strings.Split(s, "\n"); err == nil && maxLines > 0 && len(lines) > maxLines+1 {
			s = strings.Join(lines[:maxLines], "\n") + fmt.Sprintf("\n... (%d more lines)", len(lines)-maxLines)
		}
		fmt.Fprint(c.out, indentAll(s, "    "))
	}
	if err != nil {
		return fmt.Errorf("cfa %s: %w", strings.Join(quoteArgs(args), " "), err)
	}
	return nil
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t") {
			a = "\"" + a + "\""
		}
		out[i] = a
	}
	return out
}

func indentAll(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		switch l {
		case "":
		case "\n": // a blank line stays blank: no trailing spaces
			b.WriteString(l)
		default:
			b.WriteString(prefix + l)
		}
	}
	if !strings.HasSuffix(b.String(), "\n") {
		b.WriteString("\n")
	}
	return b.String()
}
