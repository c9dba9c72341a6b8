package scorer_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/scorer"
)

// fakeEncoder is an Encoder without a runtime: token id k's hidden state
// is a fixed pseudo-random vector of dim values, whatever its context. It
// proves the interface is all the scorer needs.
type fakeEncoder struct {
	dim   int
	calls atomic.Int64
}

func (f *fakeEncoder) vector(id int32) []float32 {
	v := make([]float32, f.dim)
	for k := range v {
		v[k] = float32(math.Sin(float64(id)*0.7311*float64(k+1) + float64(k)))
	}
	return v
}

func (f *fakeEncoder) Encode(ctx context.Context, b scorer.Batch) (scorer.Hidden, error) {
	if err := ctx.Err(); err != nil {
		return scorer.Hidden{}, err
	}
	f.calls.Add(1)
	seq := 0
	for _, s := range b.IDs {
		seq = max(seq, len(s))
	}
	h := scorer.Hidden{Data: make([]float32, len(b.IDs)*seq*f.dim), Seq: seq, Dim: f.dim}
	for r, s := range b.IDs {
		for t := range seq {
			id := b.Pad
			if t < len(s) {
				id = s[t]
			}
			copy(h.Data[(r*seq+t)*f.dim:], f.vector(id))
		}
	}
	return h, nil
}

func (f *fakeEncoder) Info() scorer.EncoderInfo {
	return scorer.EncoderInfo{Runtime: "fake", RuntimeVersion: "1", Device: "cpu", Precision: "fp32", WeightsDigest: strings.Repeat("ab", 32), LoadTime: fakeLoadTime}
}

// fakeLoadTime is how long the fake encoder says loading took.
const fakeLoadTime = 42 * time.Millisecond

