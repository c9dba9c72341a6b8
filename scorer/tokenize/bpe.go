package tokenize

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

// byteLevelBPE is the ByteLevel pre-tokenizer and the BPE model of GPT-2
// and RoBERTa style tokenizers.
type byteLevelBPE struct {
	addPrefixSpace bool
	useRegex       bool
	// byteID is the vocabulary id of the byte-level character for each
	// byte, or -1 when the vocabulary lacks it (Hugging Face then drops the
	// byte, as this model has no unknown token).
	byteID [256]int32
	// merges maps a pair of ids (left<<32 | right) to its rank and the id
	// of the merged token.
	merges map[uint64]merge
	cache  *wordCache
}

type merge struct {
	rank int32
	id   int32
}

func newByteLevelBPE(addPrefixSpace, useRegex bool, vocab map[string]int32, merges [][2]string) (*byteLevelBPE, error) {
	b := &byteLevelBPE{
		addPrefixSpace: addPrefixSpace,
		useRegex:       useRegex,
		merges:         make(map[uint64]merge, len(merges)),
		cache:          newWordCache(),
	}
	chars := byteLevelAlphabet()
	for i := range b.byteID {
		id, ok := vocab[string(chars[i])]
		if !ok {
			id = -1
		}
		b.byteID[i] = id
	}
	for i, m := range merges {
		l, ok1 := vocab[m[0]]
		r, ok2 := vocab[m[1]]
		id, ok3 := vocab[m[0]+m[1]]
		switch {
		case !ok1:
			return nil, fmt.Errorf("model.merges[%d]: token %q is not in model.vocab", i, m[0])
		case !ok2:
			return nil, fmt.Errorf("model.merges[%d]: token %q is not in model.vocab", i, m[1])
		case !ok3:
			return nil, fmt.Errorf("model.merges[%d]: merged token %q is not in model.vocab", i, m[0]+m[1])
		}
		key := pairKey(l, r)
		if _, dup := b.merges[key]; !dup { // the first (lowest) rank wins
			b.merges[key] = merge{rank: int32(i), id: id}
		}
	}
	return b, nil
}

// byteLevelAlphabet is GPT-2's bytes_to_unicode: printable Latin-1 bytes map
// to themselves, the others to U+0100 onwards.
func byteLevelAlphabet() [256]rune {
	var m [256]rune
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}

func (b *byteLevelBPE) kind() string {
	k := "bpe-bytelevel"
	if !b.addPrefixSpace {
		k += "-noprefix"
	}
	if !b.useRegex {
		k += "-noregex"
	}
	return k
}

// encode appends the ids of one text segment to out, stopping after the
// first word that brings len(out) to limit or more.
func (b *byteLevelBPE) encode(sc *scratch, seg string, out []int32, limit int, _ bool) []int32 {
	if b.addPrefixSpace && (len(seg) == 0 || seg[0] != ' ') {
		seg = " " + seg
	}
	if !b.useRegex {
		return b.word(sc, seg, out)
	}
	for i := 0; i < len(seg) && len(out) < limit; {
		n := nextPreToken(seg[i:])
		out = b.word(sc, seg[i:i+n], out)
		i += n
	}
	return out
}

// nextPreToken returns the byte length of the first match of GPT-2's
// pre-tokenization pattern at the start of s (non-empty):
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func nextPreToken(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		switch s[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if len(s) > 2 && s[2] == 'e' {
				return 3
			}
		case 'l':
			if len(s) > 2 && s[2] == 'l' {
				return 3
			}
		}
	}
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	r, size := decodeRune(s, start)
	class := classOf(r)
	if class == classSpace {
		// \s+(?!\S) then \s+: a run of whitespace, minus its last
		// character when a non-space follows and the run is longer than one.
		i := 0
		last := 0
		for i < len(s) {
			r, size := decodeRune(s, i)
			if classOf(r) != classSpace {
				if last > 0 {
					return last
				}
				return i
			}
			last = i
			i += size
		}
		return i
	}
	// ' ?' followed by one or more characters of the same class.
	i := start + size
	for i < len(s) {
		r, size := decodeRune(s, i)
		if classOf(r) != class {
			break
		}
		i += size
	}
	return i
}

const (
	classLetter = iota
	classNumber
	classSpace
	classOther
)

