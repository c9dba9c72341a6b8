//go:build unix

package outfile

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// umask is the process's umask (read by setting it and setting it back).
func umask() fs.FileMode {
	m := unix.Umask(0)
	unix.Umask(m)
	return fs.FileMode(m)
}

// write writes "new\n" to path through open (Create or Stream) and
// commits.
func write(open func(string, fs.FileMode) (*File, error), path string) error {
	f, err := open(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.WriteString(f, "new\n"); err != nil {
		return err
	}
	return f.Commit()
}

func mustWrite(t *testing.T, path, data string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func mustLink(t *testing.T, to, link string) {
	t.Helper()
	if err := os.Symlink(to, link); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path, data string, perm fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want a regular file with %v", path, st.Mode(), perm)
	}
	if got, _ := os.ReadFile(path); string(got) != data {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
}

func wantLink(t *testing.T, link, to string) {
	t.Helper()
	if got, err := os.Readlink(link); err != nil || got != to {
		t.Errorf("%s is no longer a link to %s: %q, %v", link, to, got, err)
	}
}

// noLeftovers fails if a temporary file is left anywhere under dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && p != dir {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

// readFIFO reads everything written to the FIFO at path, in a goroutine.
func readFIFO(path string) <-chan string {
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		got <- string(data)
	}()
	return got
}

// mknodNull makes a character device like /dev/null at path, or skips the
// test saying why it cannot.
func mknodNull(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("making a character device needs root (running as uid %d); the device case is not tested", os.Geteuid())
	}
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod %s: %v (no CAP_MKNOD here); the device case is not tested", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("a device made in %s cannot be opened (%v; the folder is likely on a nodev mount); the device case is not tested", filepath.Dir(path), err)
	}
	f.Close()
}

// target is a kind of path an output can name: how to make it, and what
// writing it must do.
type target struct {
	name    string
	setup   func(t *testing.T, dir string) string // makes the scene, returns the path to write
	wantErr []string                              // substrings of the error; none: success
	wantIs  error                                 // what the error is, where it matters
	check   func(t *testing.T, dir string)
	fifo    bool // the path is a FIFO: read it while writing
}

