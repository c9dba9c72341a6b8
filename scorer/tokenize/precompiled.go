package tokenize

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's normalizer as Hugging Face's "Precompiled"
// normalizer runs it: a double-array trie (darts-clone) from UTF-8 keys to
// offsets of NUL-terminated replacements in a string blob, applied grapheme
// by grapheme.
type precompiled struct {
	array      []uint32
	normalized string
}

func newPrecompiled(b64 string) (*precompiled, error) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("precompiled_charsmap: %w", err)
	}
	if len(data) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap: %d bytes, too short", len(data))
	}
	size := binary.LittleEndian.Uint32(data)
	data = data[4:]
	if size%4 != 0 || int64(size) > int64(len(data)) || size == 0 {
		return nil, fmt.Errorf("precompiled_charsmap: trie size %d does not fit in %d bytes", size, len(data))
	}
	p := &precompiled{array: make([]uint32, size/4), normalized: string(data[size:])}
	for i := range p.array {
		p.array[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	return p, nil
}

// Double-array unit fields (darts-clone).
func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// transform returns the replacement of the shortest key that is a prefix
// of chunk (this is what Hugging Face does, even for multi-character
// graphemes); ok is false when no key is a prefix.
func (p *precompiled) transform(chunk string) (repl string, ok bool) {
	pos := unitOffset(p.array[0])
	for i := 0; i < len(chunk); i++ {
		c := chunk[i]
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.array) {
			return "", false
		}
		u := p.array[pos]
		if unitLabel(u) != uint32(c) {
			return "", false
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			if int(pos) >= len(p.array) {
				return "", false
			}
			start := int(unitValue(p.array[pos]))
			if start > len(p.normalized) {
				return "", false
			}
			end := strings.IndexByte(p.normalized[start:], 0)
			if end < 0 {
				end = len(p.normalized) - start
			}
			return p.normalized[start : start+end], true
		}
	}
	return "", false
}

// apply returns the normalization of s.
func (p *precompiled) apply(s string) string {
	return string(p.appendNormalized(make([]byte, 0, len(s)+8), s))
}

// appendNormalized appends the normalization of s to dst.
func (p *precompiled) appendNormalized(dst []byte, s string) []byte {
	state := -1
	extra := extraGraphemeJoin()
	for len(s) > 0 {
		var g, rest string
		if s[0] < utf8.RuneSelf && (len(s) == 1 || (s[1] < utf8.RuneSelf && (s[0] != '\r' || s[1] != '\n'))) {
			// Fast path: an ASCII character followed by ASCII other than
			// CR LF is a cluster of its own (no rule joins them).
			g, rest, state = s[:1], s[1:], -1
		} else {
			g, rest, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		}
		// Characters that are Extend/SpacingMark in Hugging Face's newer
		// Unicode version but unassigned in uniseg's join the cluster.
		for len(rest) > 0 {
			r, _ := utf8.DecodeRuneInString(rest)
			if r > 0xffff || !extra[r] || breaksAfter(g) {
				break
			}
			var next string
			next, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
			g = s[:len(g)+len(next)]
		}
		s = rest
		if len(g) < 6 {
			if repl, ok := p.transform(g); ok {
				dst = append(dst, repl...)
				continue
			}
		}
		for i := 0; i < len(g); {
			_, size := utf8.DecodeRuneInString(g[i:])
			if repl, ok := p.transform(g[i : i+size]); ok {
				dst = append(dst, repl...)
			} else {
				dst = append(dst, g[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// replaceNormalizer is Hugging Face's "Replace" normalizer: a literal
// string or a regular expression (run with Go's RE2, which agrees with
// Oniguruma on the simple patterns tokenizers use, such as " {2,}").
type replaceNormalizer struct {
	literal string
	re      *regexp.Regexp
	content string
}

func (r *replaceNormalizer) apply(s string) string {
	if r.re != nil {
		return r.re.ReplaceAllLiteralString(s, r.content)
	}
	return strings.ReplaceAll(s, r.literal, r.content)
}

// extraGraphemeJoin marks the BMP characters that join the preceding
// grapheme cluster in Hugging Face's segmentation (hfGraphemeJoin) but start
// a new one in uniseg's, which implements an older Unicode version.
var extraGraphemeJoin = sync.OnceValue(func() []bool {
	extra := make([]bool, 0x10000)
	for _, rg := range hfGraphemeJoin.R16 {
		for c := rune(rg.Lo); c <= rune(rg.Hi); c += rune(rg.Stride) {
			s := "\u00a0" + string(c)
			if g, _, _, _ := uniseg.FirstGraphemeClusterInString(s, -1); len(g) < len(s) {
				extra[c] = true
			}
		}
	}
	return extra
})

// breaksAfter reports whether a grapheme cluster always ends after g
// (g ends with a control character, CR or LF: rule GB4), which uniseg
// shows by not joining a combining acute accent to it.
func breaksAfter(g string) bool {
	last, size := utf8.DecodeLastRuneInString(g)
	probe := string(last) + "\u0301"
	c, _, _, _ := uniseg.FirstGraphemeClusterInString(probe, -1)
	return len(c) == size
}
