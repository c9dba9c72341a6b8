package main

import (
	"fmt"

	"github.com/bertbench/bertbench/runners"
)

// truncationWarning is the one warning translate prints when the server
// cut sources to fit the model's context window, "" when it cut none.
func truncationWarning(t *runners.Tally) string {
	if t.Truncated == 0 {
		return ""
	}
	what := "1 line had a source longer than the model's context window%s; the server cut it"
	if t.Truncated > 1 {
		what = fmt.Sprintf("%d lines had sources longer than the model's context window%%s; the server cut them", t.Truncated)
	}
	if t.TruncatedWindow == 0 {
		return fmt.Sprintf(what, "") + ` ("truncated_input": true in their results): raise the window with --num-ctx`
	}
	return fmt.Sprintf(what, fmt.Sprintf(" of %d tokens", t.TruncatedWindow)) +
		fmt.Sprintf(` ("truncated_input": true in their results): raise the window with --num-ctx %d or more`, 2*t.TruncatedWindow)
}
