package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, World!":     "hello world",
		"  hello   world  ": "hello world",
		"ＨＥＬＬＯ　ｗｏｒｌｄ":       "hello world", // NFKC: full-width letters and space
		"naïve café":        "naïve café",
		"今天，天气很好。":          "今天 天气很好",
		"---":               "",
		"It's 3 o'clock.":   "it s 3 o clock",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJaccard(t *testing.T) {
	a, b := shingles("abcd"), shingles("abce") // {abc, bcd} and {abc, bce}
	if got := jaccard(a, b); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("jaccard = %v, want 1/3", got)
	}
	if got := jaccard(a, a); got != 1 {
		t.Errorf("jaccard(a, a) = %v", got)
	}
	if len(shingles("ab")) != 1 || len(shingles("")) != 1 {
		t.Error("a text shorter than a shingle is one shingle")
	}
}

// TestBandsFor: the LSH layout finds a pair at the threshold with
// probability at least minRecall, with as many rows per band as allow it.
func TestBandsFor(t *testing.T) {
	for _, th := range []float64{0.3, 0.5, 0.8, 0.9, 0.95, 1} {
		r, b := bandsFor(th)
		p := func(r, b int) float64 { return 1 - math.Pow(1-math.Pow(th, float64(r)), float64(b)) }
		if r*b > numHashes || p(r, b) < minRecall {
			t.Errorf("threshold %v: %d rows × %d bands: recall %v", th, r, b, p(r, b))
		}
		if r < numHashes && p(r+1, numHashes/(r+1)) >= minRecall {
			t.Errorf("threshold %v: %d rows, but %d would do", th, r, r+1)
		}
	}
}

// sentence makes a random sentence of n words from a small vocabulary.
func sentence(rng *rand.Rand, n int) string {
	words := strings.Fields("the a cat dog sat on mat red blue big small house tree sun moon runs sees hello world good day night water fire book road city river stone bird")
	w := make([]string, n)
	for i := range w {
		w[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(w, " ")
}

// TestNearIndexMatchesBruteForce: over texts with planted near duplicates
// (one word changed), the index flags the same texts as comparing every
// pair exactly does.
func TestNearIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var texts []string
	for range 400 {
		s := sentence(rng, 8+rng.IntN(8))
		texts = append(texts, s)
		if rng.IntN(3) == 0 { // a near copy: one word swapped
			w := strings.Fields(s)
			w[rng.IntN(len(w))] = "zebra"
			texts = append(texts, strings.Join(w, " "))
		}
	}
	const th = 0.7
	x := newNearIndex(th)
	var kept [][]uint64
	flagged, want := 0, 0
	for i, s := range texts {
		key := Normalize(s)
		_, found, set, keys := x.near(key)
		brute := false
		for _, k := range kept {
			if jaccard(set, k) >= th {
				brute = true
				break
			}
		}
		if found != brute {
			t.Errorf("text %d %q: index says %v, brute force %v", i, s, found, brute)
		}
		if brute {
			want++
		}
		if found {
			flagged++
			continue
		}
		x.add(set, keys)
		kept = append(kept, set)
	}
	if want == 0 {
		t.Fatal("the corpus has no near duplicates: the test tests nothing")
	}
	t.Logf("%d of %d texts near duplicates", flagged, len(texts))
}

func TestDedup(t *testing.T) {
	d := newDedup(0.8)
	accept := func(s string) Reason {
		r, commit := d.check(s)
		if r == "" {
			commit()
		}
		return r
	}
	for _, tc := range []struct{ text, want string }{
		{"The quick brown fox jumps over the lazy dog.", ""},
		{"the quick brown fox jumps over the lazy dog", string(ReasonDuplicate)},
		{"The quick brown fox jumped over the lazy dog.", string(ReasonNearDuplicate)},
		{"A completely different sentence about the weather.", ""},
	} {
		if got := accept(tc.text); string(got) != tc.want {
			t.Errorf("%q: %q, want %q", tc.text, got, tc.want)
		}
	}
	exact := newDedup(0)
	exact.remember("The quick brown fox jumps over the lazy dog.")
	if r, _ := exact.check("The quick brown fox jumped over the lazy dog."); r != "" {
		t.Errorf("near duplicates off, but %q", r)
	}
	if r, _ := exact.check("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"); r != ReasonDuplicate {
		t.Errorf("a remembered text is not a duplicate: %q", r)
	}
}

// BenchmarkNearIndex adds n distinct sentences to an index, each checked
// first: ns/text stays flat as n grows (O(n·k) in all, not O(n²)).
func BenchmarkNearIndex(b *testing.B) {
	for _, n := range []int{1000, 4000, 16000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			texts := make([]string, n)
			for i := range texts {
				texts[i] = Normalize(sentence(rng, 12) + fmt.Sprint(i))
			}
			b.ResetTimer()
			for range b.N {
				x := newNearIndex(DefaultNearDuplicate)
				for _, s := range texts {
					if _, found, set, keys := x.near(s); !found {
						x.add(set, keys)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/text")
		})
	}
}
