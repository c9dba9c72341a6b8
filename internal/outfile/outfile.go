// Package outfile writes the files bertbench produces (scores, models,
// cache entries, translations) without ever replacing what is not a
// regular file.
//
// Where a path leads decides how it is written:
//
//   - nothing, or a regular file: Create writes a temporary file in the
//     same folder and Commit renames it over the path (after an fsync), so
//     a reader sees the old file or the new one, never half of one, and a
//     failed or abandoned write leaves the old file as it was;
//   - a symbolic link (or a chain of them, dangling or not): resolved
//     first, and its target written as above; the link stays a link;
//   - a FIFO or a device: opened and written in place, never renamed over
//     (-o /dev/stdout, a named pipe read by another program);
//   - a folder or a socket: refused.
//
// Stream is for output that is a record of finished work, written as the
// work finishes (translate's JSONL): a regular file is truncated and
// written in place, so every line is in the file as soon as it is written
// and survives an interrupted or killed run. Append is the same for a run
// that resumes: it writes after what the file holds.
//
// Permissions: a new file gets perm less the umask, as with os.WriteFile
// (0644 under the usual umask 022; a user with umask 077 gets 0600, as
// asked); a regular file that is replaced keeps its mode. A replaced file
// is a new file: its hard links, and readers that opened it before, keep the
// old contents.
//
// The temporary file and the rename come from github.com/google/renameio/v2
// (O_EXCL temporary file created with the right mode, fsync before the
// rename, removal on failure); this package adds the symlink, FIFO and
// device cases and errors that name the folder, not the temporary file.
// Reading "-" as standard output is the command line's business: this
// package takes every path as a file name.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
)

// File is an output file being written. It is not safe for concurrent use.
type File struct {
	path    string                // the file written: the given path with symlinks resolved
	pending *renameio.PendingFile // the replacement Commit renames into place; nil when written in place
	f       *os.File              // the file written in place (pending == nil)
	done    bool                  // committed or closed
}

// Create opens path for writing as the package documentation says: a
// missing or regular file is replaced atomically on Commit, a symlink's
// target is written, a FIFO or device is written in place (opening a FIFO
// waits for its reader, as a shell redirection does). New files get perm
// less the umask. Call Commit to make the output final and Close
// (deferred) to abandon it on any other path.
func Create(path string, perm fs.FileMode) (*File, error) {
	d, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if d.info != nil && !d.info.Mode().IsRegular() {
		return openInPlace(d)
	}
	dir := filepath.Dir(d.path)
	pf, err := renameio.NewPendingFile(d.path,
		renameio.WithTempDir(dir),
		renameio.WithPermissions(perm),
		renameio.WithExistingPermissions())
	if err != nil {
		return nil, fmt.Errorf("%s: cannot create a file in folder %s: %w", d, dir, errnoOf(err))
	}
	return &File{path: d.path, pending: pf}, nil
}

// Stream opens path for output whose every write must reach the file at
// once: a missing or regular file is created or truncated and written in
// place (no temporary file, so what was written before a crash stays);
// symlinks, FIFOs and devices are treated as by Create. Commit and Close
// both just close it.
func Stream(path string, perm fs.FileMode) (*File, error) {
	d, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if d.info != nil && !d.info.Mode().IsRegular() {
		return openInPlace(d)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, errnoOf(err))
	}
	return &File{path: d.path, f: f}, nil
}

// Append opens path to add to what it holds, for output that a resumed
// run continues (generate's JSONL): a missing file is created, a regular
// file is written at its end, in place, every write reaching the file at
// once, as with Stream. keep >= 0 first cuts a longer regular file to keep
// bytes, what the caller read and kept (a last line torn by a crash
// dropped); keep < 0 keeps it all. Symlinks, FIFOs and devices are treated
// as by Create. Commit and Close both just close it.
func Append(path string, perm fs.FileMode, keep int64) (*File, error) {
	d, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if d.info != nil && !d.info.Mode().IsRegular() {
		return openInPlace(d)
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, perm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, errnoOf(err))
	}
	if keep >= 0 {
		if st, err := f.Stat(); err != nil || st.Size() > keep {
			if err == nil {
				err = f.Truncate(keep)
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", d, errnoOf(err))
			}
		}
	}
	return &File{path: d.path, f: f}, nil
}

// Check reports, before any long work, whether Create(path, ...) would be
// able to start, with the error Create would give: the folder must exist and
// take a new file (a probe file is created there and removed at once), a
// FIFO or device must be writable by this process (checked with access(2),
// never opened, so a FIFO's reader is not disturbed), and a folder or socket
// is refused. Nothing is left behind; the path itself is not touched. A
// Create that follows can still fail (the disk may fill, the folder may go),
// but a typo in an output path is caught before the work, not after it.
func Check(path string) error {
	d, err := resolve(path)
	if err != nil {
		return err
	}
	if d.info != nil && !d.info.Mode().IsRegular() {
		if err := refuseKind(d); err != nil {
			return err
		}
		if err := writableInPlace(d.path); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		return nil
	}
	dir := filepath.Dir(d.path)
	probe, err := os.CreateTemp(dir, "."+filepath.Base(d.path)+".check")
	if err != nil {
		return fmt.Errorf("%s: cannot create a file in folder %s: %w", d, dir, errnoOf(err))
	}
	return errors.Join(probe.Close(), os.Remove(probe.Name()))
}

// WriteFile writes data to path through Create and Commit: the
// atomic-replacing counterpart of os.WriteFile.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// Path is the file written: the path given, its symlinks resolved.
func (f *File) Path() string { return f.path }

