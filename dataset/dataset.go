// Package dataset reads the items bertbench works on, one at a time and in
// memory that does not grow with the file: each item has a stable id, a
// source text and any number of references.
//
// # Formats
//
// Open picks the format from the file name (Options.Format overrides it):
//
//   - text (*.txt and anything else, and standard input): one source per
//     line. An empty line is an empty source (kept), a final newline starts
//     no line, "\r\n" is accepted (the "\r" dropped), a UTF-8 byte-order mark
//     at the very start is dropped, a line that is not valid UTF-8 is an
//     error naming the file and line. A text file whose first non-blank line
//     is a JSON object is refused (ErrLooksLikeJSONL: read it as JSONL and
//     name the text field) unless Options.AllowJSONText is set.
//   - JSONL (*.jsonl, *.ndjson): one JSON object per line; blank lines hold
//     no record and are skipped; a byte-order mark on the first line and
//     spaces around the object are dropped. A key given twice in one object
//     is an error (which one was meant is unknowable).
//   - CSV (*.csv, RFC 4180: fields may be quoted, a quoted field may span
//     lines) and TSV (*.tsv: fields split on tabs, no quoting, so a field
//     holds no tab or newline): a header row names the columns; every row
//     has as many fields as the header. Blank lines hold no record and are
//     skipped, except in a file of one column, where a blank line would be
//     an empty value that encoding/csv drops: there it is an error (write
//     the value as "" in CSV, or read a one-column file as text).
//
// OpenParallel reads a source text file and reference text files side by
// side, line i of each reference file a reference for line i of the
// source; files that do not have the same number of lines are an error
// naming both files and both counts (CountMismatchError).
//
// # Fields
//
// JSONL fields and CSV/TSV columns are named by Options (defaults in
// brackets):
//
//   - the id [id]: a JSON string or number (a number's id is its text as
//     written, so 12345678901234567891 and 1.50 stay exact), or a CSV/TSV
//     cell; it must not be empty. null, or no id field, gives the item a
//     derived id (below).
//   - the source [source]: a JSON string, or a cell; required.
//   - the references [every field or column named "reference" or
//     "reference" followed by digits, in that order (reference, reference1,
//     reference2, ..., reference10); in JSONL also "references", an array
//     of strings, which must not come with "reference" fields]: strings.
//     With Options.ReferenceFields set, exactly those fields, each required
//     (a JSONL field may be a string or an array of strings).
//
// Other fields are ignored, or kept as text in Item.Extra with
// Options.Extra.
//
// # Ids
//
// An item's id is the id its record gives. An item without one gets
// "L<line>", its line in the file (text files, parallel files, JSONL and
// CSV/TSV without an id), or "L<n>" from the field Options.LineField names
// (a results file written out of order carries its input's line, e.g.
// translate's "line"). Ids are strings: the JSON number 7 and the string
// "7" are the same id. Ids are unique within a file: a second item with an
// id already seen, given or derived, is an error naming both lines
// (ErrDuplicateID). The set of given ids is kept to check this (about the
// size of the ids themselves); derived ids from lines need one bit a line.
//
// # Errors
//
// Every input error is an *Error (or a *CountMismatchError) whose message
// is one line, "FILE:LINE: what is wrong, and the fix", and which matches
// ErrInvalidInput and its kind (ErrInvalidUTF8, ErrMissingField, ...) with
// errors.Is. A failing read of an open file is not an input error. After
// an error a Reader returns that error again.
//
// # Examples
//
//	r, err := dataset.Open("wmt.jsonl", dataset.Options{})
//	if err != nil {
//		return err
//	}
//	defer r.Close()
//	for it, err := range r.All() {
//		if err != nil {
//			return err
//		}
//		fmt.Println(it.ID, it.Source, it.References)
//	}
//
// Candidates from a translate results file, keyed by id (or input line):
//
//	r, err := dataset.Open("run.jsonl", dataset.Options{SourceField: "output", LineField: "line"})
package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stdin is the file name that stands for standard input.
const Stdin = "-"

// DefaultMaxRecordBytes is the default Options.MaxRecordBytes: 16 MiB.
const DefaultMaxRecordBytes = 16 << 20

// Default field and column names.
const (
	DefaultIDField        = "id"
	DefaultSourceField    = "source"
	DefaultReferenceField = "reference"
	// DefaultReferencesField is the JSONL field holding an array of
	// references.
	DefaultReferencesField = "references"
)

// Format is an input file format.
type Format string

