package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestExitCodes checks the exit status contract shared by every command:
// 0 ok, 1 runtime failure, 2 usage or input error, 130 interrupted.
func TestExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	cands := writeLines(t, dir, "c.txt", []string{"今天天气很好。"})
	refs := writeLines(t, dir, "r.txt", []string{"今天天气不错。"})
	model := "../../testdata/bertscore/tiny-mbert"
	for _, tc := range []struct {
		name string
		ctx  context.Context
		args []string
		want int
	}{
		{"ok", context.Background(), []string{"score", "--model", model, "-c", cands, "-r", refs}, exitOK},
		{"unknown flag", context.Background(), []string{"score", "--bogus"}, exitUsage},
		{"unknown command", context.Background(), []string{"bogus"}, exitUsage},
		{"missing library", context.Background(), []string{"--ort-lib", dir + "/none.so", "score", "--model", model, "-c", cands, "-r", refs}, exitFailure},
		{"interrupted", cancelled, []string{"score", "--model", model, "-c", cands, "-r", refs}, exitInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(tc.ctx, append([]string{"bertbench"}, tc.args...), strings.NewReader(""), &out, &errOut)
			if got != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", got, tc.want, errOut.String())
			}
		})
	}
}
