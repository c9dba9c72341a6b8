package dataset

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tableDecoder reads CSV or TSV rows under a header naming the columns.
type tableDecoder struct {
	name    string
	format  Format
	opts    Options
	header  []string
	idCol   int // -1: none
	srcCol  int
	lineCol int // -1: none
	refCols []int
	extra   []int // the columns kept in Item.Extra
	ids     idSet

	// CSV
	cr      *csv.Reader
	guard   *guardReader
	lastEnd int   // the line the previous record (or the header) ended on
	offset  int64 // cr.InputOffset after the previous record
	// TSV
	lines *lineReader
}

// errGuard is the guard's error for a record past the size limit.
var errGuard = errors.New("record too long")

// guardReader fails once more than max bytes are read since reset: it
// bounds what encoding/csv buffers for one record.
type guardReader struct {
	r      io.Reader
	n, max int
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.n > g.max {
		return 0, errGuard
	}
	n, err := g.r.Read(p)
	g.n += n
	return n, err
}

func newTableDecoder(r io.Reader, name string, format Format, opts Options) (*tableDecoder, error) {
	d := &tableDecoder{name: name, format: format, opts: opts}
	var header []string
	if format == CSV {
		// The slack covers what bufio reads ahead of the record.
		d.guard = &guardReader{r: r, max: opts.MaxRecordBytes + 64<<10}
		br := bufio.NewReaderSize(d.guard, 64<<10)
		if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
			br.Discard(3)
		}
		d.cr = csv.NewReader(br)
		d.cr.ReuseRecord = true
		rec, err := d.cr.Read()
		if err == io.EOF {
			return nil, lineErr(name, 0, "", ErrMissingField, "empty: a CSV file starts with a header row naming its columns, e.g. id,source,reference")
		}
		if err != nil {
			return nil, d.csvErr(err)
		}
		header = slices.Clone(rec)
		d.recordRead(rec)
	} else {
		d.lines = newLineReader(r, name, opts.MaxRecordBytes)
		b, err := d.lines.next()
		if err == io.EOF {
			return nil, lineErr(name, 0, "", ErrMissingField, "empty: a TSV file starts with a header line naming its columns, e.g. id<TAB>source<TAB>reference")
		}
		if err != nil {
			return nil, err
		}
		if err := checkUTF8(b, name, 1, ""); err != nil {
			return nil, err
		}
		header = strings.Split(string(b), "\t")
	}
	for i, h := range header {
		if err := checkUTF8([]byte(h), name, 1, ""); err != nil {
			return nil, err
		}
		if slices.Contains(header[:i], h) {
			return nil, lineErr(name, 1, h, ErrMalformed, "column %q appears twice in the header; name each column once", h)
		}
	}
	d.header = header
	return d, d.resolveColumns()
}

// resolveColumns finds the named columns in the header.
func (d *tableDecoder) resolveColumns() error {
	o := &d.opts
	col := func(name string) int { return slices.Index(d.header, name) }
	missing := func(name, what string) error {
		msg := fmt.Sprintf("no column %q in the header (its columns: %s); add it, or name the %s column as the header does", name, quoteAll(d.header), what)
		if twin := caseTwin(d.header, name); twin != "" {
			msg = fmt.Sprintf("no column %q in the header, but %q: column names are case-sensitive; rename it, or name that column", name, twin)
		}
		return lineErr(d.name, 1, name, ErrMissingField, "%s", msg)
	}
	if d.srcCol = col(o.SourceField); d.srcCol < 0 {
		return missing(o.SourceField, "source")
	}
	if d.idCol = col(o.IDField); d.idCol < 0 && caseTwin(d.header, o.IDField) != "" {
		return missing(o.IDField, "id")
	}
	d.lineCol = -1
	if o.LineField != "" {
		if d.lineCol = col(o.LineField); d.lineCol < 0 {
			return missing(o.LineField, "line")
		}
	}
	refs := o.ReferenceFields
	if refs == nil {
		refs = defaultReferences(d.header)
	}
	for _, f := range refs {
		c := col(f)
		if c < 0 {
			return missing(f, "reference")
		}
		d.refCols = append(d.refCols, c)
	}
	if o.RequireReferences && len(d.refCols) == 0 {
		return lineErr(d.name, 1, DefaultReferenceField, ErrMissingField, "no reference column in the header (its columns: %s); add one named %q (and %q, ... for more)", quoteAll(d.header), DefaultReferenceField, DefaultReferenceField+"2")
	}
	if o.Extra {
		for i := range d.header {
			if i != d.srcCol && i != d.idCol && i != d.lineCol && !slices.Contains(d.refCols, i) {
				d.extra = append(d.extra, i)
			}
		}
	}
	return nil
}

func (d *tableDecoder) next() (Item, error) {
	if d.format == CSV {
		return d.nextCSV()
	}
	return d.nextTSV()
}

