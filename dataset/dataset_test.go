package dataset

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// read reads every item of in, named name, with opts.
func read(t *testing.T, in, name string, opts Options) ([]Item, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), name, opts)
	if err != nil {
		return nil, err
	}
	return collect(r)
}

// sources are the items' sources.
func sources(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Source)
	}
	return out
}

// wantErr checks that err is an input error of kind whose message holds
// every string of want, on one line.
func wantErr(t *testing.T, err, kind error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one with %q", want)
	}
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("error %q is not ErrInvalidInput", err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestText: the corpus rules, one item per line.
func TestText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty file", "", nil},
		{"one line, no newline", "a", []string{"a"}},
		{"one line, newline", "a\n", []string{"a"}},
		{"empty lines are sentences", "a\n\nb\n\n", []string{"a", "", "b", ""}},
		{"only a newline", "\n", []string{""}},
		{"CRLF", "a\r\nb\r\n\r\n", []string{"a", "b", ""}},
		{"CR at end of file", "a\r\nb\r", []string{"a", "b"}},
		{"lone CR inside a line is kept", "a\rb\n", []string{"a\rb"}},
		{"BOM dropped on the first line only", "\ufeffa\n\ufeffb\n", []string{"a", "\ufeffb"}},
		{"whitespace kept (the tokenizer strips)", "  a \t\n", []string{"  a \t"}},
		{"CJK and emoji", "今天天气不错。\n🙂\n", []string{"今天天气不错。", "🙂"}},
		{"U+2028 is not a line break", "a\u2028b\n", []string{"a\u2028b"}},
		{"JSON after the first line is text", "plain\n{\"source\": \"x\"}\n", []string{"plain", `{"source": "x"}`}},
		{"not quite JSON is text", "{not json}\n", []string{"{not json}"}},
		{"a JSON array is text", "[1, 2]\n", []string{"[1, 2]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.in, "x.txt", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sources(got), tc.want) {
				t.Errorf("got %q, want %q", sources(got), tc.want)
			}
			for i, it := range got {
				if it.Line != i+1 || it.ID != lineID(i+1) || it.IDGiven() || it.References != nil || it.Extra != nil {
					t.Errorf("item %d: %+v; want line %d, id L%d, nothing else", i, it, i+1, i+1)
				}
			}
		})
	}
}

func TestTextLongLine(t *testing.T) {
	long := strings.Repeat("word ", 200000) // 1 MB, past bufio's buffer
	got, err := read(t, "a\n"+long+"\nb", "x.txt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Source != long || got[2].Line != 3 {
		t.Fatalf("long line lost: %d items", len(got))
	}
}

func TestTextErrors(t *testing.T) {
	tests := []struct {
		name, in, file string
		opts           Options
		kind           error
		want           []string
		line           int
	}{
		{"invalid UTF-8", "ok\nstill ok\nbad \xff here\n", "cands.txt", Options{}, ErrInvalidUTF8,
			[]string{"cands.txt:3:", "not valid UTF-8", "byte offset 4", "iconv"}, 3},
		{"invalid UTF-8 on stdin", "\xc3", Stdin, Options{}, ErrInvalidUTF8, []string{"standard input:1:"}, 1},
		{"JSONL read as text", "{\"id\": 1, \"output\": \"x\"}\n", "run.txt", Options{}, ErrLooksLikeJSONL,
			[]string{"run.txt:1:", "JSON object, not plain text", "read the file as JSONL", "name the field"}, 1},
		{"JSONL after blank lines", "\n  \n{\"a\": 1}\n", "run.txt", Options{}, ErrLooksLikeJSONL, []string{"run.txt:3:"}, 3},
		{"line too long", "short\n12345678901\n", "x.txt", Options{MaxRecordBytes: 10}, ErrTooLong,
			[]string{"x.txt:2:", "longer than 10 bytes", "split it"}, 2},
		{"long line past bufio's buffer", "a\n" + strings.Repeat("x", 200<<10) + "\n", "x.txt", Options{MaxRecordBytes: 100 << 10}, ErrTooLong,
			[]string{"x.txt:2:", "longer than 100 KiB"}, 2},
		{"text has no references", "a\n", "x.txt", Options{RequireReferences: true}, ErrMissingField, []string{"x.txt:", "no references"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.in, tc.file, tc.opts)
			wantErr(t, err, tc.kind, tc.want...)
			var e *Error
			if !errors.As(err, &e) || e.Line != tc.line || e.File != tc.file {
				t.Errorf("error %#v; want an *Error for %s line %d", err, tc.file, tc.line)
			}
		})
	}
}

