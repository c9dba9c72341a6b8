package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// jsonlDecoder reads one JSON object per line.
type jsonlDecoder struct {
	lines *lineReader
	opts  Options
	ids   idSet
	named []string // the field names Options give
}

func newJSONLDecoder(r io.Reader, name string, opts Options) *jsonlDecoder {
	return &jsonlDecoder{lines: newLineReader(r, name, opts.MaxRecordBytes), opts: opts}
}

// member is one key and its value, as written.
type member struct {
	key string
	val json.RawMessage
}

func (d *jsonlDecoder) next() (Item, error) {
	var b []byte
	for {
		var err error
		if b, err = d.lines.next(); err != nil {
			return Item{}, err
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			break
		}
	}
	name, line := d.lines.name, d.lines.line
	if err := checkUTF8(b, name, line, ""); err != nil {
		return Item{}, err
	}
	members, err := parseObject(b)
	if err != nil {
		return Item{}, lineErr(name, line, "", ErrMalformed, "%s", err.Error())
	}
	return d.item(members, name, line)
}

// item builds the item of a record's members.
func (d *jsonlDecoder) item(members []member, name string, line int) (Item, error) {
	o := &d.opts
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.key
	}
	get := func(key string) (json.RawMessage, bool) {
		for _, m := range members {
			if m.key == key {
				return m.val, !isNull(m.val)
			}
		}
		return nil, false
	}
	// A field named but for case (ID for id) is a mistake, not an absent field.
	if d.named == nil {
		d.named = append([]string{o.IDField, o.SourceField, o.LineField}, o.ReferenceFields...)
	}
	for _, n := range d.named {
		if n == "" {
			continue
		}
		if twin := caseTwin(keys, n); twin != "" && !slices.Contains(keys, n) {
			return Item{}, lineErr(name, line, twin, ErrMissingField, "field %q: did you mean %q? field names are case-sensitive", twin, n)
		}
	}

	it := Item{Line: line}

	// Source.
	raw, ok := get(o.SourceField)
	if !ok || raw[0] != '"' {
		kind := ErrMissingField
		if ok {
			kind = ErrMalformed
		}
		return Item{}, lineErr(name, line, o.SourceField, kind, "no %q string field (each line must be a JSON object like {%q: 1, %q: \"text\"})", o.SourceField, o.IDField, o.SourceField)
	}
	var err error
	if it.Source, err = unquote(raw); err != nil {
		return Item{}, lineErr(name, line, o.SourceField, ErrMalformed, "%q: %v", o.SourceField, err)
	}

	// References.
	refFields := o.ReferenceFields
	if refFields == nil {
		refFields = defaultReferences(keys)
		if _, ok := get(DefaultReferencesField); ok {
			if len(refFields) > 0 {
				return Item{}, lineErr(name, line, DefaultReferencesField, ErrMalformed, "both %q and %q fields: give the references one way", DefaultReferencesField, refFields[0])
			}
			refFields = []string{DefaultReferencesField}
		}
	}
	for _, f := range refFields {
		raw, ok := get(f)
		if !ok {
			if o.ReferenceFields == nil {
				continue // a default field that is null
			}
			return Item{}, lineErr(name, line, f, ErrMissingField, "no %q field: every line needs its references (a string, or an array of strings)", f)
		}
		refs, err := stringOrStrings(raw)
		if err != nil {
			return Item{}, lineErr(name, line, f, ErrMalformed, "%q: %v", f, err)
		}
		it.References = append(it.References, refs...)
	}
	if o.RequireReferences && len(it.References) == 0 {
		if o.ReferenceFields != nil {
			return Item{}, lineErr(name, line, "", ErrMissingField, "no reference in %s: give each line at least one", quoteAll(o.ReferenceFields))
		}
		return Item{}, lineErr(name, line, "", ErrMissingField, "no reference: give each line a %q string field (or %q, an array of strings)", DefaultReferenceField, DefaultReferencesField)
	}

	// Id.
	derived := false
	raw, ok = get(o.IDField)
	switch {
	case ok:
		id, err := idOf(raw)
		if err != nil {
			return Item{}, lineErr(name, line, o.IDField, ErrMalformed, "%q: %v", o.IDField, err)
		}
		it.ID, it.IDJSON = id, slices.Clone(raw)
	case o.LineField != "":
		raw, ok := get(o.LineField)
		if !ok {
			return Item{}, lineErr(name, line, o.LineField, ErrMissingField, "neither %q nor %q: each line needs its id, or the line of its input", o.IDField, o.LineField)
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 1 {
			return Item{}, lineErr(name, line, o.LineField, ErrMalformed, "%q is %s, not a line number (a whole number from 1)", o.LineField, raw)
		}
		it.ID = lineID(n)
	default:
		it.ID, derived = lineID(line), true
	}
	if prev := d.ids.add(it.ID, line, derived); prev != 0 {
		return Item{}, duplicate(name, line, o.IDField, it.ID, prev)
	}

	if o.Extra {
		for _, m := range members {
			if m.key == o.IDField || m.key == o.SourceField || o.LineField != "" && m.key == o.LineField || slices.Contains(refFields, m.key) {
				continue
			}
			if it.Extra == nil {
				it.Extra = make(map[string]string)
			}
			s := string(m.val)
			if m.val[0] == '"' {
				s, _ = unquote(m.val)
			}
			it.Extra[m.key] = s
		}
	}
	return it, nil
}

