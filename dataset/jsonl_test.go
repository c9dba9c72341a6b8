package dataset

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestJSONL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []Item
	}{
		{"ids exact, however large", `{"id": 12345678901234567891, "source": "a"}` + "\n" + `{"id": "x-1", "source": "b"}` + "\n" + `{"id": 1.50, "source": "c"}`,
			Options{}, []Item{
				{ID: "12345678901234567891", IDJSON: json.RawMessage("12345678901234567891"), Line: 1, Source: "a"},
				{ID: "x-1", IDJSON: json.RawMessage(`"x-1"`), Line: 2, Source: "b"},
				{ID: "1.50", IDJSON: json.RawMessage("1.50"), Line: 3, Source: "c"},
			}},
		{"no id: the line's; blank lines skipped but counted", "\n" + `{"source": "a"}` + "\n   \n" + `{"source": "b", "id": null}` + "\n",
			Options{}, []Item{{ID: "L2", Line: 2, Source: "a"}, {ID: "L4", Line: 4, Source: "b"}}},
		{"BOM, CRLF, spaces around", "\ufeff  {\"source\": \"a\"}  \r\n{\"source\": \"\"}\r\n",
			Options{}, []Item{{ID: "L1", Line: 1, Source: "a"}, {ID: "L2", Line: 2, Source: ""}}},
		{"newlines in a source stay one item", `{"source": "line one\nline two\r\n"}`,
			Options{}, []Item{{ID: "L1", Line: 1, Source: "line one\nline two\r\n"}}},
		{"default references in order", `{"source": "s", "reference10": "r10", "reference2": "r2", "reference": "r", "reference1": "r1"}`,
			Options{}, []Item{{ID: "L1", Line: 1, Source: "s", References: []string{"r", "r1", "r2", "r10"}}}},
		{"references array", `{"source": "s", "references": ["a", "b"]}` + "\n" + `{"source": "t", "references": "c"}` + "\n" + `{"source": "u", "references": null}`,
			Options{}, []Item{
				{ID: "L1", Line: 1, Source: "s", References: []string{"a", "b"}},
				{ID: "L2", Line: 2, Source: "t", References: []string{"c"}},
				{ID: "L3", Line: 3, Source: "u"},
			}},
		{"named fields", `{"key": "k1", "en": "hello", "zh": "你好", "zh2": ["您好", "嗨"], "reference": "ignored"}`,
			Options{IDField: "key", SourceField: "en", ReferenceFields: []string{"zh", "zh2"}}, []Item{
				{ID: "k1", IDJSON: json.RawMessage(`"k1"`), Line: 1, Source: "hello", References: []string{"你好", "您好", "嗨"}},
			}},
		{"extra fields kept", `{"id": 1, "source": "s", "reference": "r", "domain": "news", "n": 3, "tags": ["a"], "note": null}`,
			Options{Extra: true}, []Item{
				{ID: "1", IDJSON: json.RawMessage("1"), Line: 1, Source: "s", References: []string{"r"},
					Extra: map[string]string{"domain": "news", "n": "3", "tags": `["a"]`, "note": "null"}},
			}},
		{"a results file: the output, keyed by the input's line", `{"line": 2, "source": "b", "output": "B", "error": ""}` + "\n" + `{"line": 1, "source": "a", "output": "A"}` + "\n" + `{"line": 3, "id": "k", "output": "C"}`,
			Options{SourceField: "output", LineField: "line"}, []Item{
				{ID: "L2", Line: 1, Source: "B"},
				{ID: "L1", Line: 2, Source: "A"},
				{ID: "k", IDJSON: json.RawMessage(`"k"`), Line: 3, Source: "C"},
			}},
		{"a given id that looks like a line's, elsewhere", `{"id": "L9", "source": "a"}` + "\n" + `{"source": "b"}`,
			Options{}, []Item{{ID: "L9", IDJSON: json.RawMessage(`"L9"`), Line: 1, Source: "a"}, {ID: "L2", Line: 2, Source: "b"}}},
		{"escapes and unicode", `{"source": "\u4eca\u5929 \"q\" \\ \t"}`,
			Options{}, []Item{{ID: "L1", Line: 1, Source: "今天 \"q\" \\ \t"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.in, "in.jsonl", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestJSONLIDWrittenBack: IDJSON, marshalled as part of a record, writes
// the id exactly as it was read; a derived id writes nothing.
func TestJSONLIDWrittenBack(t *testing.T) {
	got, err := read(t, `{"id": 12345678901234567891, "source": "a"}`+"\n"+`{"id": "x-1", "source": "b"}`+"\n"+`{"source": "c"}`, "in.jsonl", Options{})
	if err != nil {
		t.Fatal(err)
	}
	type out struct {
		ID any `json:"id,omitempty"`
	}
	for i, want := range []string{`{"id":12345678901234567891}`, `{"id":"x-1"}`, `{}`} {
		var id any
		if got[i].IDGiven() {
			id = got[i].IDJSON
		}
		b, _ := json.Marshal(out{id})
		if string(b) != want {
			t.Errorf("item %d written as %s, want %s", i, b, want)
		}
	}
}

func TestJSONLErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		opts  Options
		kind  error
		field string
		want  []string
	}{
		{"no source field", `{"id": 1, "text": "x"}`, Options{}, ErrMissingField, "source",
			[]string{`in.jsonl:1: no "source" string field (each line must be a JSON object like {"id": 1, "source": "text"})`}},
		{"source not a string", `{"source": 3}`, Options{}, ErrMalformed, "source", []string{`in.jsonl:1: no "source" string field`}},
		{"source null", `{"source": null}`, Options{}, ErrMissingField, "source", []string{`in.jsonl:1: no "source"`}},
		{"named source field missing", `{"source": "x"}`, Options{SourceField: "output"}, ErrMissingField, "output",
			[]string{`in.jsonl:1: no "output" string field`, `{"id": 1, "output": "text"}`}},
		{"bad json", "{\"source\": \"a\"}\n{oops", Options{}, ErrMalformed, "", []string{"in.jsonl:2: not a JSON object"}},
		{"truncated object", `{"source": "a"`, Options{}, ErrMalformed, "", []string{"in.jsonl:1: not a JSON object"}},
		{"an array", `["a"]`, Options{}, ErrMalformed, "", []string{"in.jsonl:1: not a JSON object but an array"}},
		{"plain text", `hello`, Options{}, ErrMalformed, "", []string{"in.jsonl:1: not a JSON object", "read the file as plain text"}},
		{"two values on a line", `{"source": "a"} {"source": "b"}`, Options{}, ErrMalformed, "", []string{"in.jsonl:1: more than one JSON value on the line"}},
		{"junk after the object", `{"source": "a"} x`, Options{}, ErrMalformed, "", []string{"in.jsonl:1: not valid JSON after the object"}},
		{"a key twice", `{"source": "a", "source": "b"}`, Options{}, ErrMalformed, "", []string{`in.jsonl:1: field "source" given twice`}},
		{"id an object", `{"id": {"a": 1}, "source": "a"}`, Options{}, ErrMalformed, "id", []string{`in.jsonl:1: "id": must be a string or a number, not an object`}},
		{"id a boolean", `{"id": true, "source": "a"}`, Options{}, ErrMalformed, "id", []string{"not a boolean"}},
		{"id empty", `{"id": "", "source": "a"}`, Options{}, ErrMalformed, "id", []string{`in.jsonl:1: "id": empty`}},
		{"duplicate ids", `{"id": 1, "source": "a"}` + "\n\n" + `{"id": "1", "source": "b"}`, Options{}, ErrDuplicateID, "id",
			[]string{`in.jsonl:3: id "1" is also the id of line 1`}},
		{"a given id taking a derived one's", `{"source": "a"}` + "\n" + `{"id": "L1", "source": "b"}`, Options{}, ErrDuplicateID, "id",
			[]string{`in.jsonl:2: id "L1" is also the id of line 1`}},
		{"a derived id taking a given one's", `{"id": "L2", "source": "a"}` + "\n" + `{"source": "b"}`, Options{}, ErrDuplicateID, "id",
			[]string{`in.jsonl:2: id "L2" is also the id of line 1`}},
		{"field named but for case", `{"Source": "a"}`, Options{}, ErrMissingField, "Source",
			[]string{`in.jsonl:1: field "Source": did you mean "source"? field names are case-sensitive`}},
		{"id named but for case", `{"ID": 3, "source": "a"}`, Options{}, ErrMissingField, "ID", []string{`did you mean "id"?`}},
		{"both reference kinds", `{"source": "a", "reference": "r", "references": ["s"]}`, Options{}, ErrMalformed, "references",
			[]string{`in.jsonl:1: both "references" and "reference" fields`}},
		{"reference not a string", `{"source": "a", "reference": 1}`, Options{}, ErrMalformed, "reference", []string{`"reference": must be a string or an array of strings, not a number`}},
		{"references holding a number", `{"source": "a", "references": ["x", 2]}`, Options{}, ErrMalformed, "references", []string{`"references": must be a string or an array of strings`}},
		{"named reference missing", `{"source": "a", "zh": "r"}` + "\n" + `{"source": "b"}`, Options{ReferenceFields: []string{"zh"}}, ErrMissingField, "zh",
			[]string{`in.jsonl:2: no "zh" field`}},
		{"references required", `{"source": "a"}`, Options{RequireReferences: true}, ErrMissingField, "", []string{"in.jsonl:1: no reference"}},
		{"line field missing", `{"output": "a"}`, Options{SourceField: "output", LineField: "line"}, ErrMissingField, "line",
			[]string{`in.jsonl:1: neither "id" nor "line"`}},
		{"line field not a line", `{"output": "a", "line": 1.5}`, Options{SourceField: "output", LineField: "line"}, ErrMalformed, "line",
			[]string{`in.jsonl:1: "line" is 1.5, not a line number`}},
		{"line field repeated", `{"output": "a", "line": 4}` + "\n" + `{"output": "b", "line": 4}`, Options{SourceField: "output", LineField: "line"}, ErrDuplicateID, "id",
			[]string{`in.jsonl:2: id "L4" is also the id of line 1`}},
		{"invalid UTF-8", "{\"source\": \"a\"}\n{\"source\": \"\xff\"}", Options{}, ErrInvalidUTF8, "", []string{"in.jsonl:2: not valid UTF-8 (byte offset 12"}},
		{"a line too long", `{"source": "` + strings.Repeat("x", 100) + `"}`, Options{MaxRecordBytes: 64}, ErrTooLong, "", []string{"in.jsonl:1: the line is longer than 64 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.in, "in.jsonl", tc.opts)
			wantErr(t, err, tc.kind, tc.want...)
			var e *Error
			if errors.As(err, &e) && e.Field != tc.field {
				t.Errorf("error names field %q, want %q", e.Field, tc.field)
			}
		})
	}
}
