package dataset

import (
	"bytes"
	"encoding/json"
	"io"
)

// textDecoder reads one source per line.
type textDecoder struct {
	lines     *lineReader
	allowJSON bool
	sawText   bool // a non-blank line was checked for JSON
}

func (d *textDecoder) next() (Item, error) {
	b, err := d.lines.next()
	if err != nil {
		return Item{}, err
	}
	line := d.lines.line
	if err := checkTextLine(b, d.lines.name, line, d.allowJSON, &d.sawText); err != nil {
		return Item{}, err
	}
	return Item{ID: lineID(line), Line: line, Source: string(b)}, nil
}

// checkTextLine checks a line of a text file: valid UTF-8, and (until the
// first non-blank line has been seen, unless allowJSON) not a JSON object.
func checkTextLine(b []byte, name string, line int, allowJSON bool, sawText *bool) error {
	if err := checkUTF8(b, name, line, ""); err != nil {
		return err
	}
	if *sawText {
		return nil
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil
	}
	*sawText = true
	if !allowJSON && looksLikeJSONObject(t) {
		return lineErr(name, line, "", ErrLooksLikeJSONL, "the line is a JSON object, not plain text: read the file as JSONL and name the field that holds the text (or read JSON lines as text on purpose)")
	}
	return nil
}

// looksLikeJSONObject reports whether b is one JSON object.
func looksLikeJSONObject(b []byte) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	return json.Valid(b)
}

// parallelDecoder reads a source file and reference files line by line.
type parallelDecoder struct {
	src     *lineReader
	refs    []*lineReader
	allowJS bool
	saw     []bool // per file: the first non-blank line was checked
}

// OpenParallel opens a source text file and one or more reference text
// files that pair up line by line: item i has line i of source as its
// Source and line i of each reference file, in order, as its References;
// its id is "L<i>". At most one name may be "-" (Options.Stdin). Every file
// is read as text (Options.Format and the field names do not apply), and
// streamed: a file with fewer lines than the others is reported
// (CountMismatchError, with both counts) when it ends, after the items
// before.
func OpenParallel(source string, refs []string, opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	if len(refs) == 0 {
		return nil, lineErr(source, 0, "", ErrMissingField, "no reference file given; give at least one")
	}
	stdinUsers := 0
	for _, n := range append([]string{source}, refs...) {
		if n == Stdin {
			stdinUsers++
		}
	}
	if stdinUsers > 1 {
		return nil, &Error{File: Stdin, Msg: "standard input (-) can stand for only one of the input files; give the others as files", Kind: ErrNoFile}
	}
	r := &Reader{name: source}
	open := func(name string) (*lineReader, error) {
		f, err := openFile(name, opts.Stdin)
		if err != nil {
			r.Close()
			return nil, err
		}
		if c, ok := f.(io.Closer); ok && name != Stdin {
			r.closers = append(r.closers, c)
		}
		return newLineReader(f, name, opts.MaxRecordBytes), nil
	}
	d := &parallelDecoder{allowJS: opts.AllowJSONText, saw: make([]bool, len(refs)+1)}
	var err error
	if d.src, err = open(source); err != nil {
		return nil, err
	}
	for _, name := range refs {
		lr, err := open(name)
		if err != nil {
			return nil, err
		}
		d.refs = append(d.refs, lr)
	}
	r.dec = d
	return r, nil
}

func (d *parallelDecoder) next() (Item, error) {
	b, err := d.src.next()
	if err != nil && err != io.EOF {
		return Item{}, err
	}
	if err == io.EOF {
		// The source has ended: so must every reference file.
		for _, rl := range d.refs {
			n, err := rl.countRest()
			if err != nil {
				return Item{}, err
			}
			if n > 0 {
				return Item{}, &CountMismatchError{File: d.src.name, Count: d.src.line, OtherFile: rl.name, OtherCount: rl.line + n}
			}
		}
		return Item{}, io.EOF
	}
	line := d.src.line
	if err := checkTextLine(b, d.src.name, line, d.allowJS, &d.saw[0]); err != nil {
		return Item{}, err
	}
	it := Item{ID: lineID(line), Line: line, Source: string(b), References: make([]string, len(d.refs))}
	for k, rl := range d.refs {
		rb, err := rl.next()
		if err == io.EOF {
			n, err := d.src.countRest()
			if err != nil {
				return Item{}, err
			}
			return Item{}, &CountMismatchError{File: d.src.name, Count: line + n, OtherFile: rl.name, OtherCount: rl.line}
		}
		if err != nil {
			return Item{}, err
		}
		if err := checkTextLine(rb, rl.name, rl.line, d.allowJS, &d.saw[k+1]); err != nil {
			return Item{}, err
		}
		it.References[k] = string(rb)
	}
	return it, nil
}
