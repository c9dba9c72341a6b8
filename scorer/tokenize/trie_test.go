package tokenize

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPieceTrie checks the trie's prefix search against brute force over a
// random vocabulary with shared prefixes, multi-byte characters and the
// empty piece.
func TestPieceTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("ab▁é中😀")
	randWord := func(max int) string {
		var b strings.Builder
		for n := 1 + rng.IntN(max); n > 0; n-- {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	pieces := map[string]int32{"": 0}
	for len(pieces) < 500 {
		pieces[randWord(5)] = int32(len(pieces))
	}
	trie := newPieceTrie(pieces)
	for i := 0; i < 2000; i++ {
		w := randWord(8)
		var want, got []int32
		for end := 1; end <= len(w); end++ {
			if id, ok := pieces[w[:end]]; ok {
				want = append(want, id)
			}
		}
		for node, end := int32(0), 0; end < len(w); end++ {
			if node = trie.child(node, w[end]); node < 0 {
				break
			}
			if id := trie.nodes[node].id; id >= 0 {
				got = append(got, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("prefixes of %q: trie %v, brute force %v", w, got, want)
		}
	}
}
