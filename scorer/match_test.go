package scorer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bertbench/bertbench/internal/testkit"
)

func mustEmbedding(t *testing.T, vecs [][]float32, weights []float64, special []bool) Embedding {
	t.Helper()
	e, err := NewEmbedding(vecs, weights, special)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMatchToyCase is the hand-made case: special tokens are match
// targets (the candidate's b matches the reference's SEP) but weigh 0.
func TestMatchToyCase(t *testing.T) {
	cand := mustEmbedding(t,
		[][]float32{{1, 0}, {1, 1}, {0, 1}, {1, -1}}, // CLS a b SEP
		[]float64{0, 1, 1, 0}, []bool{true, false, false, true})
	ref := mustEmbedding(t,
		[][]float32{{1, 0}, {1, 2}, {0, 1}}, // CLS c SEP
		[]float64{0, 1, 0}, []bool{true, false, true})
	got := Match(cand, ref)
	want := PRF{P: 0.974342, R: 0.948683, F: 0.961341}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"P", got.P, want.P}, {"R", got.R, want.R}, {"F", got.F, want.F}} {
		if math.Abs(c.got-c.want) > 5e-7 {
			t.Errorf("%s = %.7f, want %.6f", c.name, c.got, c.want)
		}
	}
}

func TestMatchEdgeCases(t *testing.T) {
	specials := []bool{true, false, true}
	full := func(w float64) Embedding {
		return mustEmbedding(t, [][]float32{{1, 0}, {1, 1}, {0, 1}}, []float64{0, w, 0}, specials)
	}
	onlySpecials := mustEmbedding(t, [][]float32{{1, 0}, {0, 1}}, []float64{0, 0}, []bool{true, true})
	tests := []struct {
		name      string
		cand, ref Embedding
		want      PRF // NaN marks an undefined component
	}{
		{"empty candidate", onlySpecials, full(1), PRF{}},
		{"empty reference", full(1), onlySpecials, PRF{}},
		{"both empty", onlySpecials, onlySpecials, PRF{}},
		{"no tokens at all", Embedding{}, full(1), PRF{}},
		{"identical", full(1), full(1), PRF{P: 1, R: 1, F: 1}},
		{"zero-weight candidate", full(0), full(1), PRF{P: math.NaN(), R: 1, F: 0}},
		{"zero-weight reference", full(1), full(0), PRF{P: 1, R: math.NaN(), F: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Match(tc.cand, tc.ref)
			testkit.ComparePRF(t, tc.name, [][3]float64{{got.P, got.R, got.F}}, [][3]float64{{tc.want.P, tc.want.R, tc.want.F}}, 1e-6)
		})
	}
}

func TestNewEmbeddingRejectsRaggedInput(t *testing.T) {
	if _, err := NewEmbedding([][]float32{{1, 0}, {1}}, []float64{1, 1}, nil); err == nil {
		t.Error("vectors of different lengths: no error")
	}
	if _, err := NewEmbedding([][]float32{{1, 0}}, []float64{1, 1}, nil); err == nil {
		t.Error("more weights than vectors: no error")
	}
}

// naiveMaxSim is the obvious triple loop, in float64.
func naiveMaxSim(a, b []float32, n, k, dim int) (rowMax, colMax []float64) {
	rowMax = make([]float64, n)
	colMax = make([]float64, k)
	for i := range rowMax {
		rowMax[i] = math.Inf(-1)
	}
	for j := range colMax {
		colMax[j] = math.Inf(-1)
	}
	for i := range n {
		for j := range k {
			var s float64
			for t := range dim {
				s += float64(a[i*dim+t]) * float64(b[j*dim+t])
			}
			rowMax[i] = max(rowMax[i], s)
			colMax[j] = max(colMax[j], s)
		}
	}
	return rowMax, colMax
}

// TestMaxSimMatchesNaive checks the blocked kernel against the triple loop
// for shapes that do and do not fill whole blocks.
func TestMaxSimMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 4, 64}, {13, 9, 48}, {2, 31, 768}} {
		n, k, dim := shape[0], shape[1], shape[2]
		a := make([]float32, n*dim)
		b := make([]float32, k*dim)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		normalizeRows(a, dim)
		normalizeRows(b, dim)
		rowMax, colMax := make([]float32, n), make([]float32, k)
		maxSim(a, b, n, k, dim, rowMax, colMax)
		wr, wc := naiveMaxSim(a, b, n, k, dim)
		for i := range n {
			if math.Abs(float64(rowMax[i])-wr[i]) > 1e-6 {
				t.Errorf("%v row %d: %v, want %v", shape, i, rowMax[i], wr[i])
			}
		}
		for j := range k {
			if math.Abs(float64(colMax[j])-wc[j]) > 1e-6 {
				t.Errorf("%v col %d: %v, want %v", shape, j, colMax[j], wc[j])
			}
		}
	}
}

func TestMatcherReuseAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(n int) Embedding {
		vecs := make([][]float32, n)
		w := make([]float64, n)
		for i := range vecs {
			vecs[i] = make([]float32, 32)
			for d := range vecs[i] {
				vecs[i][d] = float32(rng.NormFloat64())
			}
			w[i] = 1
		}
		return mustEmbedding(t, vecs, w, nil)
	}
	c, r := mk(20), mk(25)
	var m Matcher
	m.Match(c, r)
	if n := testing.AllocsPerRun(100, func() { m.Match(c, r) }); n != 0 {
		t.Errorf("Matcher.Match allocates %v times per pair, want 0", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	mk := func(n, dim int) Embedding {
		e := Embedding{Dim: dim, Vecs: make([]float32, n*dim), Weights: make([]float64, n), Real: n}
		for i := range e.Vecs {
			e.Vecs[i] = float32(rng.NormFloat64())
		}
		for i := range e.Weights {
			e.Weights[i] = 1
		}
		normalizeRows(e.Vecs, dim)
		return e
	}
	c, r := mk(40, 768), mk(40, 768)
	var m Matcher
	b.ReportAllocs()
	for b.Loop() {
		m.Match(c, r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

func TestGrowArena(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name           string
		have, need     int // have: the arena's capacity
		wantCap        int
		wantReallocate bool
	}{
		{"first chunk", 0, 300, 300, true},
		{"fits", 800, 500, 800, false},
		{"doubles", 300, 400, 600, true},
		{"doubles, capped at the limit", 600, 700, limit, true},
		{"a chunk larger than twice the arena", 100, 900, 900, true},
		{"a single pair beyond the limit", limit, 1500, 1500, true},
	}
	for _, tc := range tests {
		old := make([]float32, 0, tc.have)
		got := growArena(old, tc.need, limit)
		if len(got) != tc.need || cap(got) != tc.wantCap {
			t.Errorf("%s: len %d cap %d, want %d and %d", tc.name, len(got), cap(got), tc.need, tc.wantCap)
		}
		if reused := tc.have > 0 && &got[:1][0] == &old[:1][0]; reused == tc.wantReallocate {
			t.Errorf("%s: reallocated %v, want %v", tc.name, !reused, tc.wantReallocate)
		}
	}
}
