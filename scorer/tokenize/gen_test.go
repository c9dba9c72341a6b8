package tokenize

import (
	"math/rand/v2"
	"strings"
)

// Deterministic generator of hard tokenizer inputs: many scripts, every
// kind of Unicode whitespace, combining marks, emoji sequences, control,
// format and zero-width characters, full-width forms, punctuation, added
// tokens written in the text and words longer than max_input_chars_per_word.

// runeRange is an inclusive code point range.
type runeRange struct{ lo, hi rune }

var scripts = []struct {
	name   string
	ranges []runeRange
}{
	{"latin", []runeRange{{'a', 'z'}, {'A', 'Z'}, {0xc0, 0xff}, {0x100, 0x17f}, {0x180, 0x24f}, {0x1e00, 0x1eff}}},
	{"cjk", []runeRange{{0x4e00, 0x9fff}, {0x3400, 0x4dbf}, {0x20000, 0x2a6df}, {0x2b740, 0x2b81f}, {0xf900, 0xfaff}, {0x2f800, 0x2fa1f}}},
	{"japanese", []runeRange{{0x3041, 0x3096}, {0x30a1, 0x30fa}, {0xff66, 0xff9f}, {0x3099, 0x309c}}},
	{"korean", []runeRange{{0xac00, 0xd7a3}, {0x1100, 0x11ff}, {0x3131, 0x318e}}},
	{"arabic", []runeRange{{0x0621, 0x064a}, {0x064b, 0x065f}, {0x0660, 0x0669}, {0xfe70, 0xfefc}}},
	{"hebrew", []runeRange{{0x05d0, 0x05ea}, {0x05b0, 0x05c7}}},
	{"cyrillic", []runeRange{{0x0400, 0x04ff}}},
	{"greek", []runeRange{{0x0370, 0x03ff}, {0x1f00, 0x1fff}}},
	{"thai", []runeRange{{0x0e01, 0x0e5b}}},
	{"devanagari", []runeRange{{0x0900, 0x097f}}},
	{"combining", []runeRange{{0x0300, 0x036f}, {0x1ab0, 0x1aff}, {0x20d0, 0x20ff}}},
	{"fullwidth", []runeRange{{0xff01, 0xff5e}, {0x3000, 0x303f}}},
	{"symbols", []runeRange{{0x2000, 0x206f}, {0x20a0, 0x20c0}, {0x2100, 0x214f}, {0x2190, 0x23ff}, {0x2460, 0x24ff}, {0x2500, 0x27bf}, {0xa0, 0xbf}}},
	{"emoji", []runeRange{{0x1f300, 0x1f5ff}, {0x1f600, 0x1f64f}, {0x1f680, 0x1f6ff}, {0x1f900, 0x1f9ff}, {0x1fa70, 0x1faff}}},
	{"other", []runeRange{{0x0530, 0x058f}, {0x10a0, 0x10ff}, {0x0980, 0x09ff}, {0x0b80, 0x0bff}, {0x1780, 0x17ff}, {0xa000, 0xa48f}, {0x10000, 0x1007f}, {0x1d400, 0x1d7ff}}},
	{"control", []runeRange{{0x00, 0x1f}, {0x7f, 0x9f}, {0xe000, 0xe010}, {0xf0000, 0xf0005}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f}, {0xfff0, 0xfffd}, {0x0378, 0x0379}}},
}

// whitespace lists every Unicode White_Space character, Python's extra
// str.isspace characters and the zero-width characters that are not
// whitespace.
var whitespace = []string{
	" ", "\t", "\n", "\v", "\f", "\r", "\r\n", "\x1c", "\x1d", "\x1e", "\x1f", "\u0085", "\u00a0",
	"\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
	"\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f",
	"\u3000", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "  ", "   ",
}

