package tokenize

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// unigram is the SentencePiece pipeline of XLM-RoBERTa-style tokenizers:
// an optional Precompiled normalizer and Replace normalizers, the Metaspace
// pre-tokenizer and the Unigram model (Viterbi over piece log-probabilities,
// unknown characters fused into one unknown token).
type unigram struct {
	normalizers []normalizer // applied in order

	replacement   string // usually "▁"
	prependScheme string // "always", "first" or "never"
	split         bool

	pieces   map[string]int32
	trie     *pieceTrie
	scores   []float64
	unk      int32
	unkScore float64
}

// kUnkPenalty is how much less than the least likely piece an unknown
// character scores (Hugging Face's K_UNK_PENALTY).
const kUnkPenalty = 10.0

func newUnigram(vocab [][2]any, unk int32) (*unigram, error) {
	u := &unigram{pieces: make(map[string]int32, len(vocab)), scores: make([]float64, len(vocab))}
	minScore := math.Inf(1)
	for i, e := range vocab {
		piece, ok1 := e[0].(string)
		score, ok2 := e[1].(float64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("model.vocab[%d]: want [piece, score]", i)
		}
		u.pieces[piece] = int32(i)
		u.scores[i] = score
		minScore = min(minScore, score)
	}
	if unk < 0 || int(unk) >= len(vocab) {
		return nil, fmt.Errorf("model.unk_id %d is outside the vocabulary (size %d)", unk, len(vocab))
	}
	u.unk = unk
	u.unkScore = minScore - kUnkPenalty
	u.trie = newPieceTrie(u.pieces)
	return u, nil
}

func (u *unigram) kind() string {
	k := "unigram-metaspace"
	if u.prependScheme != "always" {
		k += "-" + u.prependScheme
	}
	if !u.split {
		k += "-nosplit"
	}
	return k
}

// encode appends the ids of one text segment; atStart is whether the
// segment begins the (stripped) text, for prepend_scheme "first".
func (u *unigram) encode(sc *scratch, seg string, out []int32, limit int, atStart bool) []int32 {
	s := seg
	for _, n := range u.normalizers {
		s = n.apply(s)
	}
	if s == "" {
		return out
	}
	s = strings.ReplaceAll(s, " ", u.replacement)
	if !strings.HasPrefix(s, u.replacement) &&
		(u.prependScheme == "always" || (u.prependScheme == "first" && atStart)) {
		s = u.replacement + s
	}
	if !u.split {
		return u.viterbi(sc, s, out)
	}
	// Split before every replacement character (MergedWithNext).
	rep := u.replacement
	for len(s) > 0 && len(out) < limit {
		next := len(s)
		if strings.HasPrefix(s, rep) {
			if i := strings.Index(s[len(rep):], rep); i >= 0 {
				next = len(rep) + i
			}
		} else if i := strings.Index(s, rep); i >= 0 {
			next = i
		}
		out = u.viterbi(sc, s[:next], out)
		s = s[next:]
	}
	return out
}

// viterbi appends the most likely segmentation of word into pieces, as
// Hugging Face's Unigram::encode_optimized computes it (ties keep the
// earliest candidate), with runs of unknown characters fused.
func (u *unigram) viterbi(sc *scratch, word string, out []int32) []int32 {
	n := len(word)
	if cap(sc.lattice) < n+1 {
		sc.lattice = make([]latticeNode, n+1)
	}
	best := sc.lattice[:n+1]
	for i := range best {
		best[i] = latticeNode{start: -1}
	}
	for start := 0; start < n; {
		base := best[start].score
		_, charLen := utf8.DecodeRuneInString(word[start:])
		single := false
		// Every piece that is a prefix of word[start:], shortest first.
		for node, end := int32(0), start; end < n; {
			if node = u.trie.child(node, word[end]); node < 0 {
				break
			}
			end++
			id := u.trie.nodes[node].id
			if id < 0 {
				continue
			}
			cand := base + u.scores[id]
			if t := &best[end]; t.start < 0 || cand > t.score {
				*t = latticeNode{start: start, id: id, score: cand}
			}
			if end-start == charLen {
				single = true
			}
		}
		if !single {
			cand := base + u.unkScore
			if t := &best[start+charLen]; t.start < 0 || cand > t.score {
				*t = latticeNode{start: start, id: u.unk, score: cand}
			}
		}
		start += charLen
	}
	// Walk back from the end, collecting pieces in reverse.
	rev := sc.syms[:0]
	for end := n; end > 0; {
		node := best[end]
		if node.id == u.unk {
			// Fuse a run of unknown pieces: the fused string is looked up
			// again and is the unknown id unless it is a piece itself.
			runEnd := end
			for end > 0 && best[end].id == u.unk {
				end = best[end].start
			}
			if id, ok := u.pieces[word[end:runEnd]]; ok {
				rev = append(rev, id)
			} else {
				rev = append(rev, u.unk)
			}
			continue
		}
		rev = append(rev, node.id)
		end = node.start
	}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	sc.syms = rev
	return out
}

// latticeNode is the best path ending at a byte position.
type latticeNode struct {
	start int // -1 when no path ends here yet
	id    int32
	score float64
}

// normalizer is one step of a SentencePiece-style normalizer sequence.
type normalizer interface {
	apply(s string) string
}
