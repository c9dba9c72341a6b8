//go:build linux

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchScorerProgressOnATerminal: on a terminal, bench scorer draws a
// progress bar over every run; stdout keeps only the result.
func TestBenchScorerProgressOnATerminal(t *testing.T) {
	var shown lockedBuffer
	tty, _ := openPTYTo(t, &shown)
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"bertbench", "bench", "scorer", "--model", fixturePath(t, "tiny-mbert"),
		"--pairs", "300", "--warmup", "1", "--runs", "4", "--threads", "1", "-f", "json"},
		strings.NewReader(""), &stdout, tty)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(stdout.String(), "\n") != 1 || !strings.HasPrefix(stdout.String(), `{"pairs":300,`) {
		t.Errorf("stdout %q, want the JSON object alone", stdout.String())
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(shown.String(), "benchmarking") {
			return
		}
	}
	t.Errorf("the terminal shows %q, want a progress bar (benchmarking)", shown.String())
}
