package tokenize

import (
	"sort"
	"unicode"
)

//go:generate sh -c "NODE_PATH=../../.deps/node/node_modules node ../../scripts/hf-oracle/gen-unicode-tables.js unicode_tables.go"

// Character classes as Hugging Face tokenizers (Rust) defines them. The
// functions take an ASCII fast path first. Beyond ASCII they use the tables
// in unicode_tables.go, generated from the Hugging Face library itself,
// because it mixes Unicode versions (the unicode_categories crate, about
// Unicode 8, for BertNormalizer and BertPreTokenizer; Rust's std for
// lowercasing; Oniguruma for the ByteLevel regex) that differ from Go's.
// TestOracleAllCodePoints checks every code point against the library.

// isPySpace reports whether Python's str.isspace() is true for r; str.strip()
// removes these characters. Unlike Unicode White_Space it includes the
// information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0,
		0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// isWhitespace is Rust's char::is_whitespace: the Unicode White_Space
// property (U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000).
func isWhitespace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// isBertControl is the BertNormalizer's is_control: Unicode "Other"
// categories, except tab, newline and carriage return (which count as
// whitespace).
func isBertControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	}
	return unicode.Is(hfRemoved, r)
}

// isBertPunct is BertPreTokenizer's is_bert_punc: ASCII punctuation (which
// includes symbols such as $ + < = > ^ ` | ~) or Unicode category P.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.Is(hfPunct, r)
}

// isChineseChar reports whether r is in the CJK ideograph blocks that
// BertNormalizer surrounds with spaces.
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4e00 && r <= 0x9fff,
		r >= 0x3400 && r <= 0x4dbf,
		r >= 0x20000 && r <= 0x2a6df,
		r >= 0x2a700 && r <= 0x2b73f,
		r >= 0x2b740 && r <= 0x2b81f,
		r >= 0x2b920 && r <= 0x2ceaf,
		r >= 0xf900 && r <= 0xfaff,
		r >= 0x2f800 && r <= 0x2fa1f:
		return true
	}
	return false
}

// isMarkNonspacing is Unicode category Mn, which accent stripping removes
// after NFD.
func isMarkNonspacing(r rune) bool {
	return r >= 0x300 && unicode.Is(hfNonspacing, r)
}

// appendLower appends the full lowercase mapping of r (Rust's
// char::to_lowercase, without context) to dst.
func appendLower(dst []rune, r rune) []rune {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	i := sort.Search(len(hfLower), func(i int) bool { return hfLower[i].from >= r })
	if i == len(hfLower) || hfLower[i].from != r {
		return append(dst, r)
	}
	if to := hfLower[i].to; to[1] != 0 {
		return append(dst, to[0], to[1])
	}
	return append(dst, hfLower[i].to[0])
}

// isLetter, isNumber and isRegexSpace are the \p{L}, \p{N} and \s classes of
// the ByteLevel pre-tokenizer's regular expression (Oniguruma, Unicode).
func isLetter(r rune) bool {
	if r < 0x80 {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.Is(hfLetter, r)
}

func isNumber(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.Is(hfNumber, r)
}

func isRegexSpace(r rune) bool {
	return isWhitespace(r)
}

// lowerMapping is one entry of hfLower.
type lowerMapping struct {
	from rune
	to   [2]rune
}
