package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes checks the exit status contract shared by every command:
// 0 ok, 1 runtime failure, 2 usage or input error, 130 interrupted. (A
// missing library: TestMissingLibrary.)
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

// TestMissingLibrary: --ort-lib naming a file that does not exist fails
// with exit 1 and an error that says so and names the file. It runs in a
// child process (see TestMain): in this one an earlier test may have loaded
// ONNX Runtime already, and a loaded runtime refuses any other library,
// missing or not.
func TestMissingLibrary(t *testing.T) {
	dir := t.TempDir()
	cands := writeLines(t, dir, "c.txt", []string{"今天天气很好。"})
	refs := writeLines(t, dir, "r.txt", []string{"今天天气不错。"})
	missing := filepath.Join(dir, "none.so")
	cmd, stdout, stderr := startChild(t, "main", "--ort-lib", missing, "score", "--model", "../../testdata/bertscore/tiny-mbert", "-c", cands, "-r", refs)
	out, _ := io.ReadAll(stdout)
	if code := waitExit(t, cmd); code != exitFailure {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitFailure, stderr.String())
	}
	want := "ONNX Runtime library not found at " + missing
	if !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "already loaded") {
		t.Errorf("stderr %q, want it to say %q", stderr.String(), want)
	}
	if len(out) != 0 {
		t.Errorf("stdout %q, want nothing", out)
	}
}