// targets lists every kind of path an output can name.
func targets() []target {
	newPerm := 0o644 &^ umask()
	return []target{
		{
			name:  "missing file",
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "out.txt") },
			check: func(t *testing.T, dir string) { wantFile(t, filepath.Join(dir, "out.txt"), "new\n", newPerm) },
		},
		{
			name: "regular file keeps its mode",
			setup: func(t *testing.T, dir string) string {
				mustWrite(t, filepath.Join(dir, "out.txt"), "old contents\n", 0o600)
				return filepath.Join(dir, "out.txt")
			},
			check: func(t *testing.T, dir string) { wantFile(t, filepath.Join(dir, "out.txt"), "new\n", 0o600) },
		},
		{
			name: "symlink: target written, link kept",
			setup: func(t *testing.T, dir string) string {
				mustWrite(t, filepath.Join(dir, "target.txt"), "old\n", 0o644)
				mustLink(t, "target.txt", filepath.Join(dir, "link"))
				return filepath.Join(dir, "link")
			},
			check: func(t *testing.T, dir string) {
				wantLink(t, filepath.Join(dir, "link"), "target.txt")
				wantFile(t, filepath.Join(dir, "target.txt"), "new\n", 0o644)
			},
		},
		{
			name: "dangling symlink: target created",
			setup: func(t *testing.T, dir string) string {
				mustLink(t, filepath.Join(dir, "new.txt"), filepath.Join(dir, "link"))
				return filepath.Join(dir, "link")
			},
			check: func(t *testing.T, dir string) {
				wantLink(t, filepath.Join(dir, "link"), filepath.Join(dir, "new.txt"))
				wantFile(t, filepath.Join(dir, "new.txt"), "new\n", newPerm)
			},
		},
		{
			name: "chain of symlinks",
			setup: func(t *testing.T, dir string) string {
				mustWrite(t, filepath.Join(dir, "c.txt"), "old\n", 0o644)
				mustLink(t, "c.txt", filepath.Join(dir, "b"))
				mustLink(t, "b", filepath.Join(dir, "a"))
				return filepath.Join(dir, "a")
			},
			check: func(t *testing.T, dir string) {
				wantLink(t, filepath.Join(dir, "a"), "b")
				wantLink(t, filepath.Join(dir, "b"), "c.txt")
				wantFile(t, filepath.Join(dir, "c.txt"), "new\n", 0o644)
			},
		},
		{
			// link -> sub/../t.txt where sub is a link to deep/er: the
			// kernel's "..", taken after sub, is deep, not dir.
			name: "symlink with .. after a symlinked folder",
			setup: func(t *testing.T, dir string) string {
				if err := os.MkdirAll(filepath.Join(dir, "deep", "er"), 0o755); err != nil {
					t.Fatal(err)
				}
				mustLink(t, filepath.Join("deep", "er"), filepath.Join(dir, "sub"))
				mustLink(t, "sub/../t.txt", filepath.Join(dir, "link")) // not Join: it would clean the ".." away
				return filepath.Join(dir, "link")
			},
			check: func(t *testing.T, dir string) {
				wantFile(t, filepath.Join(dir, "deep", "t.txt"), "new\n", newPerm)
				if _, err := os.Lstat(filepath.Join(dir, "t.txt")); err == nil {
					t.Errorf("wrote %s, the lexical reading of the link", filepath.Join(dir, "t.txt"))
				}
			},
		},
		{
			name: "FIFO written in place",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "pipe")
				if err := unix.Mkfifo(p, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			},
			fifo: true,
			check: func(t *testing.T, dir string) {
				if st, err := os.Lstat(filepath.Join(dir, "pipe")); err != nil || st.Mode().Type() != fs.ModeNamedPipe {
					t.Errorf("the FIFO was replaced: %v %v", st.Mode(), err)
				}
			},
		},
		{
			name: "symlink to a FIFO",
			setup: func(t *testing.T, dir string) string {
				if err := unix.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
					t.Fatal(err)
				}
				mustLink(t, "pipe", filepath.Join(dir, "stdout"))
				return filepath.Join(dir, "stdout")
			},
			fifo: true,
			check: func(t *testing.T, dir string) {
				wantLink(t, filepath.Join(dir, "stdout"), "pipe")
				if st, err := os.Lstat(filepath.Join(dir, "pipe")); err != nil || st.Mode().Type() != fs.ModeNamedPipe {
					t.Errorf("the FIFO was replaced: %v %v", st.Mode(), err)
				}
			},
		},
		{
			name: "character device written in place",
			setup: func(t *testing.T, dir string) string {
				mknodNull(t, filepath.Join(dir, "null"))
				return filepath.Join(dir, "null")
			},
			check: func(t *testing.T, dir string) {
				st, err := os.Lstat(filepath.Join(dir, "null"))
				if err != nil || st.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
					t.Fatalf("the device was replaced: %v %v", st.Mode(), err)
				}
				if rdev := st.Sys().(*syscall.Stat_t).Rdev; rdev != unix.Mkdev(1, 3) {
					t.Errorf("device number %#x, want 1:3", rdev)
				}
			},
		},
		{
			name: "socket refused",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "sock")
				l, err := net.Listen("unix", p)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				return p
			},
			wantErr: []string{"sock is a socket"},
			check: func(t *testing.T, dir string) {
				if st, err := os.Lstat(filepath.Join(dir, "sock")); err != nil || st.Mode().Type() != fs.ModeSocket {
					t.Errorf("the socket was replaced: %v %v", st.Mode(), err)
				}
			},
		},
		{
			name: "folder refused",
			setup: func(t *testing.T, dir string) string {
				os.Mkdir(filepath.Join(dir, "results"), 0o755)
				return filepath.Join(dir, "results")
			},
			wantErr: []string{"results is a folder"},
		},
		{
			name:    "name ending in a slash refused",
			setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "new") + "/" },
			wantErr: []string{"not a file name"},
		},
		{
			name:    "missing folder named",
			setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "no", "such", "out.txt") },
			wantErr: []string{"folder ", filepath.Join("no", "such") + " does not exist (create it first)"},
			wantIs:  fs.ErrNotExist,
		},
		{
			name: "dangling symlink into a missing folder",
			setup: func(t *testing.T, dir string) string {
				mustLink(t, filepath.Join("gone", "out.txt"), filepath.Join(dir, "link"))
				return filepath.Join(dir, "link")
			},
			wantErr: []string{"link (a link to ", "folder ", "gone does not exist"},
		},
		{
			name: "file where a folder should be",
			setup: func(t *testing.T, dir string) string {
				mustWrite(t, filepath.Join(dir, "file"), "x", 0o644)
				return filepath.Join(dir, "file", "out.txt")
			},
			wantErr: []string{"file is not a folder"},
			wantIs:  syscall.ENOTDIR,
		},
		{
			name: "symlink loop",
			setup: func(t *testing.T, dir string) string {
				mustLink(t, "b", filepath.Join(dir, "a"))
				mustLink(t, "a", filepath.Join(dir, "b"))
				return filepath.Join(dir, "a")
			},
			wantErr: []string{"too many levels of symbolic links"},
		},
	}
}