// The formats. Auto picks one from the file name (FormatOf).
const (
	Auto  Format = ""
	Text  Format = "text"
	JSONL Format = "jsonl"
	CSV   Format = "csv"
	TSV   Format = "tsv"
)

// Formats lists the formats ParseFormat accepts, for flag help.
var Formats = []string{"auto", string(Text), string(JSONL), string(CSV), string(TSV)}

// ParseFormat reads a format name as a flag gives it: auto (or ""), text,
// jsonl, csv or tsv.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "auto", Auto:
		return Auto, nil
	case Text, JSONL, CSV, TSV:
		return f, nil
	}
	return Auto, fmt.Errorf("unknown format %q: want %s", s, strings.Join(Formats, ", "))
}

// FormatOf is the format of a file by its name: JSONL for *.jsonl and
// *.ndjson, CSV for *.csv, TSV for *.tsv (in any case), Text otherwise,
// and for standard input.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return JSONL
	case ".csv":
		return CSV
	case ".tsv":
		return TSV
	}
	return Text
}

// Options say how to read a file. The zero value reads by the file name's
// format with the default field names.
type Options struct {
	// Format is the file's format. Default (Auto): FormatOf the name.
	Format Format

	// IDField names the id field (JSONL) or column (CSV/TSV). Default "id".
	IDField string
	// SourceField names the field or column holding the item's text: a
	// dataset's source, a results file's "output". Default "source".
	SourceField string
	// ReferenceFields name the reference fields or columns, in order; each
	// must be present. nil: the defaults (see the package documentation);
	// empty but not nil: no references.
	ReferenceFields []string
	// RequireReferences makes an item without a reference an error.
	RequireReferences bool
	// LineField names a field (JSONL) or column holding the item's 1-based
	// line in an earlier input, which then gives items without an id their
	// id ("L<n>"). Every record must have it. Default: none (an item's own
	// line gives its id).
	LineField string
	// Extra keeps the fields and columns not named above in Item.Extra.
	Extra bool
	// AllowJSONText reads a text file whose lines are JSON objects as
	// plain text instead of refusing it.
	AllowJSONText bool

	// Stdin is what the name "-" reads. Default: none ("-" is an error).
	Stdin io.Reader
	// MaxRecordBytes bounds one line (one record, for CSV). Default
	// DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// withDefaults fills in the defaults.
func (o Options) withDefaults() Options {
	if o.IDField == "" {
		o.IDField = DefaultIDField
	}
	if o.SourceField == "" {
		o.SourceField = DefaultSourceField
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	return o
}

// Item is one item of a dataset.
type Item struct {
	// ID is the item's id: given by the record, else derived ("L<line>").
	// Unique within the file.
	ID string
	// IDJSON is a given id as JSON, for writing it back unchanged: a JSONL
	// id exactly as written (a number stays a number, however large), a
	// CSV/TSV id as a JSON string. nil when the id is derived.
	IDJSON json.RawMessage
	// Line is the 1-based line of the file where the item's record starts.
	Line int
	// Source is the item's text (the field Options.SourceField names).
	Source string
	// References are the item's references, in field order.
	References []string
	// Extra holds the other fields and columns when Options.Extra is set:
	// CSV/TSV cells and JSON strings as their text, other JSON values as
	// JSON. nil otherwise.
	Extra map[string]string
}

// IDGiven reports whether the item's id came from its record rather than
// from its line.
func (it Item) IDGiven() bool { return it.IDJSON != nil }

// decoder yields a format's items; io.EOF at the end.
type decoder interface {
	next() (Item, error)
}

// Reader reads items from a file, one at a time. It is not safe for
// concurrent use.
type Reader struct {
	name    string
	dec     decoder
	closers []io.Closer
	columns []string
	err     error // sticky: returned again by every later Next
}

// Open opens the file path ("-" is Options.Stdin) for reading items. A
// CSV/TSV header is read and checked here, so a missing column fails Open.
func Open(path string, opts Options) (*Reader, error) {
	f, err := openFile(path, opts.Stdin)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, path, opts)
	if path == Stdin {
		return r, err // standard input is the caller's to close
	}
	c := f.(*os.File)
	if err != nil {
		c.Close()
		return nil, err
	}
	r.closers = append(r.closers, c)
	return r, nil
}

// NewReader reads items from rd; name (its file name) picks the format
// when Options.Format is Auto and names the file in errors.
func NewReader(rd io.Reader, name string, opts Options) (*Reader, error) {
	return newReader(rd, name, opts)
}

func newReader(rd io.Reader, name string, opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	format := opts.Format
	if format == Auto {
		format = FormatOf(name)
		if name == Stdin {
			format = Text
		}
	}
	r := &Reader{name: name}
	switch format {
	case Text:
		if opts.RequireReferences || len(opts.ReferenceFields) > 0 {
			return nil, lineErr(name, 0, "", ErrMissingField, "a text file holds no references; give reference files beside it, or a JSONL, CSV or TSV file with reference fields")
		}
		r.dec = &textDecoder{lines: newLineReader(rd, name, opts.MaxRecordBytes), allowJSON: opts.AllowJSONText}
	case JSONL:
		r.dec = newJSONLDecoder(rd, name, opts)
	case CSV, TSV:
		d, err := newTableDecoder(rd, name, format, opts)
		if err != nil {
			return nil, err
		}
		r.dec, r.columns = d, d.header
	default:
		return nil, fmt.Errorf("dataset: unknown format %q", format)
	}
	return r, nil
}

// Next returns the next item, or io.EOF after the last one.
func (r *Reader) Next() (Item, error) {
	if r.err != nil {
		return Item{}, r.err
	}
	it, err := r.dec.next()
	if err != nil {
		r.err = err
	}
	return it, err
}

// All returns the items as a sequence; it ends after the last item or
// after the first error, which it yields with a zero Item.
func (r *Reader) All() iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for {
			it, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(it, err) || err != nil {
				return
			}
		}
	}
}