// naiveScore scores a pair from scratch with the fake encoder's vectors,
// through the exported matching step: the best P, R and F over the
// references, the specials weighing 0.
func naiveScore(t *testing.T, f *fakeEncoder, tok scorer.Tokenizer, cand string, refs []string) scorer.PRF {
	t.Helper()
	emb := func(text string) scorer.Embedding {
		b, err := tok.EncodeBatch([]string{text}, 1)
		if err != nil {
			t.Fatal(err)
		}
		ids := b.IDs[0]
		vecs := make([][]float32, len(ids))
		weights := make([]float64, len(ids))
		special := make([]bool, len(ids))
		for i, id := range ids {
			vecs[i] = f.vector(id)
			// The tokenizer adds one special token at each end.
			special[i] = i == 0 || i == len(ids)-1
			if !special[i] {
				weights[i] = 1
			}
		}
		e, err := scorer.NewEmbedding(vecs, weights, special)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	c := emb(cand)
	var best scorer.PRF
	for k, r := range refs {
		p := scorer.Match(c, emb(r))
		if k == 0 {
			best = p
			continue
		}
		best = scorer.PRF{P: max(best.P, p.P), R: max(best.R, p.R), F: max(best.F, p.F)}
	}
	return best
}

// corpus returns n distinct pairs of tiny-mbert text, some with two
// references.
func corpus(t testing.TB, n int) (cands []string, refs [][]string) {
	t.Helper()
	g := fixture.ReadGolden(t, "tiny-mbert")
	c := g.Case(t, "plain")
	flat := c.FlatRefs(t)
	for i := range n {
		k := i % len(c.Cands)
		cands = append(cands, fmt.Sprintf("%s %d", c.Cands[k], i))
		rs := []string{fmt.Sprintf("%s %d", flat[k], i)}
		if i%3 == 0 {
			rs = append(rs, fmt.Sprintf("%s %d", c.Cands[(k+1)%len(c.Cands)], i))
		}
		refs = append(refs, rs)
	}
	return cands, refs
}

func rowsOf(ps []scorer.PRF) [][3]float64 {
	out := make([][3]float64, len(ps))
	for i, p := range ps {
		out[i] = [3]float64{p.P, p.R, p.F}
	}
	return out
}

// TestFakeEncoder: a scorer over an Encoder that is not ONNX Runtime
// scores as the matching step says it should, and its Config and hash
// name that encoder, not a default.
func TestFakeEncoder(t *testing.T) {
	f := &fakeEncoder{dim: 16}
	tok := tokenizerOf(t, fixture.Dir(t, "tiny-mbert"))
	s, err := scorer.New(f, tok, scorer.Options{Model: "fake", Layer: 2, ChunkTokens: 100, BatchTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	cands, refs := corpus(t, 60)
	cands = append(cands, "今天天气很好。", "")
	refs = append(refs, []string{"今天天气很好。"}, []string{"x"})
	res, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][3]float64, len(cands))
	for i := range cands {
		p := naiveScore(t, f, tok, cands[i], refs[i])
		want[i] = [3]float64{p.P, p.R, p.F}
	}
	want[len(want)-1] = [3]float64{} // an empty candidate scores 0
	testkit.ComparePRF(t, "fake encoder", rowsOf(res.Pairs), want, 1e-6)
	if p := res.Pairs[len(cands)-2]; math.Abs(p.F-1) > 1e-6 {
		t.Errorf("identical sentences score %+v, want 1", p)
	}
	if f.calls.Load() != int64(res.Stats.Batches) || res.Stats.Batches < 2 || res.Stats.Chunks < 2 {
		t.Errorf("stats %+v after %d encoder calls", res.Stats, f.calls.Load())
	}
	// Where the time went: each stage measured, the model's load time the
	// encoder's own.
	st := res.Stats
	if st.Tokenize <= 0 || st.Encode <= 0 || st.Match <= 0 || st.Wall < st.Encode || st.Wall < st.Match || st.ModelLoad != fakeLoadTime {
		t.Errorf("stage times: tokenize %v, encode %v, match %v, wall %v, model load %v (want %v)", st.Tokenize, st.Encode, st.Match, st.Wall, st.ModelLoad, fakeLoadTime)
	}
	rt := res.Config.Runtime
	if rt.Runtime != "fake" || rt.Device != "cpu" || rt.Precision != "fp32" || res.Config.Score.WeightsDigest != strings.Repeat("ab", 32) {
		t.Errorf("config %+v does not describe the fake encoder", res.Config)
	}
	if h := res.Hash; !strings.HasPrefix(h, "fake_L2_no-idf_version="+scorer.Version+"(tokenizer=wordpiece-cased@") || !strings.Contains(h, ",weights=abababab,runtime=fake-1,provider=cpu,fp32)") {
		t.Errorf("hash %q", h)
	}
}

// pairsOf yields the pairs one by one, counting how many were taken (the
// scorer reads them on a goroutine of its own).
func pairsOf(cands []string, refs [][]string, taken *atomic.Int64) iter.Seq2[scorer.Pair, error] {
	return func(yield func(scorer.Pair, error) bool) {
		for i := range cands {
			taken.Store(int64(i + 1))
			if !yield(scorer.Pair{Cand: cands[i], Refs: refs[i]}, nil) {
				return
			}
		}
	}
}

// TestStreamChunks: the callback receives every pair exactly once, in
// input order, chunk after chunk as they are matched, with the scores
// Score gives; the input is read only a little ahead of the chunk handed
// over (a few chunks' worth, never the corpus), and the embeddings held
// stay within a chunk. With a baseline, each chunk comes rescaled.
func TestStreamChunks(t *testing.T) {
	f := &fakeEncoder{dim: 8}
	tok := tokenizerOf(t, fixture.Dir(t, "tiny-mbert"))
	const chunkTokens = 300
	cands, refs := corpus(t, 6000)
	for _, b := range []*scorer.Baseline{nil, {P: 0.2, R: 0.3, F: 0.25}} {
		t.Run(fmt.Sprintf("baseline %v", b != nil), func(t *testing.T) {
			s, err := scorer.New(f, tok, scorer.Options{Model: "fake", ChunkTokens: chunkTokens, BatchTokens: 64, Baseline: b})
			if err != nil {
				t.Fatal(err)
			}
			whole, err := s.Score(context.Background(), cands, refs)
			if err != nil {
				t.Fatal(err)
			}
			var taken atomic.Int64
			next, chunks, widest, ahead := 0, 0, 0, 0
			var got []scorer.PRF
			sum, err := s.Stream(context.Background(), pairsOf(cands, refs, &taken), func(c scorer.Chunk) error {
				if c.Start != next || len(c.Pairs) == 0 {
					t.Fatalf("chunk %d starts at %d with %d pairs, want the next pair %d", chunks, c.Start, len(c.Pairs), next)
				}
				next += len(c.Pairs)
				chunks++
				widest = max(widest, len(c.Pairs))
				ahead = max(ahead, int(taken.Load())-next)
				got = append(got, c.Pairs...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if next != len(cands) || sum.Count != len(cands) || sum.Stats.Chunks != chunks {
				t.Fatalf("%d pairs in %d chunks handed over, summary %d pairs in %d chunks; want %d pairs", next, chunks, sum.Count, sum.Stats.Chunks, len(cands))
			}
			testkit.ComparePRF(t, "stream vs score", rowsOf(got), rowsOf(whole.Pairs), 0)
			if sum.Mean != whole.Mean || sum.Hash != whole.Hash {
				t.Errorf("summary %+v, Score's %+v", sum.Mean, whole.Mean)
			}
			// Every pair has at least 8 tokens, so a chunk holds at most
			// chunkTokens/8 pairs; what was read beyond the pairs handed
			// over is a few chunks (the one matched, one queued, one being
			// planned, and the group tokenized for it), not the corpus.
			if widest > chunkTokens/8 {
				t.Errorf("a chunk of %d pairs, more than %d tokens' worth", widest, chunkTokens)
			}
			if bound := 4*widest + 16; ahead > bound {
				t.Errorf("the input was read %d pairs ahead of the scores handed over, more than %d (4 chunks)", ahead, bound)
			}
			t.Logf("%d chunks of up to %d pairs; input read at most %d pairs ahead; peak embeddings %d B", chunks, widest, ahead, sum.Stats.PeakEmbeddingBytes)
			if peak := sum.Stats.PeakEmbeddingBytes; peak > chunkTokens*f.dim*4 {
				t.Errorf("peak embedding memory %d B > one chunk's %d B", peak, chunkTokens*f.dim*4)
			}
			if b != nil {
				plain, err := scorer.New(f, tok, scorer.Options{Model: "fake", ChunkTokens: chunkTokens})
				if err != nil {
					t.Fatal(err)
				}
				raw, err := plain.Score(context.Background(), cands[:50], refs[:50])
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range raw.Pairs {
					if w := b.Rescale(p); math.Abs(w.F-got[i].F) > 1e-12 || math.Abs(w.P-got[i].P) > 1e-12 {
						t.Fatalf("pair %d: streamed %+v, want the rescaled %+v", i, got[i], w)
					}
				}
			}
		})
	}
}

// TestStreamStops: an error from the input or from the callback ends the
// stream with that error and no callback after it; a pair without a
// reference is an input error naming it; cancelling stops it.
func TestStreamStops(t *testing.T) {
	f := &fakeEncoder{dim: 8}
	tok := tokenizerOf(t, fixture.Dir(t, "tiny-mbert"))
	s, err := scorer.New(f, tok, scorer.Options{Model: "fake", ChunkTokens: 200})
	if err != nil {
		t.Fatal(err)
	}
	cands, refs := corpus(t, 500)
	readErr := errors.New("disk on fire")
	failing := func(yield func(scorer.Pair, error) bool) {
		for i := range cands {
			if i == 300 {
				yield(scorer.Pair{}, readErr)
				return
			}
			if !yield(scorer.Pair{Cand: cands[i], Refs: refs[i]}, nil) {
				return
			}
		}
	}
	seen := 0
	_, err = s.Stream(context.Background(), failing, func(c scorer.Chunk) error { seen += len(c.Pairs); return nil })
	if !errors.Is(err, readErr) || seen >= 300 {
		t.Errorf("input error: %v after %d pairs handed over", err, seen)
	}
	stop := errors.New("store full")
	calls := 0
	var taken atomic.Int64
	_, err = s.Stream(context.Background(), pairsOf(cands, refs, &taken), func(c scorer.Chunk) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: %v after %d calls, want it after 1", err, calls)
	}
	bad := func(yield func(scorer.Pair, error) bool) {
		yield(scorer.Pair{Cand: "a", Refs: []string{"b"}}, nil)
		yield(scorer.Pair{Cand: "c"}, nil)
	}
	_, err = s.Stream(context.Background(), bad, func(scorer.Chunk) error { return nil })
	if !errors.Is(err, scorer.ErrInvalidInput) || !strings.Contains(err.Error(), "pair 2 has no reference") {
		t.Errorf("a pair without references: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = s.Stream(ctx, pairsOf(cands, refs, &taken), func(scorer.Chunk) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := s.Stream(context.Background(), pairsOf(cands, refs, &taken), nil); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("no callback: %v", err)
	}
}

// TestStreamIDF: idf over the references cannot stream in one pass; the
// explicit pass (IDFSeq) and WithIDF give the scores, and the table, that
// Score computes with idf over the same references.
func TestStreamIDF(t *testing.T) {
	f := &fakeEncoder{dim: 8}
	tok := tokenizerOf(t, fixture.Dir(t, "tiny-mbert"))
	s, err := scorer.New(f, tok, scorer.Options{Model: "fake", IDF: true, ChunkTokens: 200})
	if err != nil {
		t.Fatal(err)
	}
	cands, refs := corpus(t, 300)
	var taken atomic.Int64
	_, err = s.Stream(context.Background(), pairsOf(cands, refs, &taken), func(scorer.Chunk) error { return nil })
	if !errors.Is(err, scorer.ErrInvalidInput) || !strings.Contains(err.Error(), "IDFSeq") || taken.Load() != 0 {
		t.Fatalf("streaming with idf over the references: %v (%d pairs read)", err, taken.Load())
	}
	whole, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		t.Fatal(err)
	}
	flat := func(yield func(string, error) bool) {
		for _, rs := range refs {
			for _, r := range rs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
	table, err := s.IDFSeq(context.Background(), flat)
	if err != nil {
		t.Fatal(err)
	}
	withTable, err := s.WithIDF(table)
	if err != nil {
		t.Fatal(err)
	}
	var got []scorer.PRF
	sum, err := withTable.Stream(context.Background(), pairsOf(cands, refs, &taken), func(c scorer.Chunk) error {
		got = append(got, c.Pairs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	testkit.ComparePRF(t, "idf: stream with the table vs score", rowsOf(got), rowsOf(whole.Pairs), 1e-12)
	a, b := whole.Config.Score, sum.Config.Score
	if a.IDF != scorer.IDFRefs || b.IDF != scorer.IDFTableGiven || a.IDFDigest == "" || a.IDFDigest != b.IDFDigest {
		t.Errorf("idf configs %+v and %+v: want refs and table modes naming one table", a, b)
	}
	if s.Config().Score.IDFDigest != "" {
		t.Errorf("the scorer's own config names a table before any call: %+v", s.Config().Score)
	}
	readErr := errors.New("unreadable")
	_, err = s.IDFSeq(context.Background(), func(yield func(string, error) bool) { yield("", readErr) })
	if !errors.Is(err, readErr) {
		t.Errorf("IDFSeq over a failing input: %v", err)
	}
}

// TestStreamInParts: a corpus scored in parts (the shards of one job), each
// part streamed with WithRefsIDF and the table over every reference, gives
// Score's scores for the whole corpus bit for bit, its Config and hash,
// and, through Means in input order, its corpus means.
func TestStreamInParts(t *testing.T) {
	f := &fakeEncoder{dim: 8}
	tok := tokenizerOf(t, fixture.Dir(t, "tiny-mbert"))
	base := &scorer.Baseline{P: 0.3, R: 0.29, F: 0.295}
	s, err := scorer.New(f, tok, scorer.Options{Model: "fake", IDF: true, Baseline: base, ChunkTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	if b := s.Baseline(); b == nil || *b != *base {
		t.Errorf("Baseline() = %v, want %v", b, base)
	}
	cands, refs := corpus(t, 500)
	whole, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		t.Fatal(err)
	}
	table, err := s.IDFSeq(context.Background(), func(yield func(string, error) bool) {
		for _, rs := range refs {
			for _, r := range rs {
				if !yield(r, nil) {
					return
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	part, err := s.WithRefsIDF(table)
	if err != nil {
		t.Fatal(err)
	}
	var got []scorer.PRF
	var means scorer.Means
	for _, cut := range [][2]int{{0, 137}, {137, 138}, {138, 500}} {
		var taken atomic.Int64
		sum, err := part.Stream(context.Background(), pairsOf(cands[cut[0]:cut[1]], refs[cut[0]:cut[1]], &taken), func(c scorer.Chunk) error {
			got = append(got, c.Pairs...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Config != whole.Config || sum.Hash != whole.Hash {
			t.Errorf("part %v: config %s, want the one-call %s", cut, sum.Hash, whole.Hash)
		}
	}
	for i, p := range got {
		if p != whole.Pairs[i] {
			t.Fatalf("pair %d: %v in parts, %v in one call", i, p, whole.Pairs[i])
		}
		means.Add(p)
	}
	if m := means.Mean(); m != whole.Mean {
		t.Errorf("means over the parts %v, one call %v", m, whole.Mean)
	}
	if _, err := s.WithRefsIDF(nil); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("WithRefsIDF(nil): %v", err)
	}
	var empty scorer.Means
	if empty.Mean() != (scorer.PRF{}) {
		t.Errorf("the mean of nothing is %v", empty.Mean())
	}
}
