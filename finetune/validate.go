package finetune

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// ShapeError is a training file that does not have its format's shape. Its
// message is one line: "FILE:LINE: what is wrong".
type ShapeError struct {
	File string // the file's name as given
	Line int    // 1-based line of the record (an Alpaca element's first line)
	Msg  string // what is wrong
}

func (e *ShapeError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Is matches ErrInvalidInput.
func (e *ShapeError) Is(target error) bool { return target == ErrInvalidInput }

// Validate checks that r (the file name) holds training data of format f in
// the documented shape, and returns the number of examples. The checks,
// from each format's documentation:
//
//   - OpenAIChat (OpenAI's FineTuneChatRequestInput): every non-blank line
//     a JSON object with a non-empty "messages" array and nothing but
//     "tools", "parallel_tool_calls" and "functions" besides; each message
//     an object with a "role" of system, user, assistant, tool or function
//     and only that role's fields (content, name; an assistant's also
//     refusal, audio, tool_calls, function_call and a weight of 0 or 1; a
//     tool's tool_call_id); content a string or an array of parts (an
//     assistant's may be null when it makes a call); at least one
//     assistant message.
//   - Alpaca: one JSON array of objects with a non-empty string
//     "instruction", a string "output", and optionally a string "input",
//     a string "system" and a "history" of [instruction, output] pairs.
//   - ShareGPT: every non-blank line a JSON object with a "conversations"
//     array (optionally "system" and "tools" beside it); each turn an
//     object of exactly the strings "from" and "value"; an optional first
//     turn from "system", then turns from "human" (or "observation") and
//     "gpt" (or "function_call") in turn, starting with human and ending
//     with gpt.
//
// A key given twice in one object is an error. The error is a *ShapeError
// naming the line, or a read error.
func Validate(r io.Reader, name string, f Format) (int, error) {
	switch f {
	case OpenAIChat:
		return validateLines(r, name, checkChat)
	case ShareGPT:
		return validateLines(r, name, checkShareGPT)
	case Alpaca:
		return validateAlpaca(r, name)
	}
	return 0, inputErr(fmt.Errorf("finetune: unknown format %q", f))
}

// maxLine bounds one JSONL line.
const maxLine = 64 << 20

// validateLines checks every non-blank line with check.
func validateLines(r io.Reader, name string, check func(object) error) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n, line := 0, 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		obj, err := decodeObject(b)
		if err == nil {
			err = check(obj)
		}
		if err != nil {
			return n, &ShapeError{File: name, Line: line, Msg: err.Error()}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return n, &ShapeError{File: name, Line: line + 1, Msg: fmt.Sprintf("line longer than %d MiB", maxLine>>20)}
		}
		return n, fmt.Errorf("%s: %w", name, err)
	}
	if n == 0 {
		return 0, &ShapeError{File: name, Line: max(line, 1), Msg: "no examples"}
	}
	return n, nil
}

// validateAlpaca checks a JSON array of Alpaca records, element by element.
func validateAlpaca(r io.Reader, name string) (int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:off], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return 0, &ShapeError{File: name, Line: 1, Msg: "not a JSON array: an Alpaca file is one array of {\"instruction\", \"input\", \"output\"} objects"}
	}
	n := 0
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return n, &ShapeError{File: name, Line: lineAt(start), Msg: "malformed JSON: " + err.Error()}
		}
		// The element starts after the separator and white space.
		at := start + int64(len(data[start:])-len(bytes.TrimLeft(data[start:], ", \t\r\n")))
		obj, err := decodeObject(raw)
		if err == nil {
			err = checkAlpaca(obj)
		}
		if err != nil {
			return n, &ShapeError{File: name, Line: lineAt(at), Msg: fmt.Sprintf("element %d: %v", n+1, err)}
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return n, &ShapeError{File: name, Line: lineAt(dec.InputOffset()), Msg: "malformed JSON: " + err.Error()}
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return n, &ShapeError{File: name, Line: lineAt(dec.InputOffset()), Msg: "text after the array"}
	}
	if n == 0 {
		return 0, &ShapeError{File: name, Line: 1, Msg: "no examples"}
	}
	return n, nil
}

// object is a decoded JSON object, its values still raw.
type object map[string]json.RawMessage

// decodeObject decodes one JSON object, refusing a key given twice.
func decodeObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	obj := make(object)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		if _, dup := obj[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON object")
	}
	return obj, nil
}

