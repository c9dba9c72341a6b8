//go:build !unix

package models

// tryLock has no advisory lock to take on this platform: concurrent pulls
// of one model are not serialised, but every file still lands by an atomic
// rename, so a reader never sees a half-written one.
func tryLock(path string) (func(), error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
