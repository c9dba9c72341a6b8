package tokenize

import "unicode"

// Character classes as Hugging Face tokenizers (Rust) defines them. The
// functions take the ASCII fast path first; the Unicode tables come from the
// Go standard library and are corrected where Hugging Face's tables differ
// (checked code point by code point by TestOracleAllCodePoints).

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
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isBertPunct is BertPreTokenizer's is_bert_punc: ASCII punctuation (which
// includes symbols such as $ + < = > ^ ` | ~) or Unicode category P.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.IsPunct(r)
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
	return r >= 0x300 && unicode.Is(unicode.Mn, r)
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
	if r == 0x130 { // LATIN CAPITAL LETTER I WITH DOT ABOVE: "i̇"
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}

// isLetter, isNumber and isRegexSpace are the \p{L}, \p{N} and \s classes of
// the ByteLevel pre-tokenizer's regular expression (Oniguruma, Unicode).
func isLetter(r rune) bool {
	if r < 0x80 {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r)
}

func isNumber(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

func isRegexSpace(r rune) bool {
	return isWhitespace(r)
}