var fragments = []string{
	// words, accents, case mappings that change length
	"Hello", "world", "unbelievably", "naïve", "résumé", "über", "façade", "Ångström",
	"Œuvre", "straße", "STRASSE", "İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "ὈΔΥΣΣΕΎΣ", "ﬁnance",
	"e\u0301", "a\u0308\u0323", "n\u0303", "\u1e9e", "K\u212a", "Å", "ǰ", "ΐ",
	"don't", "it's", "we'll", "they're", "I've", "I'm", "he'd", "'S", "'LL", "''",
	// CJK and friends
	"中文分词测试", "我们今天去公园散步。", "日本語のテキスト", "ｶﾀｶﾅ", "ｶﾞ", "한국어 텍스트",
	"각", "\u1100\u1161\u11a8", "العربية", "مَرْحَبًا", "שָׁלוֹם", "Русский", "Ελληνικά",
	"ภาษาไทย", "हिन्दी", "क़", "தமிழ்",
	// emoji
	"🎵🙂", "✓", "👨\u200d👩\u200d👧\u200d👦", "🇫🇷🇯🇵", "👍🏽", "1️⃣", "❤️", "🏳️\u200d🌈", "🫠",
	// numbers, punctuation, symbols
	"42", "3.14", "1,000", "٣٤", "५", "７８", "Ⅻ", "²", "½", "①", "€100", "$5", "£", "¥",
	"...", "…", "¿Qué?", "¡Hola!", "«quote»", "—", "–", "“smart”", "‘single’", "•", "、", "。",
	"「括弧」", "e-mail:", "test@example.com", "https://example.com/a?b=c&d=e#f", "C++", "a_b",
	"<html>", "#hashtag", "@user", "100%", "^_^", "~", "`code`", "|", "\\", "{x}",
	// added tokens written in the text
	"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "<s>", "</s>", "<mask>", "<pad>", "<unk>",
	"[CLS", "<s", "[[MASK]]", "<s><s>",
	// control, format, private use
	"control\x07char", "\x00", "\ufffd", "\u00ad", "\u200e", "\u202e", "\u2066", "\U000e0041",
	"\ue000", "\U000f0000", "\u0378",
}

// generateTexts returns n deterministic test strings for seed.
func generateTexts(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 0x62657274))
	out := make([]string, 0, n)
	for len(out) < n {
		out = append(out, generateText(rng))
	}
	return out
}

func generateText(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(3) == 0 { // leading whitespace
		b.WriteString(whitespace[rng.IntN(len(whitespace))])
	}
	parts := 1 + rng.IntN(12)
	if rng.IntN(40) == 0 {
		parts = 300 + rng.IntN(400) // long texts that get truncated
	}
	for p := 0; p < parts; p++ {
		switch k := rng.IntN(10); {
		case k < 3:
			b.WriteString(fragments[rng.IntN(len(fragments))])
		case k < 7:
			writeRandomWord(&b, rng, 1+rng.IntN(8))
		case k < 8 && rng.IntN(8) == 0:
			writeRandomWord(&b, rng, 95+rng.IntN(40)) // around max_input_chars_per_word
		default:
			s := scripts[rng.IntN(len(scripts))]
			r := s.ranges[rng.IntN(len(s.ranges))]
			b.WriteRune(r.lo + rune(rng.IntN(int(r.hi-r.lo+1))))
		}
		if rng.IntN(4) != 0 {
			b.WriteString(whitespace[rng.IntN(len(whitespace))])
		}
	}
	if rng.IntN(3) == 0 { // trailing whitespace
		b.WriteString(whitespace[rng.IntN(len(whitespace))])
	}
	return b.String()
}

// writeRandomWord writes n characters from one script, sometimes mixed with
// combining marks or another script.
func writeRandomWord(b *strings.Builder, rng *rand.Rand, n int) {
	s := scripts[rng.IntN(len(scripts))]
	for i := 0; i < n; i++ {
		if rng.IntN(10) == 0 {
			s = scripts[rng.IntN(len(scripts))]
		}
		r := s.ranges[rng.IntN(len(s.ranges))]
		b.WriteRune(r.lo + rune(rng.IntN(int(r.hi-r.lo+1))))
		if rng.IntN(8) == 0 {
			b.WriteRune(0x300 + rune(rng.IntN(0x70)))
		}
	}
}
