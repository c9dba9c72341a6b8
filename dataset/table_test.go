package dataset

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tests := []struct {
		name, file, in string
		opts           Options
		columns        []string
		want           []Item
	}{
		{"CSV with quoting", "in.csv", "id,source,reference\n" +
			"1,\"Hello, world\",\"你好，世界\"\n" +
			"2,\"two\nlines\",\"say \"\"hi\"\"\"\n" +
			"3,,\n",
			Options{}, []string{"id", "source", "reference"}, []Item{
				{ID: "1", IDJSON: json.RawMessage(`"1"`), Line: 2, Source: "Hello, world", References: []string{"你好，世界"}},
				{ID: "2", IDJSON: json.RawMessage(`"2"`), Line: 3, Source: "two\nlines", References: []string{`say "hi"`}},
				{ID: "3", IDJSON: json.RawMessage(`"3"`), Line: 5, Source: "", References: []string{""}},
			}},
		{"CSV: BOM, CRLF, blank lines skipped, no id column", "in.csv", "\ufeffsource,reference2,reference\r\na,c,b\r\n\r\n\r\nd,f,e\r\n",
			Options{}, []string{"source", "reference2", "reference"}, []Item{
				{ID: "L2", Line: 2, Source: "a", References: []string{"b", "c"}},
				{ID: "L5", Line: 5, Source: "d", References: []string{"e", "f"}},
			}},
		{"CSV one column, empty values quoted", "in.csv", "source\na\n\"\"\nb", Options{}, []string{"source"}, []Item{
			{ID: "L2", Line: 2, Source: "a"}, {ID: "L3", Line: 3, Source: ""}, {ID: "L4", Line: 4, Source: "b"},
		}},
		{"CSV one column, a value spanning lines", "in.csv", "source\n\"a\n\nb\"\nc\n", Options{}, []string{"source"}, []Item{
			{ID: "L2", Line: 2, Source: "a\n\nb"}, {ID: "L5", Line: 5, Source: "c"},
		}},
		{"CSV named columns and extra", "in.csv", "key,en,zh,zh_alt,domain\nk,hello,你好,您好,chat\n",
			Options{IDField: "key", SourceField: "en", ReferenceFields: []string{"zh", "zh_alt"}, Extra: true}, []string{"key", "en", "zh", "zh_alt", "domain"}, []Item{
				{ID: "k", IDJSON: json.RawMessage(`"k"`), Line: 2, Source: "hello", References: []string{"你好", "您好"}, Extra: map[string]string{"domain": "chat"}},
			}},
		{"TSV: quotes are text", "in.tsv", "id\tsource\treference\n7\t\"quoted\" text\tit's\n8\t\t\n",
			Options{}, []string{"id", "source", "reference"}, []Item{
				{ID: "7", IDJSON: json.RawMessage(`"7"`), Line: 2, Source: `"quoted" text`, References: []string{"it's"}},
				{ID: "8", IDJSON: json.RawMessage(`"8"`), Line: 3, Source: "", References: []string{""}},
			}},
		{"TSV: BOM, CRLF, blank lines skipped", "in.tsv", "\ufeffsource\treference\r\na\tb\r\n\r\nc\td", Options{}, []string{"source", "reference"}, []Item{
			{ID: "L2", Line: 2, Source: "a", References: []string{"b"}},
			{ID: "L4", Line: 4, Source: "c", References: []string{"d"}},
		}},
		{"TSV with a line column", "in.tsv", "line\toutput\n3\tC\n1\tA\n", Options{SourceField: "output", LineField: "line"}, []string{"line", "output"}, []Item{
			{ID: "L3", Line: 2, Source: "C"}, {ID: "L1", Line: 3, Source: "A"},
		}},
		{"header only", "in.csv", "id,source\n", Options{}, []string{"id", "source"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.in), tc.file, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Columns(), tc.columns) {
				t.Errorf("columns %q, want %q", r.Columns(), tc.columns)
			}
			got, err := collect(r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTableErrors(t *testing.T) {
	tests := []struct {
		name, file, in string
		opts           Options
		atOpen         bool // the error comes from Open (the header)
		kind           error
		field          string
		want           []string
	}{
		{"empty CSV", "in.csv", "", Options{}, true, ErrMissingField, "", []string{"in.csv: empty: a CSV file starts with a header row"}},
		{"empty TSV", "in.tsv", "", Options{}, true, ErrMissingField, "", []string{"in.tsv: empty: a TSV file starts with a header line"}},
		{"no source column", "in.csv", "id,text\n1,a\n", Options{}, true, ErrMissingField, "source",
			[]string{`in.csv:1: no column "source" in the header (its columns: "id", "text"); add it, or name the source column`}},
		{"source column but for case", "in.csv", "id,Source\n1,a\n", Options{}, true, ErrMissingField, "source",
			[]string{`in.csv:1: no column "source" in the header, but "Source": column names are case-sensitive`}},
		{"id column but for case", "in.tsv", "ID\tsource\n1\ta\n", Options{}, true, ErrMissingField, "id", []string{`but "ID"`}},
		{"named reference column missing", "in.csv", "source,zh\na,b\n", Options{ReferenceFields: []string{"zh", "de"}}, true, ErrMissingField, "de",
			[]string{`in.csv:1: no column "de"`, "name the reference column"}},
		{"line column missing", "in.csv", "source\na\n", Options{LineField: "line"}, true, ErrMissingField, "line", []string{`no column "line"`}},
		{"references required", "in.tsv", "id\tsource\n1\ta\n", Options{RequireReferences: true}, true, ErrMissingField, "reference",
			[]string{`in.tsv:1: no reference column in the header (its columns: "id", "source")`}},
		{"a column twice", "in.csv", "source,id,source\n", Options{}, true, ErrMalformed, "source", []string{`in.csv:1: column "source" appears twice`}},
		{"header not UTF-8", "in.tsv", "sou\xffrce\n", Options{}, true, ErrInvalidUTF8, "", []string{"in.tsv:1: not valid UTF-8"}},
		{"CSV row too short", "in.csv", "id,source\n1,a\n2\n", Options{}, false, ErrMalformed, "",
			[]string{"in.csv:3: 1 fields but the header has 2"}},
		{"TSV row too long", "in.tsv", "id\tsource\n1\ta\tb\n", Options{}, false, ErrMalformed, "",
			[]string{"in.tsv:2: 3 fields but the header has 2", "a TSV field holds no tab"}},
		{"bare quote", "in.csv", "id,source\n1,say \"hi\"\n", Options{}, false, ErrMalformed, "",
			[]string{`in.csv:2: a " inside an unquoted field`, "double each"}},
		{"unclosed quote", "in.csv", "id,source\n1,\"open\n2,b\n", Options{}, false, ErrMalformed, "",
			[]string{"in.csv:2: a quoted field is not closed"}},
		{"invalid UTF-8 in a cell", "in.csv", "id,source\n1,\"a\n\xff\"\n", Options{}, false, ErrInvalidUTF8, "source",
			[]string{`in.csv:2: not valid UTF-8 (byte offset 2 in "source")`}},
		{"invalid UTF-8 in a TSV line", "in.tsv", "source\n\xfe\n", Options{}, false, ErrInvalidUTF8, "", []string{"in.tsv:2: not valid UTF-8 (byte offset 0 in the line)"}},
		{"empty id", "in.csv", "id,source\n1,a\n,b\n", Options{}, false, ErrMalformed, "id", []string{`in.csv:3: the "id" cell is empty`}},
		{"duplicate ids", "in.tsv", "id\tsource\na\tx\nb\ty\na\tz\n", Options{}, false, ErrDuplicateID, "id",
			[]string{`in.tsv:4: id "a" is also the id of line 2`}},
		{"bad line cell", "in.csv", "line,output\nx,a\n", Options{SourceField: "output", LineField: "line"}, false, ErrMalformed, "line",
			[]string{`in.csv:2: the "line" cell is "x", not a line number`}},
		{"CSV one column, blank line", "in.csv", "source\na\n\nb\n", Options{}, false, ErrMalformed, "",
			[]string{"in.csv:3: a blank line in a one-column file", `write an empty value as ""`}},
		{"CSV one column, blank line at the end", "in.csv", "source\na\n\n", Options{}, false, ErrMalformed, "", []string{"in.csv:3: a blank line in a one-column file"}},
		{"TSV one column, blank line", "in.tsv", "source\na\n\n", Options{}, false, ErrMalformed, "", []string{"in.tsv:3: a blank line in a one-column file", "read a one-column file as text"}},
		{"CSV record too long", "in.csv", "source\n\"" + strings.Repeat("x", 300<<10) + "\n", Options{MaxRecordBytes: 100 << 10}, false, ErrTooLong, "",
			[]string{"in.csv:2: the record is longer than 100 KiB", "is a quote left open?"}},
		{"TSV line too long", "in.tsv", "source\n" + strings.Repeat("x", 300) + "\n", Options{MaxRecordBytes: 100}, false, ErrTooLong, "",
			[]string{"in.tsv:2: the line is longer than 100 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.in), tc.file, tc.opts)
			if (err != nil) != tc.atOpen {
				t.Fatalf("Open: %v; want an error there: %v", err, tc.atOpen)
			}
			if err == nil {
				_, err = collect(r)
			}
			wantErr(t, err, tc.kind, tc.want...)
			var e *Error
			if errors.As(err, &e) && e.Field != tc.field {
				t.Errorf("error names field %q, want %q", e.Field, tc.field)
			}
		})
	}
}
