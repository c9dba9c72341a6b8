package generate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ResumeError is an output file that the run cannot continue: a line
// that is not a generate line, or one that other options wrote. It
// matches ErrInvalidInput.
type ResumeError struct {
	File string
	Line int
	Msg  string
}

// Error reads "FILE:LINE: what is wrong; the fix".
func (e *ResumeError) Error() string {
	return fmt.Sprintf("%s:%d: %s; to resume, rerun with the options that wrote the file; to start anew, give another output file or remove this one", e.File, e.Line, e.Msg)
}

// Is matches ErrInvalidInput.
func (e *ResumeError) Is(target error) bool { return target == ErrInvalidInput }

// resumeState is what an existing output file holds.
type resumeState struct {
	exists bool  // something is at the path
	items  int   // items (lines) in the file
	next   int   // the request after the last line's
	keep   int64 // bytes of whole lines: the file is cut to this (-1: not a regular file, keep all)
	torn   bool  // the file ended in a torn line, dropped
}

// tornPrefix is how every line Run writes starts; a last line without its
// newline is dropped as torn only when it starts so (or is a start of it),
// never a line of another file.
var tornPrefix = []byte(`{"id":"gen-`)

// resume reads the output file path, when it exists as a regular file:
// it checks that p's options wrote every line, and remembers the sources
// in d.
func resume(path string, p *plan, d *dedup) (resumeState, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return resumeState{}, nil
	case err != nil:
		return resumeState{}, fmt.Errorf("reading %s to resume it: %w", path, err)
	case fi.IsDir():
		return resumeState{}, inputError{fmt.Errorf("%s is a folder; give a file name", path)}
	case !fi.Mode().IsRegular():
		return resumeState{exists: true, keep: -1}, nil // a FIFO or device: written, never read
	}
	f, err := os.Open(path)
	if err != nil {
		return resumeState{}, fmt.Errorf("reading %s to resume it: %w", path, err)
	}
	defer f.Close()
	st := resumeState{exists: true}
	r := bufio.NewReader(f)
	prev := -1
	for n := 1; ; n++ {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				if !bytes.HasPrefix(b, tornPrefix) && !bytes.HasPrefix(tornPrefix, b) {
					return st, &ResumeError{path, n, "the last line is not complete (no newline) and not a generate line"}
				}
				st.torn = true
			}
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("reading %s to resume it: %w", path, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			line, err := p.check(b, path, n, prev)
			if err != nil {
				return st, err
			}
			d.remember(line.Source)
			prev = line.Request
			st.items++
			st.next = line.Request + 1
		}
		st.keep += int64(len(b))
	}
}

// check decodes line n of path and checks that p wrote it, after the line
// for request prev.
func (p *plan) check(b []byte, path string, n, prev int) (Line, error) {
	fail := func(format string, args ...any) (Line, error) {
		return Line{}, &ResumeError{path, n, fmt.Sprintf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Line
	if err := dec.Decode(&l); err != nil {
		return fail("not a line generate writes (%v)", err)
	}
	switch {
	case l.ID != ItemID(l.Request):
		return fail("id %q, want %q for request %d: not a line generate writes", l.ID, ItemID(l.Request), l.Request)
	case l.Request <= prev:
		return fail("request %d after request %d: lines out of order", l.Request, prev)
	case l.Source == "" || l.Reference == "":
		return fail("empty source or reference: not a line generate writes")
	case l.Teacher != p.spec:
		return fail("written by teacher %s, and this run's is %s", l.Teacher, p.spec)
	case l.Checks != p.checks:
		return fail("written with the checks %q, and this run's are %q", l.Checks, p.checks)
	}
	want, err := p.request(l.Request)
	if err != nil {
		return Line{}, err
	}
	switch {
	case l.Prompt != want.Prompt || l.Topic != want.Topic || l.Style != want.Style:
		return fail("request %d was sent another prompt (the instruction, the languages, the topics or the styles differ)", l.Request)
	case l.System != want.System:
		return fail("request %d was sent another system prompt", l.Request)
	}
	got, _ := json.Marshal(l.Params)
	wantP, _ := json.Marshal(want.Params)
	if !bytes.Equal(got, wantP) {
		return fail("request %d was sent the parameters %s, and this run sends %s", l.Request, got, wantP)
	}
	return l, nil
}
