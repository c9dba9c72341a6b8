//go:build unix

package shard

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPartial takes an exclusive flock(2) on the partial file path, for
// as long as the run writes it (release drops it): a run that can take
// the lock of another run's partial file knows that run is gone, as the
// kernel drops a process's locks when it dies, killed or not.
func lockPartial(path string) (release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}

// removeAbandoned removes the partial file path when no run writes it:
// nobody holds its lock, and it is not a file created a moment ago whose
// writer has yet to take the lock (a writer locks before it writes).
func removeAbandoned(path string, now time.Time) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil // a run is writing it
		}
		return false, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() == 0 && now.Sub(st.ModTime()) < time.Minute {
		return false, nil
	}
	if now2, err := os.Stat(path); err != nil || !os.SameFile(st, now2) {
		return false, nil // renamed or replaced meanwhile: not the file locked
	}
	return true, os.Remove(path)
}
