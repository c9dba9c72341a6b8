package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// lineReader reads a file line by line in bounded memory: a UTF-8
// byte-order mark at the very start is dropped, a line is returned without
// its "\n" and one "\r" before it (or at the end of the file), and a final
// newline starts no line. A line longer than max bytes is an error, never a partial line.
type lineReader struct {
	br   *bufio.Reader
	buf  []byte // the line being assembled when it spans bufio's buffer
	name string // the file's name, for errors
	line int    // the number of the line last returned
	max  int
}

func newLineReader(r io.Reader, name string, max int) *lineReader {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		br.Discard(3)
	}
	return &lineReader{br: br, name: name, max: max}
}

// next returns the next line, valid until the next call, or io.EOF.
func (l *lineReader) next() ([]byte, error) {
	var b []byte
	l.buf = l.buf[:0]
	for {
		frag, err := l.br.ReadSlice('\n')
		switch {
		case err == nil && len(l.buf) == 0:
			b = frag // the whole line is in bufio's buffer: no copy
		case err == nil || err == bufio.ErrBufferFull || err == io.EOF:
			l.buf = append(l.buf, frag...)
			b = l.buf
		default:
			return nil, fmt.Errorf("reading %s: %w", DisplayName(l.name), err)
		}
		if len(b) > l.max+2 { // room for "\r\n"
			return nil, l.tooLong()
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(b) == 0 {
			return nil, io.EOF
		}
		break
	}
	l.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if len(b) > l.max {
		l.line--
		return nil, l.tooLong()
	}
	return b, nil
}

func (l *lineReader) tooLong() error {
	return lineErr(l.name, l.line+1, "", ErrTooLong, "the line is longer than %s, the most one record may hold; split it", sizeString(l.max))
}

// countRest counts the lines left (as next would return them), without
// holding them or bounding their length.
func (l *lineReader) countRest() (int, error) {
	n, inLine := 0, false
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(frag) > 0 {
			inLine = true
		}
		switch err {
		case nil:
			n, inLine = n+1, false
		case bufio.ErrBufferFull: // the line goes on
		case io.EOF:
			if inLine {
				n++
			}
			return n, nil
		default:
			return n, fmt.Errorf("reading %s: %w", DisplayName(l.name), err)
		}
	}
}

// checkUTF8 returns an error naming line if b is not valid UTF-8; field
// names the field or column, "" for a whole line.
func checkUTF8(b []byte, name string, line int, field string) error {
	if utf8.Valid(b) {
		return nil
	}
	where := "in the line"
	if field != "" {
		where = fmt.Sprintf("in %q", field)
	}
	return lineErr(name, line, field, ErrInvalidUTF8, "not valid UTF-8 (byte offset %d %s); convert the file to UTF-8, e.g. with iconv", invalidOffset(b), where)
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

// sizeString writes n bytes for people: "16 MiB", "4 KiB", "100 bytes".
func sizeString(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