// oneObject is the fix for a line that is not one JSON object.
const oneObject = "each line must be one JSON object (read the file as plain text if it is text)"

// parseObject splits one JSON object into its members, refusing anything
// else, a key given twice, and anything after the object. The members'
// values point into b.
func parseObject(b []byte) ([]member, error) {
	if !json.Valid(b) {
		return nil, describeInvalid(b)
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("not a JSON object but %s; %s", kindOf(b), oneObject)
	}
	// b is one valid JSON object: scan its members without a decoder.
	var members []member
	i := skipSpace(b, 1)
	for b[i] != '}' {
		end := endOfString(b, i)
		key, err := unquote(b[i:end])
		if err != nil {
			return nil, fmt.Errorf("not a JSON object: %v; %s", err, oneObject)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		start := i
		i = endOfValue(b, i)
		for _, m := range members {
			if m.key == key {
				return nil, fmt.Errorf("field %q given twice; give each field once", key)
			}
		}
		members = append(members, member{key, b[start:i]})
		if i = skipSpace(b, i); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return members, nil
}

// describeInvalid says what is wrong with a line that is not valid JSON.
func describeInvalid(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not a JSON object: %v; %s", err, oneObject)
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("more than one JSON value on the line (one object per line)")
	} else if err != io.EOF {
		return fmt.Errorf("not valid JSON after the %s: %v (one object per line)", strings.TrimPrefix(strings.TrimPrefix(kindOf(v), "an "), "a "), err)
	}
	return fmt.Errorf("not valid JSON; %s", oneObject) // not reached: Valid and Decode agree
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just past the valid JSON string at b[i].
func endOfString(b []byte, i int) int {
	for k := i + 1; ; k++ {
		switch b[k] {
		case '\\':
			k++
		case '"':
			return k + 1
		}
	}
}

// endOfValue returns the index just past the valid JSON value at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for k := i; ; k++ {
			switch b[k] {
			case '"':
				k = endOfString(b, k) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return k + 1
				}
			}
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i
}

// unquote reads a valid JSON string.
func unquote(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil // valid JSON: no escapes, no control bytes
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// idOf reads an id: a non-empty JSON string, or a JSON number as written.
func idOf(raw json.RawMessage) (string, error) {
	switch c := raw[0]; {
	case c == '"':
		s, err := unquote(raw)
		if err != nil {
			return "", err
		}
		if s == "" {
			return "", fmt.Errorf("empty; give a non-empty id, or leave the field out to number items by line")
		}
		return s, nil
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), nil
	}
	return "", fmt.Errorf("must be a string or a number, not %s", kindOf(raw))
}

// stringOrStrings reads a JSON string or an array of strings.
func stringOrStrings(raw json.RawMessage) ([]string, error) {
	switch raw[0] {
	case '"':
		s, err := unquote(raw)
		return []string{s}, err
	case '[':
		var ss []string
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, fmt.Errorf("must be a string or an array of strings")
		}
		return ss, nil
	}
	return nil, fmt.Errorf("must be a string or an array of strings, not %s", kindOf(raw))
}

// isNull reports whether a raw value is JSON null.
func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// kindOf names the kind of a JSON value for messages.
func kindOf(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch c := raw[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "not JSON"
}
