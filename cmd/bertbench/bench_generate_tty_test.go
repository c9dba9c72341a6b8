//go:build linux

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/faultserver"
)

// TestBenchGenerateProgressOnATerminal: on a terminal, bench generate
// draws a progress bar; stdout keeps only the result.
func TestBenchGenerateProgressOnATerminal(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	var shown lockedBuffer
	tty, _ := openPTYTo(t, &shown)
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"bertbench", "bench", "generate", "--runner", "ollama:fault@" + srv.URL,
		"--concurrency", "1,2", "--requests", "50", "-f", "json"}, strings.NewReader(""), &stdout, tty)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(stdout.String(), "\n") != 1 || !strings.HasPrefix(stdout.String(), `{"levels":[`) {
		t.Errorf("stdout %q, want the JSON object alone", stdout.String())
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(shown.String(), "benchmarking") {
			return
		}
	}
	t.Errorf("the terminal shows %q, want a progress bar (benchmarking)", shown.String())
}