func (d *tableDecoder) nextCSV() (Item, error) {
	rec, err := d.cr.Read()
	if err == io.EOF {
		if len(d.header) == 1 && d.cr.InputOffset() > d.offset {
			return Item{}, d.blankLine(d.lastEnd + 1)
		}
		return Item{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
		return Item{}, lineErr(d.name, pe.StartLine, "", ErrMalformed, "%d fields but the header has %d; give every row one field per column (quote a field that holds a comma)", len(rec), len(d.header))
	}
	if err != nil {
		return Item{}, d.csvErr(err)
	}
	start, _ := d.cr.FieldPos(0)
	if len(d.header) == 1 && start > d.lastEnd+1 {
		return Item{}, d.blankLine(d.lastEnd + 1)
	}
	d.recordRead(rec)
	for i, f := range rec {
		if !utf8.ValidString(f) {
			line, _ := d.cr.FieldPos(i)
			return Item{}, checkUTF8([]byte(f), d.name, line, d.header[i])
		}
	}
	return d.item(rec, start)
}

// recordRead notes where the record just read ended.
func (d *tableDecoder) recordRead(rec []string) {
	last, _ := d.cr.FieldPos(len(rec) - 1)
	d.lastEnd = last + strings.Count(rec[len(rec)-1], "\n")
	d.offset = d.cr.InputOffset()
	d.guard.n = 0
}

// csvErr turns encoding/csv's errors into this package's.
func (d *tableDecoder) csvErr(err error) error {
	if errors.Is(err, errGuard) {
		return lineErr(d.name, d.lastEnd+1, "", ErrTooLong, "the record is longer than %s, the most one record may hold (is a quote left open?); split it", sizeString(d.opts.MaxRecordBytes))
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("reading %s: %w", DisplayName(d.name), err)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return lineErr(d.name, pe.Line, "", ErrMalformed, "a \" inside an unquoted field (column %d of the line); quote the field and double each \" in it, e.g. \"say \"\"hi\"\"\"", pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return lineErr(d.name, pe.StartLine, "", ErrMalformed, "a quoted field is not closed, or has a stray \" after it (line %d, column %d); end the field with \" and double each \" inside it", pe.Line, pe.Column)
	}
	return lineErr(d.name, pe.StartLine, "", ErrMalformed, "%v", pe.Err)
}

// blankLine is the error for a blank line in a one-column file.
func (d *tableDecoder) blankLine(line int) error {
	fix := `write an empty value as "" (a blank line holds no row), or read the file as text`
	if d.format == TSV {
		fix = "remove the line, or read a one-column file as text, where an empty line is an empty sentence"
	}
	return lineErr(d.name, line, "", ErrMalformed, "a blank line in a one-column file: an empty value, or no row? %s", fix)
}

func (d *tableDecoder) nextTSV() (Item, error) {
	for {
		b, err := d.lines.next()
		if err != nil {
			return Item{}, err
		}
		line := d.lines.line
		if len(b) == 0 {
			if len(d.header) == 1 {
				return Item{}, d.blankLine(line)
			}
			continue
		}
		if err := checkUTF8(b, d.name, line, ""); err != nil {
			return Item{}, err
		}
		rec := strings.Split(string(b), "\t")
		if len(rec) != len(d.header) {
			return Item{}, lineErr(d.name, line, "", ErrMalformed, "%d fields but the header has %d; give every line one field per column, split by tabs (a TSV field holds no tab)", len(rec), len(d.header))
		}
		return d.item(rec, line)
	}
}

// item builds the item of a row starting at line.
func (d *tableDecoder) item(rec []string, line int) (Item, error) {
	o := &d.opts
	it := Item{Line: line, Source: rec[d.srcCol]}
	for _, c := range d.refCols {
		it.References = append(it.References, rec[c])
	}
	derived := false
	switch {
	case d.idCol >= 0:
		it.ID = rec[d.idCol]
		if it.ID == "" {
			return Item{}, lineErr(d.name, line, o.IDField, ErrMalformed, "the %q cell is empty; give every row an id (or drop the column to number rows by line)", o.IDField)
		}
		it.IDJSON, _ = json.Marshal(it.ID)
	case d.lineCol >= 0:
		n, err := strconv.Atoi(strings.TrimSpace(rec[d.lineCol]))
		if err != nil || n < 1 {
			return Item{}, lineErr(d.name, line, o.LineField, ErrMalformed, "the %q cell is %q, not a line number (a whole number from 1)", o.LineField, rec[d.lineCol])
		}
		it.ID = lineID(n)
	default:
		it.ID, derived = lineID(line), true
	}
	if prev := d.ids.add(it.ID, line, derived); prev != 0 {
		return Item{}, duplicate(d.name, line, o.IDField, it.ID, prev)
	}
	if len(d.extra) > 0 {
		it.Extra = make(map[string]string, len(d.extra))
		for _, c := range d.extra {
			it.Extra[d.header[c]] = rec[c]
		}
	}
	return it, nil
}

// quoteAll lists names, quoted, for messages.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