// only refuses keys outside allowed, naming them in order.
func (o object) only(where string, allowed ...string) error {
	var extra []string
	for k := range o {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return fmt.Errorf("%s: unknown key %q (allowed: %s)", where, extra[0], strings.Join(allowed, ", "))
}

// str reads key as a string; ok is false when the key is absent.
func (o object) str(where, key string) (s string, ok bool, err error) {
	v, ok := o[key]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(v, &s); err != nil || isNull(v) {
		return "", true, fmt.Errorf("%s: %q must be a string", where, key)
	}
	return s, true, nil
}

// needStr reads a required string key.
func (o object) needStr(where, key string) (string, error) {
	s, ok, err := o.str(where, key)
	if err == nil && !ok {
		err = fmt.Errorf("%s: no %q", where, key)
	}
	return s, err
}

// array reads key as an array of raw values.
func (o object) array(where, key string) ([]json.RawMessage, bool, error) {
	v, ok := o[key]
	if !ok {
		return nil, false, nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(v, &a); err != nil || isNull(v) {
		return nil, true, fmt.Errorf("%s: %q must be an array", where, key)
	}
	return a, true, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// chatFields are the fields each role's message may have.
var chatFields = map[string][]string{
	"system":    {"role", "content", "name"},
	"user":      {"role", "content", "name"},
	"assistant": {"role", "content", "name", "refusal", "audio", "tool_calls", "function_call", "weight"},
	"tool":      {"role", "content", "tool_call_id"},
	"function":  {"role", "content", "name"},
}

// checkChat checks one line of OpenAI chat fine-tuning JSONL.
func checkChat(o object) error {
	if err := o.only("the example", "messages", "tools", "parallel_tool_calls", "functions"); err != nil {
		return err
	}
	msgs, ok, err := o.array("the example", "messages")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New(`no "messages": an OpenAI chat example is {"messages": [{"role": ..., "content": ...}, ...]}`)
	case len(msgs) == 0:
		return errors.New(`"messages" is empty`)
	}
	assistant := false
	for i, raw := range msgs {
		where := fmt.Sprintf("message %d", i+1)
		m, err := decodeObject(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		role, err := m.needStr(where, "role")
		if err != nil {
			return err
		}
		fields, known := chatFields[role]
		if !known {
			return fmt.Errorf("%s: role %q: want system, user, assistant, tool or function", where, role)
		}
		if err := m.only(where+" ("+role+")", fields...); err != nil {
			return err
		}
		if err := checkContent(m, where, role); err != nil {
			return err
		}
		if w, ok := m["weight"]; ok && string(w) != "0" && string(w) != "1" {
			return fmt.Errorf("%s: weight %s: want 0 or 1", where, w)
		}
		assistant = assistant || role == "assistant"
	}
	if !assistant {
		return errors.New("no assistant message: an example needs the answer to learn")
	}
	return nil
}

// checkContent checks a chat message's content: a string or an array of
// parts; an assistant making a call may have none.
func checkContent(m object, where, role string) error {
	v, ok := m["content"]
	calls := m["tool_calls"] != nil || m["function_call"] != nil
	if !ok || isNull(v) {
		if role == "assistant" && calls {
			return nil
		}
		return fmt.Errorf("%s: no %q", where, "content")
	}
	var s string
	var parts []json.RawMessage
	if json.Unmarshal(v, &s) != nil && json.Unmarshal(v, &parts) != nil {
		return fmt.Errorf("%s: %q must be a string or an array of parts", where, "content")
	}
	return nil
}

// checkAlpaca checks one Alpaca record.
func checkAlpaca(o object) error {
	const where = "the record"
	if err := o.only(where, "instruction", "input", "output", "system", "history"); err != nil {
		return err
	}
	ins, err := o.needStr(where, "instruction")
	if err != nil {
		return err
	}
	if ins == "" {
		return errors.New(`"instruction" is empty`)
	}
	if _, err := o.needStr(where, "output"); err != nil {
		return err
	}
	for _, k := range []string{"input", "system"} {
		if _, _, err := o.str(where, k); err != nil {
			return err
		}
	}
	if h, ok := o["history"]; ok {
		var pairs [][]string
		if err := json.Unmarshal(h, &pairs); err != nil {
			return fmt.Errorf(`"history" must be an array of [instruction, output] pairs of strings`)
		}
		for i, p := range pairs {
			if len(p) != 2 {
				return fmt.Errorf(`"history" item %d: want [instruction, output], got %d strings`, i+1, len(p))
			}
		}
	}
	return nil
}

// checkShareGPT checks one line of ShareGPT JSONL.
func checkShareGPT(o object) error {
	if err := o.only("the example", "conversations", "system", "tools"); err != nil {
		return err
	}
	for _, k := range []string{"system", "tools"} {
		if _, _, err := o.str("the example", k); err != nil {
			return err
		}
	}
	turns, ok, err := o.array("the example", "conversations")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New(`no "conversations": a ShareGPT example is {"conversations": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}]}`)
	}
	pos := 0 // turns after the system turn
	last := ""
	for i, raw := range turns {
		where := fmt.Sprintf("turn %d", i+1)
		t, err := decodeObject(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if err := t.only(where, "from", "value"); err != nil {
			return err
		}
		from, err := t.needStr(where, "from")
		if err != nil {
			return err
		}
		if _, err := t.needStr(where, "value"); err != nil {
			return err
		}
		human := from == "human" || from == "observation"
		gpt := from == "gpt" || from == "function_call"
		switch {
		case from == "system" && i == 0:
			continue
		case from == "system":
			return fmt.Errorf("%s: a system turn must come first", where)
		case !human && !gpt:
			return fmt.Errorf("%s: from %q: want system, human, gpt (or observation, function_call)", where, from)
		case pos%2 == 0 && !human:
			return fmt.Errorf("%s: from %q where a human turn belongs (turns go human, gpt, human, ...)", where, from)
		case pos%2 == 1 && !gpt:
			return fmt.Errorf("%s: from %q where a gpt turn belongs (turns go human, gpt, human, ...)", where, from)
		}
		pos++
		last = from
	}
	switch {
	case pos == 0:
		return errors.New(`"conversations" has no human and gpt turns`)
	case pos%2 == 1:
		return fmt.Errorf(`"conversations" must end with a gpt turn (the answer to learn); the last is from %q`, last)
	}
	return nil
}