func TestTextEdgesOfTheLimit(t *testing.T) {
	got, err := read(t, "1234567890\r\n1234567890", "x.txt", Options{MaxRecordBytes: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("lines of exactly the limit: %v, %v", got, err)
	}
	if _, err := read(t, "{\"a\": 1}\n", "x.txt", Options{AllowJSONText: true}); err != nil {
		t.Errorf("AllowJSONText: %v", err)
	}
}

// TestReaderAfterError: the error is sticky, and All stops at it.
func TestReaderAfterError(t *testing.T) {
	r, err := NewReader(strings.NewReader("a\n\xff\nc\n"), "x.txt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := r.Next(); err != nil || it.Source != "a" {
		t.Fatalf("first: %v %v", it, err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err2 != err1 {
		t.Errorf("errors %v then %v; want the same error twice", err1, err2)
	}
	r, _ = NewReader(strings.NewReader("a\n\xff\nc\n"), "x.txt", Options{})
	var seen []string
	var errs int
	for it, err := range r.All() {
		if err != nil {
			errs++
			continue
		}
		seen = append(seen, it.Source)
	}
	if !slices.Equal(seen, []string{"a"}) || errs != 1 {
		t.Errorf("All gave %q and %d errors; want a, then one error", seen, errs)
	}
	r, _ = NewReader(strings.NewReader("a\nb\n"), "x.txt", Options{})
	for range r.All() {
		break
	}
	if it, err := r.Next(); err != nil || it.Source != "b" {
		t.Errorf("after breaking out of All: %v %v; want b", it, err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	txt := writeFile(t, dir, "in.txt", "a\nb\n")
	jsonl := writeFile(t, dir, "in.JSONL", `{"id": 7, "source": "x"}`+"\n")
	ndjson := writeFile(t, dir, "in.ndjson", `{"source": "y"}`+"\n")
	csvFile := writeFile(t, dir, "in.csv", "id,source\n1,z\n")
	tsv := writeFile(t, dir, "in.tsv", "source\tid\nw\t2\n")
	for _, tc := range []struct {
		path string
		opts Options
		want []Item
	}{
		{txt, Options{}, []Item{{ID: "L1", Line: 1, Source: "a"}, {ID: "L2", Line: 2, Source: "b"}}},
		{jsonl, Options{}, []Item{{ID: "7", IDJSON: []byte("7"), Line: 1, Source: "x"}}},
		{ndjson, Options{}, []Item{{ID: "L1", Line: 1, Source: "y"}}},
		{csvFile, Options{}, []Item{{ID: "1", IDJSON: []byte(`"1"`), Line: 2, Source: "z"}}},
		{tsv, Options{}, []Item{{ID: "2", IDJSON: []byte(`"2"`), Line: 2, Source: "w"}}},
		{Stdin, Options{Stdin: strings.NewReader("s\n")}, []Item{{ID: "L1", Line: 1, Source: "s"}}},
		{Stdin, Options{Format: JSONL, Stdin: strings.NewReader(`{"source": "j"}`)}, []Item{{ID: "L1", Line: 1, Source: "j"}}},
		{csvFile, Options{Format: Text, AllowJSONText: true}, []Item{{ID: "L1", Line: 1, Source: "id,source"}, {ID: "L2", Line: 2, Source: "1,z"}}},
	} {
		got, err := ReadAll(tc.path, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.path, got, tc.want)
		}
	}

	_, err := Open(filepath.Join(dir, "nope.txt"), Options{})
	wantErr(t, err, ErrNoFile, "nope.txt: cannot open: no such file or directory")
	_, err = Open(dir, Options{})
	wantErr(t, err, ErrNoFile, dir+": is a folder")
	_, err = Open(Stdin, Options{})
	wantErr(t, err, ErrNoFile, "standard input: not available")
	_, err = Open("", Options{})
	wantErr(t, err, ErrNoFile, "empty file name")
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Auto, "auto": Auto, "text": Text, "JSONL": JSONL, "csv": CSV, "tsv": TSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), `unknown format "xml": want auto, text, jsonl, csv, tsv`) {
		t.Errorf("ParseFormat(xml): %v", err)
	}
	for name, want := range map[string]Format{"a.txt": Text, "a.JSONL": JSONL, "a.ndjson": JSONL, "a.csv": CSV, "a.TSV": TSV, "a": Text, Stdin: Text} {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestCloseLeavesStdinOpen(t *testing.T) {
	f, err := os.Open(writeFile(t, t.TempDir(), "in.txt", "a\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Open(Stdin, Options{Stdin: f})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Errorf("standard input was closed: %v", err)
	}
}
