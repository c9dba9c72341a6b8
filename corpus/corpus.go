// Package corpus reads the line-oriented text files bertbench scores: one
// sentence per line, in UTF-8.
//
// The rules are strict so that no sentence is ever lost or invented: an empty
// line is an empty sentence (it is kept, and scores 0), a final newline does
// not start another sentence, "\r\n" line endings are accepted (the "\r" is
// dropped), a UTF-8 byte-order mark at the very start is dropped, and a line
// that is not valid UTF-8 is an error naming the file and the line.
package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Stdin is the file name that stands for standard input.
const Stdin = "-"

// ErrInvalidUTF8 is wrapped by the error for a line that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("not valid UTF-8")

// LineError reports a problem with one line of an input file.
type LineError struct {
	File string // the name the file was given by (Stdin for standard input)
	Line int    // 1-based
	Err  error
}

func (e *LineError) Error() string {
	name := e.File
	if name == Stdin {
		name = "standard input"
	}
	return fmt.Sprintf("%s:%d: %v", name, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// CountMismatchError reports that two files that must pair up line by line
// hold different numbers of sentences.
type CountMismatchError struct {
	File, OtherFile   string
	Count, OtherCount int
}

func (e *CountMismatchError) Error() string {
	return fmt.Sprintf("%s has %d lines but %s has %d: the candidate and reference files must pair up line by line (one sentence per line; an empty line is an empty sentence)",
		displayName(e.File), e.Count, displayName(e.OtherFile), e.OtherCount)
}

func displayName(name string) string {
	if name == Stdin {
		return "standard input"
	}
	return name
}

// Read reads every sentence from r. name is used in error messages only.
func Read(r io.Reader, name string) ([]string, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	var out []string
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && err == io.EOF {
			return out, nil
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading %s: %w", displayName(name), err)
		}
		b = bytes.TrimSuffix(b, []byte{'\n'})
		b = bytes.TrimSuffix(b, []byte{'\r'})
		if !utf8.Valid(b) {
			return nil, &LineError{File: name, Line: line, Err: fmt.Errorf("%w (byte offset %d in the line); convert the file to UTF-8, e.g. with iconv", ErrInvalidUTF8, invalidOffset(b))}
		}
		out = append(out, string(b))
		if err == io.EOF {
			return out, nil
		}
	}
}

// invalidOffset returns the offset of the first byte that is not part of a
// valid UTF-8 sequence.
func invalidOffset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// ReadFile reads every sentence from the named file; Stdin ("-") reads stdin.
func ReadFile(name string, stdin io.Reader) ([]string, error) {
	if name == Stdin {
		if stdin == nil {
			return nil, errors.New("standard input is not available")
		}
		return Read(stdin, name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, name)
}

// Pairs reads a candidate file and one or more reference files that pair up
// with it line by line. It returns the candidates and, per candidate, its
// references in the order the files were given. At most one of the names
// may be Stdin.
func Pairs(candFile string, refFiles []string, stdin io.Reader) (cands []string, refs [][]string, err error) {
	if len(refFiles) == 0 {
		return nil, nil, errors.New("no reference file given")
	}
	stdinUsers := 0
	for _, n := range append([]string{candFile}, refFiles...) {
		if n == Stdin {
			stdinUsers++
		}
	}
	if stdinUsers > 1 {
		return nil, nil, errors.New("standard input (-) can stand for only one of the input files")
	}
	cands, err = ReadFile(candFile, stdin)
	if err != nil {
		return nil, nil, err
	}
	refs = make([][]string, len(cands))
	for _, rf := range refFiles {
		rs, err := ReadFile(rf, stdin)
		if err != nil {
			return nil, nil, err
		}
		if len(rs) != len(cands) {
			return nil, nil, &CountMismatchError{File: candFile, Count: len(cands), OtherFile: rf, OtherCount: len(rs)}
		}
		for i, r := range rs {
			refs[i] = append(refs[i], r)
		}
	}
	return cands, refs, nil
}
