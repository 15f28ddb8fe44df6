package main

import (
	"errors"
	"flag"
	"fmt"
)

// exitCodeTable is the table of exit codes every command's --help ends
// with; README's CLI section carries the same table.
const exitCodeTable = `Exit codes:
  0  success; for verify: the result is affirming
  1  verification failed: the token is invalid, or the result is
     contraindicated or none (no trust claim)
  2  usage, input or configuration error, no result: a bad flag, unreadable,
     empty or unrecognized input, nothing to bind the evidence to, no
     collateral configured for it, or --timeout passed
  3  verify only: the result is a warning (an unsafe switch in effect, a
     check that could not be made)
`

// withHelp makes fl's usage print what precedes its flags (head; a
// "usage: …" line when empty), the flags, then the exit codes.
func withHelp(fl *flag.FlagSet, head string) {
	fl.Usage = func() {
		w := fl.Output()
		if head == "" {
			head = fmt.Sprintf("usage: %s [flags]\n", fl.Name())
		}
		fmt.Fprint(w, head)
		fmt.Fprintln(w, "\nFlags:")
		fl.PrintDefaults()
		fmt.Fprint(w, "\n"+exitCodeTable)
	}
}

// parseExit is the exit code of a failed fl.Parse: 0 when the user asked
// for --help (the usage was printed), 2 otherwise.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
