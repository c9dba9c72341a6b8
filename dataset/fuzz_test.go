package dataset

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkItems checks what holds for the items of any file: ids unique and
// not empty, lines increasing from 1, a given id's JSON valid.
func checkItems(t *testing.T, items []Item) {
	t.Helper()
	ids := map[string]bool{}
	last := 0
	for _, it := range items {
		if it.ID == "" || ids[it.ID] {
			t.Fatalf("id %q empty or repeated in %+v", it.ID, items)
		}
		ids[it.ID] = true
		if it.Line <= last {
			t.Fatalf("line %d after %d", it.Line, last)
		}
		last = it.Line
		if it.IDGiven() && !json.Valid(it.IDJSON) {
			t.Fatalf("IDJSON %q is not JSON", it.IDJSON)
		}
		if !utf8.ValidString(it.Source) {
			t.Fatalf("source %q is not UTF-8", it.Source)
		}
	}
}

// checkInputErr fails unless err is an input error with a line when
// lineWanted.
func checkInputErr(t *testing.T, err error, in []byte) {
	t.Helper()
	var e *Error
	if !errors.Is(err, ErrInvalidInput) || !errors.As(err, &e) {
		t.Fatalf("error %v (%T) for %q is not an input *Error", err, err, in)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q is more than one line", err)
	}
}

// FuzzText: whatever the bytes, a text file either names a line with
// invalid UTF-8 or gives exactly one item per line, each the line itself
// less one trailing "\r" (and a leading BOM on the first); without
// AllowJSONText the result is the same or ErrLooksLikeJSONL.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a\n", "a\r\nb", "\n\n", "\ufeffx\n", "bad\xff\n", "今天\r\n\r\n", "a\rb\r", "{\"a\": 1}\n", " \n{}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := read(t, string(in), "fuzz.txt", Options{AllowJSONText: true})
		strict, serr := read(t, string(in), "fuzz.txt", Options{})
		if serr != nil && !errors.Is(serr, ErrLooksLikeJSONL) && (err == nil || serr.Error() != err.Error()) ||
			serr == nil && (err != nil || len(strict) != len(got)) {
			t.Fatalf("strict read: %v, %d items; with JSON allowed: %v, %d items", serr, len(strict), err, len(got))
		}
		if err != nil {
			checkInputErr(t, err, in)
			if utf8.Valid(in) {
				t.Fatalf("error %v for valid UTF-8 %q", err, in)
			}
			return
		}
		if !utf8.Valid(in) {
			t.Fatalf("invalid UTF-8 accepted: %q", in)
		}
		checkItems(t, got)
		norm := strings.TrimPrefix(string(in), "\ufeff")
		wantLines := strings.Count(norm, "\n")
		if norm != "" && !strings.HasSuffix(norm, "\n") {
			wantLines++
		}
		if len(got) != wantLines {
			t.Fatalf("%d items, want %d, for %q", len(got), wantLines, in)
		}
		lines := strings.Split(norm, "\n")
		for i, it := range got {
			if it.Source != lines[i] && it.Source+"\r" != lines[i] {
				t.Fatalf("item %d is %q, but the line reads %q", i+1, it.Source, lines[i])
			}
		}
	})
}

// FuzzJSONL: whatever the bytes, JSONL either fails with a one-line input
// error naming a line, or gives items whose source is what encoding/json
// reads in that line.
func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id": 1, "source": "a"}`,
		`{"id": 12345678901234567891, "source": "a", "reference": "b"}` + "\n" + `{"id": "x", "source": "c", "references": ["d", "e"]}`,
		"\ufeff{\"source\": \"\\u00e9\\n\"}\r\n\n",
		`{"source": "a"} {"source": "b"}`,
		`{"source": "a", "source": "b"}`,
		`{"id": {}, "source": ""}`,
		`{"source": "x", "nested": {"a": [1, "}", {"b": "]"}]}, "z": -1.5e3}`,
		`[1]`, `{oops`, "{\"source\": \"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := read(t, string(in), "fuzz.jsonl", Options{Extra: true})
		if err != nil {
			checkInputErr(t, err, in)
			var e *Error
			if errors.As(err, &e); e.Line < 1 {
				t.Fatalf("error %v names no line", err)
			}
			return
		}
		checkItems(t, got)
		lines := strings.Split(strings.TrimPrefix(string(in), "\ufeff"), "\n")
		for _, it := range got {
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[it.Line-1]), &rec); err != nil {
				t.Fatalf("line %d %q accepted, but encoding/json says %v", it.Line, lines[it.Line-1], err)
			}
			if rec["source"] != it.Source {
				t.Fatalf("line %d: source %q, encoding/json reads %q", it.Line, it.Source, rec["source"])
			}
			for k := range rec {
				if _, ok := it.Extra[k]; !ok && k != "source" && k != "id" && k != "references" && !isDefaultReference(k) {
					t.Fatalf("line %d: field %q neither read nor kept", it.Line, k)
				}
			}
		}
	})
}

// FuzzCSV: whatever the bytes, CSV either fails with a one-line input
// error, or gives one item per record that encoding/csv reads.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"id,source,reference\n1,a,b\n",
		"source\n\"a\nb\"\n\"\"\n",
		"\ufeffsource,reference2,reference\r\na,c,b\r\n\r\n",
		"id,source\n1,say \"hi\"\n",
		"id,source\n1,\"open\n",
		"source\na\n\nb\n",
		"source,source\n",
		"id,source\n1,a\n1,b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := read(t, string(in), "fuzz.csv", Options{})
		if err != nil {
			checkInputErr(t, err, in)
			return
		}
		checkItems(t, got)
		records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(in), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("accepted, but encoding/csv says %v", err)
		}
		if len(records)-1 != len(got) {
			t.Fatalf("%d items, encoding/csv reads %d records after the header", len(got), len(records)-1)
		}
		src := -1
		for i, h := range records[0] {
			if h == "source" {
				src = i
			}
		}
		for i, it := range got {
			if it.Source != records[i+1][src] {
				t.Fatalf("item %d: source %q, encoding/csv reads %q", i, it.Source, records[i+1][src])
			}
		}
	})
}

// FuzzTSV: whatever the bytes, TSV either fails with a one-line input
// error, or gives items whose fields hold no tab and no line break.
func FuzzTSV(f *testing.F) {
	for _, s := range []string{
		"id\tsource\treference\n1\ta\tb\n",
		"source\n\"quoted\"\n",
		"\ufeffsource\treference\r\na\tb\r\n\r\nc\td",
		"source\na\n\n",
		"id\tsource\n1\ta\tb\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := read(t, string(in), "fuzz.tsv", Options{})
		if err != nil {
			checkInputErr(t, err, in)
			return
		}
		checkItems(t, got)
		for _, it := range got {
			for _, s := range append([]string{it.Source, it.ID}, it.References...) {
				if strings.ContainsAny(s, "\t\n") {
					t.Fatalf("field %q holds a tab or a newline", s)
				}
			}
		}
	})
}
