package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Lengths is a sentence length distribution in words: uniform over
// [Min, Max] (Min == Max: every sentence has Min words).
type Lengths struct{ Min, Max int }

// String writes l as ParseLengths reads it.
func (l Lengths) String() string {
	if l.Min == l.Max {
		return strconv.Itoa(l.Min)
	}
	return fmt.Sprintf("%d:%d", l.Min, l.Max)
}

// ParseLengths reads "N" (every sentence N words) or "MIN:MAX" (uniform
// over MIN..MAX words); lengths are from 1 to MaxWords.
func ParseLengths(s string) (Lengths, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if errA != nil || errB != nil {
		return Lengths{}, fmt.Errorf("%q is not N or MIN:MAX (words per sentence, e.g. 15 or 15:40)", s)
	}
	if a < 1 || b > MaxWords || a > b {
		return Lengths{}, fmt.Errorf("%q: want 1 <= MIN <= MAX <= %d words", s, MaxWords)
	}
	return Lengths{Min: a, Max: b}, nil
}

// MaxWords is the longest synthetic sentence, in words (BERT-style
// encoders keep 512 tokens).
const MaxWords = 400

// words are the synthetic sentences' vocabulary: common English words, a
// token or two each for a multilingual WordPiece tokenizer.
var words = strings.Fields(`the of and to in is was for on that with as by at from his her
it an were are which this be or has had not but their also its first one two new after
who they have been more other city time year school world people state during most
between only over such about some these into team where when later under three many
same part since known would united made used found work each then several both while
small long high early river music game family group area house water history number
series north south east west life place season film line book light power order
company station church name street road public story local major form began around
four great second village good large old final`)

// Synthetic returns n candidate/reference pairs, one reference each, of
// lengths drawn from l, from seed: the same seed gives the same pairs.
// Every sentence is distinct from every other (a reference is its
// candidate with about a fifth of the words changed), so the scorer's
// de-duplication saves no work.
func Synthetic(n int, l Lengths, seed uint64) (cands []string, refs [][]string) {
	rng := rand.New(rand.NewPCG(seed, 0x62657274))
	seen := make(map[string]bool, 2*n)
	// unique makes s distinct from every sentence so far, replacing its
	// last word by a numbered one when drawing again does not do it.
	unique := func(ws []string) string {
		s := strings.Join(ws, " ")
		for try := 0; seen[s]; try++ {
			if try < 8 {
				ws[rng.IntN(len(ws))] = words[rng.IntN(len(words))]
			} else {
				ws[len(ws)-1] = "w" + strconv.Itoa(len(seen)+try)
			}
			s = strings.Join(ws, " ")
		}
		seen[s] = true
		return s
	}
	cands = make([]string, n)
	refs = make([][]string, n)
	for i := range n {
		k := l.Min + rng.IntN(l.Max-l.Min+1)
		ws := make([]string, k)
		for j := range ws {
			ws[j] = words[rng.IntN(len(words))]
		}
		cands[i] = unique(ws)
		rs := strings.Fields(cands[i])
		for j := range rs {
			if rng.IntN(5) == 0 {
				rs[j] = words[rng.IntN(len(words))]
			}
		}
		refs[i] = []string{unique(rs)}
	}
	return cands, refs
}