func classOf(r rune) int {
	switch {
	case isLetter(r):
		return classLetter
	case isNumber(r):
		return classNumber
	case isRegexSpace(r):
		return classSpace
	}
	return classOther
}

// decodeRune decodes the rune at s[i], with an ASCII fast path.
func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// word appends the BPE ids of one pre-token.
func (b *byteLevelBPE) word(sc *scratch, w string, out []int32) []int32 {
	if ids, ok := b.cache.get(w); ok {
		return append(out, ids...)
	}
	syms := sc.syms[:0]
	for i := 0; i < len(w); i++ {
		if id := b.byteID[w[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	syms = b.mergeAll(sc, syms)
	sc.syms = syms
	b.cache.put(w, syms)
	return append(out, syms...)
}

// mergeAll applies merges to syms the way Hugging Face's Word::merge_all
// does: a priority queue of adjacent pairs, lowest rank first and leftmost
// among equal ranks, skipping entries made stale by earlier merges. It runs
// in O(n log n), so a pathological word (100,000 letters) stays fast.
func (b *byteLevelBPE) mergeAll(sc *scratch, syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	if cap(sc.links) < n {
		sc.links = make([]bpeSymbol, n)
	}
	links := sc.links[:n]
	for i, id := range syms {
		links[i] = bpeSymbol{id: id, prev: i - 1, next: i + 1, alive: true}
	}
	links[n-1].next = -1
	q := bpeQueue(sc.queue[:0])
	for i := 0; i+1 < n; i++ {
		if m, ok := b.merges[pairKey(syms[i], syms[i+1])]; ok {
			q.push(bpeMerge{pos: i, rank: m.rank, id: m.id})
		}
	}
	for len(q) > 0 {
		top := q.pop()
		cur := &links[top.pos]
		if !cur.alive || cur.next < 0 {
			continue
		}
		right := links[cur.next]
		if m, ok := b.merges[pairKey(cur.id, right.id)]; !ok || m.id != top.id {
			continue // stale entry
		}
		cur.id = top.id
		links[cur.next].alive = false
		cur.next = right.next
		if right.next >= 0 {
			links[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if m, ok := b.merges[pairKey(links[cur.prev].id, cur.id)]; ok {
				q.push(bpeMerge{pos: cur.prev, rank: m.rank, id: m.id})
			}
		}
		if cur.next >= 0 {
			if m, ok := b.merges[pairKey(cur.id, links[cur.next].id)]; ok {
				q.push(bpeMerge{pos: top.pos, rank: m.rank, id: m.id})
			}
		}
	}
	sc.queue = q
	out := syms[:0]
	for i := range links {
		if links[i].alive {
			out = append(out, links[i].id)
		}
	}
	return out
}

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// bpeSymbol is a node of the doubly linked list of symbols being merged.
type bpeSymbol struct {
	id         int32
	prev, next int // -1 at the ends
	alive      bool
}

// bpeMerge is a candidate merge of the pair starting at pos.
type bpeMerge struct {
	pos  int
	rank int32
	id   int32
}

// bpeQueue is a binary min-heap of merges by (rank, pos).
type bpeQueue []bpeMerge

func (m bpeMerge) before(o bpeMerge) bool {
	return m.rank < o.rank || (m.rank == o.rank && m.pos < o.pos)
}

func (q *bpeQueue) push(m bpeMerge) {
	h := append(*q, m)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bpeQueue) pop() bpeMerge {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].before(h[m]) {
			m = l
		}
		if r < len(h) && h[r].before(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// wordCache remembers the ids of frequent pre-tokens. It stops growing at
// wordCacheCap entries, like Hugging Face's BPE cache.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	wordCacheCap     = 10000
	wordCacheMaxWord = 64 // bytes; longer words are not worth caching
)

func newWordCache() *wordCache {
	return &wordCache{m: make(map[string][]int32)}
}

func (c *wordCache) get(w string) ([]int32, bool) {
	if len(w) > wordCacheMaxWord {
		return nil, false
	}
	c.mu.RLock()
	ids, ok := c.m[w]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(w string, ids []int32) {
	if len(w) > wordCacheMaxWord {
		return
	}
	c.mu.Lock()
	if len(c.m) < wordCacheCap {
		c.m[w] = append([]int32(nil), ids...)
	}
	c.mu.Unlock()
}
