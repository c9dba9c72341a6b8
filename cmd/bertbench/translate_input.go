package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bertbench/bertbench/corpus"
)

// maxJSONLLine bounds one JSONL record.
const maxJSONLLine = 16 << 20

// readSources reads the translate input: text (one source per line, the
// corpus package's rules) or JSONL (a "source" field per line, optional
// "id"). format is text, jsonl or auto (by file extension).
func readSources(path, format string, stdin io.Reader) ([]source, error) {
	switch format {
	case "auto":
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".jsonl" || ext == ".ndjson" {
			format = "jsonl"
		} else {
			format = "text"
		}
	case "text", "jsonl":
	default:
		return nil, fmt.Errorf("--input-format %q: want text, jsonl or auto", format)
	}
	if format == "text" {
		lines, err := corpus.ReadFile(path, stdin)
		if err != nil {
			return nil, err
		}
		out := make([]source, len(lines))
		for i, l := range lines {
			out[i] = source{Line: i + 1, Text: l}
		}
		return out, nil
	}
	r := stdin
	name := "standard input"
	if path != corpus.Stdin {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, path
	}
	return readJSONL(r, name)
}

// readJSONL reads JSONL sources; blank lines are skipped (they hold no
// record), everything else must be an object with a string "source".
func readJSONL(r io.Reader, name string) ([]source, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	var out []source
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%s:%d: %w; convert the file to UTF-8", name, line, corpus.ErrInvalidUTF8)
		}
		var rec struct {
			ID     any             `json:"id"`
			Source json.RawMessage `json:"source"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // ids are written back exactly, however large
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON object: %v (use --input-format text for plain text)", name, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line (one object per line)", name, line)
		}
		var text string
		if len(rec.Source) == 0 || json.Unmarshal(rec.Source, &text) != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, errNoSource)
		}
		out = append(out, source{Line: line, ID: rec.ID, Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}
