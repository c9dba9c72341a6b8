package tokenize

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertOptions are the BertNormalizer settings.
type bertOptions struct {
	cleanText     bool
	chineseChars  bool
	stripAccents  bool
	lowercase     bool
	maxWordChars  int
	subwordPrefix string
}

// wordPiece is BertNormalizer + BertPreTokenizer + the WordPiece model,
// fused into one pass over the text.
type wordPiece struct {
	opt bertOptions
	// vocab maps word-initial pieces to ids; cont maps continuation pieces,
	// keyed without the continuing-subword prefix, to ids.
	vocab, cont map[string]int32
	// maxPiece and maxCont are the longest keys of vocab and cont in bytes:
	// longer substrings cannot match, so the greedy search starts there.
	maxPiece, maxCont int
	unk               int32
}

func newWordPiece(opt bertOptions, vocab map[string]int32, unkToken string) (*wordPiece, error) {
	unk, ok := vocab[unkToken]
	if !ok {
		return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", unkToken)
	}
	w := &wordPiece{
		opt:   opt,
		vocab: make(map[string]int32, len(vocab)),
		cont:  make(map[string]int32),
		unk:   unk,
	}
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab[%q]: negative id %d", tok, id)
		}
		w.vocab[tok] = id
		w.maxPiece = max(w.maxPiece, len(tok))
		if opt.subwordPrefix != "" && strings.HasPrefix(tok, opt.subwordPrefix) {
			rest := tok[len(opt.subwordPrefix):]
			w.cont[rest] = id
			w.maxCont = max(w.maxCont, len(rest))
		}
	}
	if opt.subwordPrefix == "" {
		w.cont, w.maxCont = w.vocab, w.maxPiece
	}
	return w, nil
}

// kind describes the normalization for Tokenizer.Kind.
func (w *wordPiece) kind() string {
	k := "wordpiece"
	if w.opt.lowercase {
		k += "-uncased"
	} else {
		k += "-cased"
	}
	if w.opt.stripAccents {
		k += "-strip"
	}
	if !w.opt.cleanText {
		k += "-noclean"
	}
	if !w.opt.chineseChars {
		k += "-nocjk"
	}
	return k
}

// encode appends the ids of one text segment (no added tokens inside) to
// out. It stops after the first word that brings len(out) to limit or more.
func (w *wordPiece) encode(sc *scratch, seg string, out []int32, limit int, _ bool) []int32 {
	if w.opt.stripAccents && !isASCII(seg) {
		// NFD must see the whole segment (canonical reordering), after
		// cleaning and CJK spacing, as Hugging Face orders them.
		sc.buf = w.cleanAndSpace(sc.buf[:0], seg)
		sc.nfd = appendNFD(sc.nfd[:0], sc.buf)
		return w.split(sc, string(sc.nfd), out, limit, false)
	}
	return w.split(sc, seg, out, limit, true)
}

// noDecompose is U+11938 DIVES AKURU VOWEL SIGN O, whose canonical
// decomposition (Unicode 13) the normalization tables of Hugging Face
// tokenizers 0.23 do not have. It is a starter (combining class 0), so NFD
// of the text on either side of it is independent of it.
const noDecompose = "\U00011938"

// appendNFD appends the NFD form of b to dst, as Hugging Face computes it.
func appendNFD(dst, b []byte) []byte {
	for {
		i := bytes.Index(b, []byte(noDecompose))
		if i < 0 {
			return norm.NFD.Append(dst, b...)
		}
		dst = norm.NFD.Append(dst, b[:i]...)
		dst = append(dst, noDecompose...)
		b = b[i+len(noDecompose):]
	}
}

// cleanAndSpace applies clean_text and handle_chinese_chars to s.
func (w *wordPiece) cleanAndSpace(dst []byte, s string) []byte {
	for _, r := range s {
		if w.opt.cleanText {
			if r == 0 || r == utf8.RuneError || isBertControl(r) {
				continue
			}
			if r == '\t' || r == '\n' || r == '\r' || isWhitespace(r) {
				r = ' '
			}
		}
		if w.opt.chineseChars && isChineseChar(r) {
			dst = append(dst, ' ')
			dst = utf8.AppendRune(dst, r)
			dst = append(dst, ' ')
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// split runs the rest of the normalizer (clean_text and CJK spacing when
// first is true, accent stripping when the text is already NFD, lowercasing),
// splits on whitespace and punctuation and feeds each word to WordPiece.
func (w *wordPiece) split(sc *scratch, s string, out []int32, limit int, first bool) []int32 {
	word := sc.word[:0]
	flush := func() {
		if len(word) > 0 {
			out = w.piece(word, out)
			word = word[:0]
		}
	}
	var lowered [2]rune
	for i := 0; i < len(s); {
		if len(word) == 0 && len(out) >= limit {
			break
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if first {
			if w.opt.cleanText {
				if r == 0 || r == utf8.RuneError || isBertControl(r) {
					continue
				}
			}
			if w.opt.chineseChars && isChineseChar(r) {
				flush()
				word = utf8.AppendRune(word, r)
				flush()
				continue
			}
		} else if w.opt.stripAccents && isMarkNonspacing(r) {
			continue
		}
		rs := lowered[:1]
		rs[0] = r
		if w.opt.lowercase {
			rs = appendLower(lowered[:0], r)
		}
		for _, r := range rs {
			switch {
			case isWhitespace(r):
				flush()
			case isBertPunct(r):
				flush()
				word = utf8.AppendRune(word, r)
				flush()
			default:
				word = utf8.AppendRune(word, r)
			}
		}
	}
	flush()
	sc.word = word
	return out
}

// piece appends the WordPiece ids of one word: greedy longest match first,
// the whole word as the unknown token if any part cannot be matched or the
// word has more than max_input_chars_per_word characters.
func (w *wordPiece) piece(word []byte, out []int32) []int32 {
	if utf8.RuneCount(word) > w.opt.maxWordChars {
		return append(out, w.unk)
	}
	n0 := len(out)
	for start := 0; start < len(word); {
		vocab, maxLen := w.vocab, w.maxPiece
		if start > 0 {
			vocab, maxLen = w.cont, w.maxCont
		}
		end := min(len(word), start+maxLen)
		for end > start && !utf8.RuneStart(byteAt(word, end)) {
			end--
		}
		found := false
		for end > start {
			if id, ok := vocab[string(word[start:end])]; ok {
				out = append(out, id)
				found = true
				break
			}
			end--
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		if !found {
			return append(out[:n0], w.unk)
		}
		start = end
	}
	return out
}

// byteAt returns b[i], or a rune-start byte when i == len(b).
func byteAt(b []byte, i int) byte {
	if i >= len(b) {
		return 0
	}
	return b[i]
}

// isASCII reports whether s has only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