// TestTargets runs Create and Stream over every kind of path an output
// can name.
func TestTargets(t *testing.T) {
	tests := targets()
	opens := []struct {
		name string
		open func(string, fs.FileMode) (*File, error)
	}{{"Create", Create}, {"Stream", Stream}}
	for _, op := range opens {
		for _, tc := range tests {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				path := tc.setup(t, dir)
				var got <-chan string
				if tc.fifo {
					got = readFIFO(path)
				}
				done := make(chan error, 1)
				go func() { done <- write(op.open, path) }()
				var err error
				select {
				case err = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("writing did not finish in 30 s")
				}
				if len(tc.wantErr) == 0 && err != nil {
					t.Fatalf("error: %v", err)
				}
				if len(tc.wantErr) > 0 {
					if err == nil {
						t.Fatalf("no error; want one with %q", tc.wantErr)
					}
					for _, w := range tc.wantErr {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q lacks %q", err, w)
						}
					}
					if strings.Contains(err.Error(), "/.") {
						t.Errorf("error %q names a temporary file", err)
					}
					if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
						t.Errorf("error %q is not %v", err, tc.wantIs)
					}
				}
				if tc.fifo {
					select {
					case data := <-got:
						if data != "new\n" {
							t.Errorf("the FIFO's reader got %q", data)
						}
					case <-time.After(30 * time.Second):
						t.Fatal("the FIFO's reader got nothing in 30 s")
					}
				}
				if tc.check != nil {
					tc.check(t, dir)
				}
				noLeftovers(t, dir)
			})
		}
	}
}

// TestCreateIsAtomic: until Commit the old file stays whole; Close without
// Commit abandons the new contents and leaves no temporary file.
func TestCreateIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	mustWrite(t, path, "old\n", 0o644)

	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "half"); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "old\n", 0o644)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "old\n", 0o644)
	noLeftovers(t, dir)

	if err := WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "new\n", 0o644) // an existing file keeps its mode
	noLeftovers(t, dir)
}

// TestCommitFailure: a Commit that cannot rename (a folder took the
// file's place) says so about the file, not the temporary one, and leaves
// no temporary file.
func TestCommitFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "new\n")
	err = f.Commit()
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "/.") {
		t.Fatalf("Commit error %v; want one naming %s", err, path)
	}
	if f.Commit() == nil {
		t.Error("a second Commit succeeded")
	}
	os.Remove(path)
	noLeftovers(t, dir)
}

// TestStreamWritesInPlace: Stream truncates a regular file and writes the
// same file (same inode), every write visible at once; Close keeps it.
func TestStreamWritesInPlace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	mustWrite(t, path, "an older, longer run\n", 0o600)
	before, _ := os.Stat(path)

	f, err := Stream(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "line 1\n"); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, "line 1\n", 0o600)
	if err := f.Close(); err != nil { // interrupted: no Commit
		t.Fatal(err)
	}
	wantFile(t, path, "line 1\n", 0o600)
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("Stream replaced the file instead of writing it in place")
	}
	noLeftovers(t, dir)
}

