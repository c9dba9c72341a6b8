package models

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLockIsExclusiveAndWaits(t *testing.T) {
	c := NewCache(t.TempDir())
	path := c.lockPath("org/model", "main")
	unlock, err := tryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryLock(path); !errors.Is(err, errLocked) {
		t.Fatalf("second tryLock: %v, want errLocked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var log strings.Builder
	c.Log = &log
	if _, err := c.lock(ctx, path, "org/model@main"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lock while held: %v, want the context's error", err)
	}
	if !strings.Contains(log.String(), "waiting for another bertbench") {
		t.Errorf("log %q says nothing of waiting", log.String())
	}
	unlock()
	unlock2, err := c.lock(context.Background(), path, "org/model@main")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}
