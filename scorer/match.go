package scorer

import (
	"fmt"
	"math"
)

// PRF is one BERTScore triple: precision, recall and their harmonic mean F.
//
// P or R is NaN where the reference leaves it undefined (see Match).
type PRF struct {
	P float64 `json:"P"`
	R float64 `json:"R"`
	F float64 `json:"F"`
}

// Embedding is one sentence as the matching step sees it: a vector per
// token, L2-normalised, and a weight per token.
//
// Every token, special tokens included, is a match target; a token's weight
// decides how much its own best match counts. Real is the number of tokens
// besides the special tokens added around every text ([CLS] … [SEP]): a
// sentence with none scores 0,0,0, as in the reference (which tests the
// length). A special token spelled out in the text counts as real; it
// weighs 0, so a sentence of only such tokens has an undefined P or R.
type Embedding struct {
	Dim     int
	Vecs    []float32 // len(Weights)*Dim, token-major
	Weights []float64
	Real    int
}

// Len is the number of tokens.
func (e Embedding) Len() int { return len(e.Weights) }

// NewEmbedding builds an Embedding from raw token vectors, L2-normalising a
// copy of each. special marks the tokens that are not real (they still are
// match targets); it may be nil.
func NewEmbedding(vecs [][]float32, weights []float64, special []bool) (Embedding, error) {
	if len(vecs) != len(weights) {
		return Embedding{}, fmt.Errorf("embedding: %d vectors but %d weights", len(vecs), len(weights))
	}
	if special != nil && len(special) != len(vecs) {
		return Embedding{}, fmt.Errorf("embedding: %d vectors but %d special flags", len(vecs), len(special))
	}
	e := Embedding{Weights: append([]float64(nil), weights...)}
	if len(vecs) > 0 {
		e.Dim = len(vecs[0])
	}
	e.Vecs = make([]float32, 0, len(vecs)*e.Dim)
	for i, v := range vecs {
		if len(v) != e.Dim {
			return Embedding{}, fmt.Errorf("embedding: vector %d has %d dimensions, want %d", i, len(v), e.Dim)
		}
		e.Vecs = append(e.Vecs, v...)
		if special == nil || !special[i] {
			e.Real++
		}
	}
	normalizeRows(e.Vecs, e.Dim)
	return e, nil
}

// normalizeRows L2-normalises each dim-long row of v in place. The norm is
// accumulated in float64. A zero row stays zero.
func normalizeRows(v []float32, dim int) {
	if dim == 0 {
		return
	}
	for off := 0; off+dim <= len(v); off += dim {
		row := v[off : off+dim : off+dim]
		var s float64
		for _, x := range row {
			s += float64(x) * float64(x)
		}
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(s))
		for k := range row {
			row[k] *= inv
		}
	}
}

// Match scores a candidate against one reference: precision is the
// weighted mean over candidate tokens of each token's best cosine with any
// reference token, recall the same the other way round, F their harmonic
// mean (0 where that is not a number).
//
// As in the reference: a side without real tokens scores 0,0,0; a side
// with real tokens whose weights all are 0 (possible with idf, when every
// token occurs in every reference) leaves its P or R undefined: NaN, with
// F = 0.
func Match(cand, ref Embedding) PRF {
	var m Matcher
	return m.Match(cand, ref)
}

// Matcher holds scratch space so that matching many pairs allocates
// nothing. Its zero value is ready; a Matcher is not safe for concurrent use.
type Matcher struct {
	rowMax, colMax []float32
}

// Match is like the package-level Match, reusing m's scratch space.
func (m *Matcher) Match(cand, ref Embedding) PRF {
	if cand.Real == 0 || ref.Real == 0 || cand.Dim != ref.Dim || cand.Len() == 0 || ref.Len() == 0 {
		return PRF{}
	}
	n, k := cand.Len(), ref.Len()
	m.rowMax = grow(m.rowMax, n)
	m.colMax = grow(m.colMax, k)
	maxSim(cand.Vecs, ref.Vecs, n, k, cand.Dim, m.rowMax, m.colMax)
	p := weightedMean(m.rowMax, cand.Weights)
	r := weightedMean(m.colMax, ref.Weights)
	return PRF{P: p, R: r, F: fScore(p, r)}
}

// fScore is 2PR/(P+R), with 0 where that is not a number.
func fScore(p, r float64) float64 {
	f := 2 * p * r / (p + r)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// weightedMean is Σ w·x / Σ w, NaN when the weights sum to 0.
func weightedMean(x []float32, w []float64) float64 {
	var num, den float64
	for i, wi := range w {
		num += wi * float64(x[i])
		den += wi
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// maxSim computes, for the n×k cosine matrix of rows a (n×dim) and b
// (k×dim), the maximum of every row into rowMax and of every column into
// colMax. It works on blocks of one a-row against four b-rows so each a
// value is loaded once per four products.
func maxSim(a, b []float32, n, k, dim int, rowMax, colMax []float32) {
	negInf := float32(math.Inf(-1))
	for j := range colMax[:k] {
		colMax[j] = negInf
	}
	for i := 0; i < n; i++ {
		ai := a[i*dim : (i+1)*dim : (i+1)*dim]
		best := negInf
		j := 0
		for ; j+4 <= k; j += 4 {
			s0, s1, s2, s3 := dot4(ai, b[j*dim:(j+4)*dim], dim)
			best = max(best, s0, s1, s2, s3)
			colMax[j] = max(colMax[j], s0)
			colMax[j+1] = max(colMax[j+1], s1)
			colMax[j+2] = max(colMax[j+2], s2)
			colMax[j+3] = max(colMax[j+3], s3)
		}
		for ; j < k; j++ {
			s := dot(ai, b[j*dim:(j+1)*dim])
			best = max(best, s)
			colMax[j] = max(colMax[j], s)
		}
		rowMax[i] = best
	}
}

// dot4 returns the dot products of a with the four consecutive dim-long
// rows of b.
func dot4(a, b []float32, dim int) (s0, s1, s2, s3 float32) {
	a = a[:dim]
	b0 := b[0*dim : 1*dim : 1*dim]
	b1 := b[1*dim : 2*dim : 2*dim]
	b2 := b[2*dim : 3*dim : 3*dim]
	b3 := b[3*dim : 4*dim : 4*dim]
	for t, x := range a {
		s0 += x * b0[t]
		s1 += x * b1[t]
		s2 += x * b2[t]
		s3 += x * b3[t]
	}
	return
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 float32
	t := 0
	for ; t+2 <= len(a); t += 2 {
		s0 += a[t] * b[t]
		s1 += a[t+1] * b[t+1]
	}
	if t < len(a) {
		s0 += a[t] * b[t]
	}
	return s0 + s1
}