// TestAppend: Append writes after what a regular file holds (the same
// inode, every write visible at once), first cutting it to the length the
// caller kept; a missing file is created, a symlink's target appended to,
// a FIFO written in place, and a folder refused.
func TestAppend(t *testing.T) {
	newPerm := 0o644 &^ umask()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) string
		keep    int64
		want    string // what dir/out.jsonl (or the FIFO's reader) ends with
		perm    fs.FileMode
		fifo    bool
		wantErr string
	}{
		{name: "missing file", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "out.jsonl") },
			keep: 0, want: "new\n", perm: newPerm},
		{name: "regular file", setup: func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "out.jsonl"), "line 1\n", 0o600)
			return filepath.Join(dir, "out.jsonl")
		}, keep: -1, want: "line 1\nnew\n", perm: 0o600},
		{name: "torn last line cut", setup: func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "out.jsonl"), "line 1\nline 2 ha", 0o644)
			return filepath.Join(dir, "out.jsonl")
		}, keep: 7, want: "line 1\nnew\n", perm: 0o644},
		{name: "symlink: target appended", setup: func(t *testing.T, dir string) string {
			mustWrite(t, filepath.Join(dir, "out.jsonl"), "line 1\n", 0o644)
			mustLink(t, "out.jsonl", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		}, keep: -1, want: "line 1\nnew\n", perm: 0o644},
		{name: "FIFO", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "pipe")
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, keep: 0, want: "new\n", fifo: true},
		{name: "folder refused", setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "results"), 0o755)
			return filepath.Join(dir, "results")
		}, keep: 0, wantErr: "results is a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			var got <-chan string
			if tc.fifo {
				got = readFIFO(path)
			}
			before, _ := os.Stat(filepath.Join(dir, "out.jsonl"))
			f, err := Append(path, 0o644, tc.keep)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(f, "new\n"); err != nil {
				t.Fatal(err)
			}
			if !tc.fifo {
				wantFile(t, filepath.Join(dir, "out.jsonl"), tc.want, tc.perm) // visible before Close
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.fifo {
				if data := <-got; data != tc.want {
					t.Errorf("the FIFO's reader got %q, want %q", data, tc.want)
				}
				return
			}
			wantFile(t, filepath.Join(dir, "out.jsonl"), tc.want, tc.perm)
			if after, _ := os.Stat(filepath.Join(dir, "out.jsonl")); before != nil && !os.SameFile(before, after) {
				t.Error("Append replaced the file instead of writing it in place")
			}
			noLeftovers(t, dir)
		})
	}
}

// TestWriteErrorNamesTheFile: a failed write names the file written, not
// the temporary file.
func TestWriteErrorNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.pending.File.Close() // make the next write fail
	_, err = f.Write([]byte("x"))
	if !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "/.") {
		t.Errorf("write error %v; want one naming %s", err, path)
	}
	f.Close()
	noLeftovers(t, dir)
}

// TestCheck: Check fails exactly where Create would, with the same
// message, and leaves every scene as it was (no file made, no FIFO opened,
// no temporary file left).
func TestCheck(t *testing.T) {
	for _, tc := range targets() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before := snapshot(t, dir)
			done := make(chan error, 1)
			go func() { done <- Check(path) }() // a FIFO with no reader must not block it
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Check did not return in 30 s")
			}
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("Check: %v; Create would succeed", err)
			}
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Check: no error; want one with %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("error %q is not %v", err, tc.wantIs)
				}
				if _, cerr := Create(path, 0o644); cerr == nil || cerr.Error() != err.Error() {
					t.Errorf("Create says %v; Check said %q", cerr, err)
				}
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("Check changed the folder:\n%s\nthen\n%s", before, after)
			}
		})
	}
}

// TestCheckUnwritable: a folder that cannot take a new file, and a FIFO
// that cannot be opened for writing, fail Check (as they would Create).
func TestCheckUnwritable(t *testing.T) {
	dir := t.TempDir()
	t.Run("folder", func(t *testing.T) {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			// Root writes any folder; sysfs takes no new file even from root.
			if runtime.GOOS != "linux" {
				t.Skip("running as root off Linux: no folder refuses root here; the case is not tested")
			}
			ro = "/sys"
		}
		err := Check(filepath.Join(ro, "out.txt"))
		if err == nil || !strings.Contains(err.Error(), "cannot create a file in folder "+ro) {
			t.Errorf("Check = %v; want an error naming the folder %s", err, ro)
		}
	})
	t.Run("FIFO", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root, who may write any FIFO; the case is not tested")
		}
		fifo := filepath.Join(dir, "pipe")
		if err := unix.Mkfifo(fifo, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := Check(fifo); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("Check = %v; want permission denied", err)
		}
	})
	noLeftovers(t, dir)
}

// snapshot describes everything under dir: names, kinds and contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + d.Type().String())
		if d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}