// Columns are a CSV/TSV file's column names, from its header; nil for the
// other formats.
func (r *Reader) Columns() []string { return r.columns }

// Name is the file's name as given.
func (r *Reader) Name() string { return r.name }

// Close closes the files the Reader opened (never standard input).
func (r *Reader) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// ReadAll reads every item of the file path: Open, then Next to the end.
func ReadAll(path string, opts Options) ([]Item, error) {
	r, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return collect(r)
}

// ReadAllParallel reads every item of parallel files: OpenParallel, then
// Next to the end.
func ReadAllParallel(source string, refs []string, opts Options) ([]Item, error) {
	r, err := OpenParallel(source, refs, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return collect(r)
}

func collect(r *Reader) ([]Item, error) {
	var out []Item
	for it, err := range r.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// openFile opens name for reading: Stdin is stdin; a file that is missing,
// a folder or unreadable is an input error.
func openFile(name string, stdin io.Reader) (io.Reader, error) {
	if name == Stdin {
		if stdin == nil {
			return nil, lineErr(name, 0, "", ErrNoFile, "not available here; give a file name")
		}
		return stdin, nil
	}
	if name == "" {
		return nil, &Error{File: `""`, Msg: "empty file name; give a file name", Kind: ErrNoFile}
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, lineErr(name, 0, "", ErrNoFile, "cannot open: %v; check the path", err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, lineErr(name, 0, "", ErrNoFile, "is a folder; give a file")
	}
	return f, nil
}

// lineID is the id derived from a line number.
func lineID(line int) string { return "L" + strconv.Itoa(line) }

// idSet checks that ids are unique: given ids (and ids from
// Options.LineField) in a map, ids derived from an item's own line in a
// bitset, since those cannot repeat among themselves.
type idSet struct {
	seen  map[string]int // id → the line that gave it
	lines []uint64       // bit n: line n's id is lineID(n), derived
}

// add records id for the item at line; derived says it is lineID(line).
// It returns the line that already had the id, or 0.
func (s *idSet) add(id string, line int, derived bool) int {
	if derived {
		if prev, ok := s.seen[id]; ok {
			return prev
		}
		for len(s.lines) <= line/64 {
			s.lines = append(s.lines, 0)
		}
		s.lines[line/64] |= 1 << (line % 64)
		return 0
	}
	if prev, ok := s.seen[id]; ok {
		return prev
	}
	if n, ok := parseLineID(id); ok && n/64 < len(s.lines) && s.lines[n/64]&(1<<(n%64)) != 0 {
		return n
	}
	if s.seen == nil {
		s.seen = make(map[string]int)
	}
	s.seen[id] = line
	return 0
}

// parseLineID reads "L<n>" as lineID writes it.
func parseLineID(id string) (int, bool) {
	if len(id) < 2 || id[0] != 'L' || id[1] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(id[1:])
	if err != nil || n <= 0 || lineID(n) != id {
		return 0, false
	}
	return n, true
}

// duplicate is the error for id at line, already given by line prev.
func duplicate(name string, line int, field, id string, prev int) error {
	return lineErr(name, line, field, ErrDuplicateID, "id %q is also the id of line %d; every item needs its own id", id, prev)
}
