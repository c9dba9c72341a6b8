//go:build linux

package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer a goroutine writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFinetuneOpenAIEventsOnATerminal: on a terminal, --wait shows the
// events the job logs as well as its status changes.
func TestFinetuneOpenAIEventsOnATerminal(t *testing.T) {
	ftServer(t)
	train := chatData(t, t.TempDir(), "train.jsonl", 10)
	var shown lockedBuffer
	tty, _ := openPTYTo(t, &shown)
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"bertbench", "finetune", "openai", "--file", train, "--model", "gpt-3.5-turbo", "--wait", "--poll", "100ms"},
		strings.NewReader(""), &stdout, tty)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := []string{"info Files validated, moving job to queued state", "info Step 1/1: training loss=1.00", "job ftjob-2: succeeded"}
	// The terminal shows what was written a little later.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if containsAll(shown.String(), want) {
			return
		}
	}
	t.Errorf("the terminal shows\n%s\nwant lines with %q", shown.String(), want)
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
