package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errLocked is what tryLock reports when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockPath is the lock file guarding one checkpoint and the model built
// from it: two pulls of the same repo and revision (from two shells, or a
// pull and an rm) take turns instead of writing the same .part file and
// build folder at once.
func (c *Cache) lockPath(repo, rev string) string {
	return filepath.Join(c.Root, ".locks", escape(repo)+"@"+escape(rev)+".lock")
}

// lock takes the lock at path, waiting (and saying so on the log) while
// another process holds it, until ctx ends. The returned function releases
// it.
func (c *Cache) lock(ctx context.Context, path, what string) (func(), error) {
	said := false
	for {
		unlock, err := tryLock(path)
		if !errors.Is(err, errLocked) {
			return unlock, err
		}
		if !said {
			c.logf("waiting for another bertbench that is pulling %s (lock %s) ...\n", what, path)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lock on %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func openLockFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("model cache lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("model cache lock: %w", err)
	}
	return f, nil
}
