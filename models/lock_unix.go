//go:build unix

package models

import (
	"errors"
	"fmt"
	"syscall"
)

// tryLock takes an exclusive advisory lock (flock) on the file at path,
// without waiting. The kernel drops the lock if the process dies, so a
// killed pull never leaves the cache locked.
func tryLock(path string) (func(), error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("model cache lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
