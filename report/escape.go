package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe escapes what a terminal would act on: control characters (an
// ANSI escape sequence, a carriage return that overwrites the line) and
// the bidirectional controls that reorder text (U+202A–U+202E,
// U+2066–U+2069), each written as \uXXXX; invalid UTF-8 as \xXX. Other
// text is unchanged.
func termSafe(s string) string {
	if !needsTermEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isUnsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsTermEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if isUnsafeRune(r) {
			return true
		}
	}
	return false
}

// isUnsafeRune reports a control character or a bidirectional control.
func isUnsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// mdText escapes untrusted text for a Markdown table cell (GitHub
// Flavored Markdown): <, > and & become entities (no raw HTML), the ASCII
// punctuation that Markdown acts on is backslash-escaped (no emphasis,
// links, images, code spans or headings), | is escaped (no extra cell), a
// word joiner follows every @ (no mention of a user or team), control
// characters and bidirectional controls are dropped, and line breaks
// become <br>. The result is cut to at most limit runes (0: no limit),
// with "…" where it was cut.
func mdText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '\n':
			b.WriteString("<br>")
		case r == '\t':
			b.WriteByte(' ')
		case isUnsafeRune(r):
			// dropped
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '@':
			b.WriteString("@\u2060")
		case r == '.' && i+1 < len(rs) && unicode.IsLetter(rs[i+1]):
			// A word joiner after a dot that a letter follows keeps
			// GitHub from turning www.example.com into a link (numbers
			// keep their dots as they are).
			b.WriteString(".\u2060")
		case strings.ContainsRune("\\`*_{}[]()#+-!|~:$", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// csvText guards an untrusted CSV cell against formula injection: a cell
// that starts with =, +, -, @, a tab, a carriage return or a newline —
// also after leading white space, which some importers trim first — gets a
// leading ' so that spreadsheets read it as text (OWASP's advice). Quoting
// is encoding/csv's.
func csvText(s string) string {
	if t := strings.TrimLeft(s, " "); t != "" && strings.ContainsRune("=+-@\t\r\n", rune(t[0])) {
		return "'" + s
	}
	return s
}
