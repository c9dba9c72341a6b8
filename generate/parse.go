package generate

import (
	"encoding/json"
	"strings"
)

// Keys the answer's JSON object may name its two texts by, compared
// without regard to case: the source first, then the reference.
var (
	sourceKeys    = []string{"source", "sentence", "text"}
	referenceKeys = []string{"reference", "translation", "target"}
)

// parseAnswer reads a teacher's answer: the first JSON object in it that
// has a non-empty string under a source key and one under a reference key
// (see sourceKeys, referenceKeys), wherever it stands: alone, inside a
// Markdown code fence, with prose around it, nested in another object.
// When no such object is there and separator is not empty, an answer that
// holds separator is read as "SOURCE SEPARATOR REFERENCE", split at the
// first one. Both texts are trimmed of white space; ok is false when
// either is empty.
func parseAnswer(answer, separator string) (source, reference string, ok bool) {
	for i := strings.IndexByte(answer, '{'); i >= 0; {
		if s, r, ok := pairFrom(answer[i:]); ok {
			return s, r, true
		}
		next := strings.IndexByte(answer[i+1:], '{')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	if separator != "" {
		if s, r, found := strings.Cut(answer, separator); found {
			s, r = strings.TrimSpace(s), strings.TrimSpace(r)
			if s != "" && r != "" {
				return s, r, true
			}
		}
	}
	return "", "", false
}

// pairFrom decodes the JSON object text starts with and takes its pair.
func pairFrom(text string) (source, reference string, ok bool) {
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(strings.NewReader(text)).Decode(&obj); err != nil {
		return "", "", false
	}
	source, reference = field(obj, sourceKeys), field(obj, referenceKeys)
	return source, reference, source != "" && reference != ""
}

// field is the trimmed string under the first of keys obj has (in any
// case), "" when none holds a string.
func field(obj map[string]json.RawMessage, keys []string) string {
	for _, want := range keys {
		for k, raw := range obj {
			if !strings.EqualFold(k, want) {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				if s = strings.TrimSpace(s); s != "" {
					return s
				}
			}
		}
	}
	return ""
}
