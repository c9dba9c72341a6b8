package generate

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the form in which texts are compared for duplicates: NFKC,
// lower case, every run of characters that are neither letters, digits nor
// marks replaced by one space, trimmed. "Hello, World!" and "hello world"
// are the same text.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		space = true
	}
	return b.String()
}

// shingleSize is the length, in characters, of the character n-grams two
// texts are compared by.
const shingleSize = 3

// shingles returns the sorted, distinct hashes of the character 3-grams of
// a normalized text; a text shorter than three characters is one shingle.
func shingles(text string) []uint64 {
	runes := []rune(text)
	n := len(runes) - shingleSize + 1
	if n < 1 {
		n = 1
	}
	out := make([]uint64, 0, n)
	var buf [4 * shingleSize]byte
	for i := range n {
		end := min(i+shingleSize, len(runes))
		k := 0
		for _, r := range runes[i:end] {
			k += copy(buf[k:], string(r))
		}
		out = append(out, fnv64(buf[:k]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fnv64 is the 64-bit FNV-1a hash of b.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// jaccard is |a ∩ b| / |a ∪ b| of two sorted sets.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// numHashes is the MinHash signature length.
const numHashes = 128

// minRecall is the least probability with which the LSH bands make a pair
// whose Jaccard similarity is exactly the threshold a candidate; pairs
// above the threshold are found more surely still.
const minRecall = 0.99

// nearIndex finds, among the texts added to it, one whose character
// 3-gram Jaccard similarity to a query reaches a threshold. MinHash
// signatures split into LSH bands pick the candidates (a pair at the
// threshold is a candidate with probability at least minRecall), and each
// candidate is confirmed by its exact Jaccard similarity, so a text is
// never called a near duplicate that is not one. A query costs
// O(numHashes × its length) plus the candidates it meets, rather than a
// comparison with every text added: adding n texts is O(n·k), not O(n²),
// as long as few of them are similar.
type nearIndex struct {
	threshold float64
	bands     int
	rows      int
	seeds     [numHashes]uint64
	buckets   map[uint64][]int // band key → texts
	sets      [][]uint64       // shingles of every text added
}

// newNearIndex returns an index for the threshold in (0, 1].
func newNearIndex(threshold float64) *nearIndex {
	x := &nearIndex{threshold: threshold, buckets: map[uint64][]int{}}
	x.rows, x.bands = bandsFor(threshold)
	s := uint64(0x9e3779b97f4a7c15)
	for i := range x.seeds {
		s = splitmix(s)
		x.seeds[i] = s
	}
	return x
}

// bandsFor picks the LSH layout for a threshold t: the most rows per band
// (the fewest false candidates) whose bands still find a pair at t with
// probability minRecall: 1 - (1 - t^r)^b >= minRecall, b = numHashes / r.
func bandsFor(t float64) (rows, bands int) {
	for r := numHashes; r >= 1; r-- {
		b := numHashes / r
		if 1-math.Pow(1-math.Pow(t, float64(r)), float64(b)) >= minRecall {
			return r, b
		}
	}
	return 1, numHashes
}

// splitmix is one step of the SplitMix64 generator, a good 64-bit mixer.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// bandKeys returns the key of each band of the signature of set.
func (x *nearIndex) bandKeys(set []uint64) []uint64 {
	var sig [numHashes]uint64
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	for _, h := range set {
		for i, seed := range x.seeds {
			if v := splitmix(h ^ seed); v < sig[i] {
				sig[i] = v
			}
		}
	}
	keys := make([]uint64, x.bands)
	buf := make([]byte, 8*(1+x.rows))
	for b := range x.bands {
		binary.LittleEndian.PutUint64(buf, uint64(b))
		for i, v := range sig[b*x.rows : (b+1)*x.rows] {
			binary.LittleEndian.PutUint64(buf[8*(i+1):], v)
		}
		keys[b] = fnv64(buf)
	}
	return keys
}

// near returns the similarity of the most similar text added whose
// similarity to text (normalized) reaches the threshold, and whether there
// is one; keys are text's band keys, for add.
func (x *nearIndex) near(text string) (sim float64, found bool, set, keys []uint64) {
	set = shingles(text)
	keys = x.bandKeys(set)
	seen := map[int]bool{}
	for _, k := range keys {
		for _, id := range x.buckets[k] {
			if seen[id] {
				continue
			}
			seen[id] = true
			if s := jaccard(set, x.sets[id]); s >= x.threshold && s > sim {
				sim, found = s, true
			}
		}
	}
	return sim, found, set, keys
}

// add adds a text by the set and keys near returned for it.
func (x *nearIndex) add(set, keys []uint64) {
	id := len(x.sets)
	x.sets = append(x.sets, set)
	for _, k := range keys {
		x.buckets[k] = append(x.buckets[k], id)
	}
}

// dedup remembers the accepted sources: exactly, by their normalized
// text, and nearly, by a nearIndex (nil when near duplicates are not
// looked for).
type dedup struct {
	exact map[string]bool
	near  *nearIndex
}

func newDedup(threshold float64) *dedup {
	d := &dedup{exact: map[string]bool{}}
	if threshold > 0 {
		d.near = newNearIndex(threshold)
	}
	return d
}

// check says whether source repeats an accepted one, exactly or nearly;
// commit, called if it is accepted, remembers it.
func (d *dedup) check(source string) (reason Reason, commit func()) {
	key := Normalize(source)
	if d.exact[key] {
		return ReasonDuplicate, nil
	}
	var set, keys []uint64
	if d.near != nil {
		var found bool
		if _, found, set, keys = d.near.near(key); found {
			return ReasonNearDuplicate, nil
		}
	}
	return "", func() {
		d.exact[key] = true
		if d.near != nil {
			d.near.add(set, keys)
		}
	}
}

// remember adds an accepted source without checking it (a resumed file).
func (d *dedup) remember(source string) {
	key := Normalize(source)
	d.exact[key] = true
	if d.near != nil {
		set := shingles(key)
		d.near.add(set, d.near.bandKeys(set))
	}
}