// Write writes p; errors name the file written, not a temporary file.
func (f *File) Write(p []byte) (int, error) {
	var n int
	var err error
	if f.pending != nil {
		n, err = f.pending.Write(p)
	} else {
		n, err = f.f.Write(p)
	}
	return n, f.pathErr(err)
}

// Commit makes the output final: a replacement is synced and renamed over
// the path; a file written in place is closed. After a failed Commit the
// old file is still there and the temporary one is gone.
func (f *File) Commit() error {
	if f.done {
		return &fs.PathError{Op: "commit", Path: f.path, Err: fs.ErrClosed}
	}
	f.done = true
	if f.pending == nil {
		return f.pathErr(f.f.Close())
	}
	if err := f.pending.CloseAtomicallyReplace(); err != nil {
		f.pending.Cleanup()
		return f.pathErr(err)
	}
	return nil
}

// Close abandons an uncommitted replacement (the temporary file is removed
// and the old file stays) or closes a file written in place (what was
// written stays). After Commit it does nothing, so it can be deferred.
func (f *File) Close() error {
	if f.done {
		return nil
	}
	f.done = true
	if f.pending != nil {
		return f.pathErr(f.pending.Cleanup())
	}
	return f.pathErr(f.f.Close())
}

// pathErr makes an error about the temporary file name the file written.
func (f *File) pathErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: f.path, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: "replace", Path: f.path, Err: le.Err}
	}
	return err
}

// dest is where a path leads.
type dest struct {
	name   string      // the path as given
	path   string      // the file to write: symlinks resolved, folder real
	info   fs.FileInfo // what is at path (Lstat); nil when nothing is
	linked bool        // name is a symlink to path
}

// String names d for errors: the path given, and the link's target.
func (d dest) String() string {
	if d.linked {
		return fmt.Sprintf("%s (a link to %s)", d.name, d.path)
	}
	return d.name
}

// maxLinks bounds a symlink chain, as Linux's MAXSYMLINKS.
const maxLinks = 40

// resolve follows path's symlinks (the last component's chain; the kernel
// follows those in its folders) to the file to write, which need not exist,
// and checks that its folder does.
func resolve(name string) (dest, error) {
	d := dest{name: name, path: name}
	if name == "" {
		return d, errors.New("empty output file name")
	}
	for range maxLinks {
		fi, err := os.Lstat(d.path)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			return d, d.realFolder()
		case err != nil:
			return d, fmt.Errorf("%s: %w", d, errnoOf(err))
		case fi.Mode()&fs.ModeSymlink == 0:
			d.info = fi
			return d, d.realFolder()
		}
		link, err := os.Readlink(d.path)
		if err != nil {
			return d, fmt.Errorf("%s: %w", d, errnoOf(err))
		}
		d.linked = true
		if filepath.IsAbs(link) {
			d.path = link
		} else {
			// Relative to the link's folder, not cleaned: "x/.." after a
			// symlinked x is the kernel's to resolve, not the lexer's.
			dir, _ := filepath.Split(d.path)
			d.path = dir + link
		}
	}
	return d, fmt.Errorf("%s: %w", name, syscall.ELOOP)
}

// realFolder checks that d's folder exists and rewrites d.path as that
// folder with its symlinks resolved plus the file name, so the temporary
// file lands beside the file that is replaced.
func (d *dest) realFolder() error {
	dir, base := filepath.Split(d.path)
	if base == "" {
		if d.info != nil && d.info.IsDir() {
			return nil // a folder, refused by openInPlace
		}
		return fmt.Errorf("%s: not a file name (it ends in %c)", d, filepath.Separator)
	}
	if dir == "" {
		dir = "."
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return kindError{fmt.Sprintf("%s: folder %s does not exist (create it first)", d, filepath.Clean(dir)), fs.ErrNotExist}
	case errors.Is(err, syscall.ENOTDIR) || err == nil && !fi.IsDir():
		return kindError{fmt.Sprintf("%s: %s is not a folder", d, filepath.Clean(dir)), syscall.ENOTDIR}
	case err != nil:
		return fmt.Errorf("%s: folder %s: %w", d, filepath.Clean(dir), errnoOf(err))
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("%s: folder %s: %w", d, filepath.Clean(dir), errnoOf(err))
	}
	d.path = filepath.Join(realDir, base)
	return nil
}

// openInPlace opens a FIFO or device for writing; other kinds of file are
// refused.
func openInPlace(d dest) (*File, error) {
	if err := refuseKind(d); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(d.path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, errnoOf(err))
	}
	return &File{path: d.path, f: f}, nil
}

// refuseKind refuses what is neither a FIFO nor a device (d is not a
// regular file).
func refuseKind(d dest) error {
	switch m := d.info.Mode(); {
	case m.IsDir():
		return fmt.Errorf("%s is a folder; give a file name", d)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("%s is a socket; cannot write a file there", d)
	case m&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice) == 0:
		return fmt.Errorf("%s is not a file, FIFO or device (%v); cannot write there", d, m.Type())
	}
	return nil
}

// kindError is a message that says it all, carrying its kind (for
// errors.Is) without repeating it.
type kindError struct {
	msg  string
	kind error
}

func (e kindError) Error() string { return e.msg }
func (e kindError) Unwrap() error { return e.kind }

// errnoOf strips the path from a *fs.PathError, for errors that name the
// file themselves.
func errnoOf(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
