//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side (what a
// process's stderr is in an interactive shell) and its controller side.
func openPTY(t *testing.T) (tty, ptmx *os.File) {
	t.Helper()
	return openPTYTo(t, io.Discard)
}

// openPTYTo is openPTY copying what the terminal shows to sink.
func openPTYTo(t *testing.T, sink io.Writer) (tty, ptmx *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("a pseudo-terminal is needed for this test: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	go io.Copy(sink, ptmx) // drain what the bar draws
	return tty, ptmx
}

// TestProgressOnlyOnATerminal: the progress bar is drawn only when stderr
// is a terminal and the input is long; never into a pipe, file or buffer.
func TestProgressOnlyOnATerminal(t *testing.T) {
	tty, _ := openPTY(t)
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		name  string
		w     io.Writer
		pairs int
		want  bool
	}{
		{"terminal, long input", tty, 1000, true},
		{"terminal, short input", tty, progressMinPairs - 1, false},
		{"regular file", file, 1000, false},
		{"pipe", pw, 1000, false},
		{"buffer", &bytes.Buffer{}, 1000, false},
	} {
		bar := newProgress(tc.w, tc.pairs)
		if (bar != nil) != tc.want {
			t.Errorf("%s: bar %v, want %v", tc.name, bar != nil, tc.want)
		}
	}
	if st, _ := file.Stat(); st.Size() != 0 {
		t.Errorf("%d bytes written to a regular file", st.Size())
	}
}
