//go:build unix

package outfile

import "golang.org/x/sys/unix"

// writableInPlace reports whether this process may open path (a FIFO or a
// device) for writing, without opening it.
func writableInPlace(path string) error { return unix.Access(path, unix.W_OK) }
