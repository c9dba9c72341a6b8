package scorer_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
	"github.com/bertbench/bertbench/scorer/tokenize"
)

// TestResultsIndependentOfBatchingAndThreads scores the same corpus with
// tiny to large token budgets, small chunks and 1 or 2 threads: every
// score must agree within 1e-6.
func TestResultsIndependentOfBatchingAndThreads(t *testing.T) {
	for _, name := range fixture.Names() {
		t.Run(name, func(t *testing.T) {
			g := fixture.ReadGolden(t, name)
			plain, multi, edge := g.Case(t, "plain"), g.Case(t, "multiref"), g.Case(t, "edge")
			cands := append(append(append([]string{}, plain.Cands...), multi.Cands...), edge.Cands...)
			refs := append(append(plain.Refs, multi.Refs...), edge.Refs...)
			base := map[bool][]scorer.PRF{}
			for _, cfg := range []struct{ budget, threads, chunk int }{
				{100000, 1, 1 << 20}, {1, 1, 0}, {7, 2, 50}, {300, 1, 130}, {8192, 2, 1},
			} {
				for _, idf := range []bool{false, true} {
					s := newFixtureScorer(t, name, g, idf, false, func(o *scorer.Options, _ *scorer.Tokenizer) {
						o.BatchTokens, o.Threads, o.ChunkTokens = cfg.budget, cfg.threads, cfg.chunk
					})
					res, err := s.Score(context.Background(), cands, refs)
					if err != nil {
						t.Fatalf("%+v: %v", cfg, err)
					}
					if base[idf] == nil {
						base[idf] = res.Pairs
						continue
					}
					label := fmt.Sprintf("idf %v, budget %d threads %d chunk %d", idf, cfg.budget, cfg.threads, cfg.chunk)
					testkit.ComparePRF(t, label, prfRows(res.Pairs), prfRows(base[idf]), 1e-6)
				}
			}
		})
	}
}

// TestIDFTableOption: the golden idf table, given as a user table, gives
// the golden idf scores for the plain references.
func TestIDFTableOption(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	plainIDF, err := os.CreateTemp(t.TempDir(), "idf*.json")
	if err != nil {
		t.Fatal(err)
	}
	// Write the golden table in the file format by hand, keys as strings.
	var sb strings.Builder
	sb.WriteString(`{"num_docs": ` + string(mustJSON(t, g.IDF.NumDocs)) + `, "default": ` + string(mustJSON(t, g.IDF.Default)) + `, "idf": ` + string(mustJSON(t, g.IDF.IDF)) + `}`)
	if _, err := plainIDF.WriteString(sb.String()); err != nil {
		t.Fatal(err)
	}
	plainIDF.Close()
	table, err := scorer.ReadIDFFile(plainIDF.Name())
	if err != nil {
		t.Fatal(err)
	}
	s := newFixtureScorer(t, name, g, false, false, func(o *scorer.Options, _ *scorer.Tokenizer) { o.IDFTable = table })
	c := g.Case(t, "idf")
	res, err := s.Score(context.Background(), c.Cands, c.Refs)
	if err != nil {
		t.Fatal(err)
	}
	comparePRF(t, "idf via table", res.Pairs, c.PRF, goldenTol)
	if !strings.Contains(res.Hash, "_idf-table_") {
		t.Errorf("hash %q does not say a table was used", res.Hash)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewErrors: options that cannot work are input errors.
func TestNewErrors(t *testing.T) {
	name := "tiny-mbert"
	enc := fixtureEncoder(t, name)
	tok := tokenizerOf(t, fixture.Dir(t, name))
	for _, tc := range []struct {
		name string
		opts scorer.Options
		want string
	}{
		{"idf table for another vocabulary", scorer.Options{IDFTable: &scorer.IDFTable{Default: 1, IDF: map[int32]float64{1 << 30: 1}}}, "outside the tokenizer's vocabulary"},
		{"too many threads", scorer.Options{Threads: cpus.MaxThreads() + 1}, "threads is more than this process can use"},
		{"negative chunk", scorer.Options{ChunkTokens: -1}, "must not be negative"},
		{"a bad layer", scorer.Options{Layer: -7}, "layer -7"},
		{"a bad baseline", scorer.Options{Baseline: &scorer.Baseline{P: 1}}, "below 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scorer.New(enc, tok, tc.opts)
			if !errors.Is(err, scorer.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want an input error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := scorer.New(nil, tok, scorer.Options{}); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("no encoder: %v", err)
	}
	s, err := scorer.New(enc, tok, scorer.Options{Threads: cpus.MaxThreads()})
	if err != nil {
		t.Fatalf("the largest thread count allowed: %v", err)
	}
	if got := s.Config().Runtime.Threads; got != cpus.MaxThreads() {
		t.Errorf("threads %d, want %d", got, cpus.MaxThreads())
	}
	if s, err = scorer.New(enc, tok, scorer.Options{}); err != nil || s.Config().Runtime.Threads != cpus.Usable() {
		t.Errorf("threads 0: %v, %d threads, want cpus.Usable() = %d", err, s.Config().Runtime.Threads, cpus.Usable())
	}
}

func TestScoreErrors(t *testing.T) {
	g := fixture.ReadGolden(t, "tiny-roberta")
	enc := orttest.Encoder(t, fixture.Path(t, "tiny-roberta", "model.onnx"), onnxrt.EncoderOptions{})
	s, err := scorer.New(enc, tokenizerOf(t, fixture.Dir(t, "tiny-roberta")), scorer.Options{Layer: g.Meta.NumLayers})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Score(ctx, []string{"a", "b"}, [][]string{{"a"}}); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("count mismatch: %v", err)
	}
	if _, err := s.Score(ctx, []string{"a"}, [][]string{{}}); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("no reference: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Score(cctx, []string{"a"}, [][]string{{"b"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	res, err := s.Score(ctx, nil, nil)
	if err != nil || len(res.Pairs) != 0 {
		t.Errorf("no pairs: %+v, %v", res, err)
	}
	res, err = s.Score(ctx, []string{"", "a b", " \u3000 ", "a"}, [][]string{{"x"}, {""}, {"y", ""}, {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.EmptyCandidates != 2 || res.Stats.EmptyReferences != 2 {
		t.Errorf("empty counts %+v, want 2 candidates and 2 references", res.Stats)
	}
	for i, p := range res.Pairs[:3] {
		if p != (scorer.PRF{}) {
			t.Errorf("pair %d with an empty side scored %+v", i, p)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Score(ctx, []string{"a"}, [][]string{{"b"}}); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Score after the encoder's Close: %v", err)
	}
}

func TestHash(t *testing.T) {
	g := fixture.ReadGolden(t, "tiny-mbert")
	for _, tc := range []struct {
		idf, rescale bool
		want         []string
	}{
		{false, false, []string{"tiny-mbert_L3_no-idf_version=" + scorer.Version, "tokenizer=wordpiece", "provider=cpu", "fp32"}},
		{true, true, []string{"tiny-mbert_L3_idf_version=", "-rescaled"}},
	} {
		s := newFixtureScorer(t, "tiny-mbert", g, tc.idf, tc.rescale, nil)
		for _, w := range tc.want {
			if !strings.Contains(s.Hash(), w) {
				t.Errorf("hash %q lacks %q", s.Hash(), w)
			}
		}
		if tc.rescale == strings.Contains(s.Hash(), "rescaled") == false {
			t.Errorf("hash %q: rescale %v", s.Hash(), tc.rescale)
		}
	}
	// Scores that differ because the caller's baseline or idf table
	// differs carry different hashes.
	hashes := map[string]string{}
	for _, tc := range []struct {
		name string
		mod  func(*scorer.Options, *scorer.Tokenizer)
	}{
		{"baseline a", func(o *scorer.Options, _ *scorer.Tokenizer) { o.Baseline = &scorer.Baseline{P: 0.1, R: 0.2, F: 0.3} }},
		{"baseline b", func(o *scorer.Options, _ *scorer.Tokenizer) { o.Baseline = &scorer.Baseline{P: 0.1, R: 0.2, F: 0.31} }},
		{"idf table a", func(o *scorer.Options, _ *scorer.Tokenizer) {
			o.IDFTable = &scorer.IDFTable{Default: 1, IDF: map[int32]float64{5: 0.5}}
		}},
		{"idf table b", func(o *scorer.Options, _ *scorer.Tokenizer) {
			o.IDFTable = &scorer.IDFTable{Default: 1, IDF: map[int32]float64{5: 0.25}}
		}},
	} {
		h := newFixtureScorer(t, "tiny-mbert", g, false, false, tc.mod).Hash()
		if prev, dup := hashes[h]; dup {
			t.Errorf("%s and %s share the hash %q", prev, tc.name, h)
		}
		hashes[h] = tc.name
	}
}

// longCorpus returns n pairs of tiny-mbert text, each candidate with refs
// references, every text distinct and of 600 tokens (one per CJK
// character, and the number), so that each is truncated to 512.
func longCorpus(t testing.TB, n, refs int) (cands []string, refLists [][]string) {
	t.Helper()
	g := fixture.ReadGolden(t, "tiny-mbert")
	var han []rune
	seen := map[rune]bool{}
	for _, s := range g.Case(t, "plain").Cands {
		for _, r := range s {
			if unicode.Is(unicode.Han, r) && !seen[r] {
				seen[r] = true
				han = append(han, r)
			}
		}
	}
	if len(han) < 10 {
		t.Fatalf("tiny-mbert's plain case has only %d distinct CJK characters", len(han))
	}
	k := 0
	text := func() string {
		k++
		var b strings.Builder
		fmt.Fprintf(&b, "%d ", k)
		for j := range 599 {
			b.WriteRune(han[(k+j*j)%len(han)])
		}
		return b.String()
	}
	for range n {
		cands = append(cands, text())
		rs := make([]string, refs)
		for r := range rs {
			rs[r] = text()
		}
		refLists = append(refLists, rs)
	}
	return cands, refLists
}

// TestMemoryBoundedByChunk: the embedding memory held at once is bounded
// by the chunk size, or by the largest pair when one pair alone is larger,
// never by the corpus: at the default chunk size with long pairs of four
// references (2,560 tokens a pair), and at a small chunk with short pairs,
// ten times the pairs.
func TestMemoryBoundedByChunk(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	tok := tokenizerOf(t, fixture.Dir(t, name))
	longCands, longRefs := longCorpus(t, 40, 4)
	short := func(n int) ([]string, [][]string) { return benchCorpus(t, name, n) }
	shortCands, shortRefs := short(200)
	moreCands, moreRefs := short(2000)
	for _, tc := range []struct {
		name  string
		chunk int // 0: the default
		cands []string
		refs  [][]string
	}{
		{"default chunk, 40 pairs of 512 tokens with 4 references", 0, longCands, longRefs},
		{"chunk 512, 200 short pairs", 512, shortCands, shortRefs},
		{"chunk 512, 2000 short pairs", 512, moreCands, moreRefs},
		{"chunk 1000, 3 pairs each larger than the chunk", 1000, longCands[:3], longRefs[:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFixtureScorer(t, name, g, false, false, func(o *scorer.Options, _ *scorer.Tokenizer) { o.ChunkTokens = tc.chunk })
			res, err := s.Score(context.Background(), tc.cands, tc.refs)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Stats
			t.Logf("%+v", st)
			if st.Chunks < 2 || st.Batches < st.Chunks || st.PaddedTokens < st.Tokens {
				t.Errorf("implausible stats %+v", st)
			}
			chunk := cmp.Or(tc.chunk, scorer.DefaultChunkTokens)
			largest := 0 // tokens of the largest pair
			for i, c := range tc.cands {
				texts := map[string]bool{c: true}
				for _, r := range tc.refs[i] {
					texts[r] = true
				}
				n := 0
				for text := range texts {
					ids, err := tok.Encode(text)
					if err != nil {
						t.Fatal(err)
					}
					n += len(ids)
				}
				largest = max(largest, n)
			}
			bound := max(chunk, largest) * g.Meta.HiddenSize * 4
			if st.PeakEmbeddingBytes > bound {
				t.Errorf("peak embedding memory %d B (%d tokens) > %d B: the chunk holds at most %d tokens, the largest pair %d",
					st.PeakEmbeddingBytes, st.PeakEmbeddingBytes/4/g.Meta.HiddenSize, bound, chunk, largest)
			}
		})
	}
}

// faultyTokenizer wraps a real tokenizer to inject faults.
type faultyTokenizer struct {
	scorer.Tokenizer
	fail   string // "error", "panic", "short" (one encoding too few), "bad-id" or "" (pass through)
	calls  int
	failAt int // fail from this EncodeBatch call on (0 = the first)
}

func (f *faultyTokenizer) EncodeBatch(texts []string, workers int) (tokenize.Batch, error) {
	f.calls++
	if f.calls-1 < f.failAt {
		return f.Tokenizer.EncodeBatch(texts, workers)
	}
	switch f.fail {
	case "error":
		return tokenize.Batch{}, errors.New("injected tokenizer failure")
	case "panic":
		panic("injected tokenizer panic")
	case "short":
		b, err := f.Tokenizer.EncodeBatch(texts, workers)
		b.IDs = b.IDs[:len(b.IDs)-1]
		return b, err
	case "bad-truncated":
		b, err := f.Tokenizer.EncodeBatch(texts, workers)
		b.Truncated = append(b.Truncated, len(texts))
		return b, err
	case "bad-id":
		b, err := f.Tokenizer.EncodeBatch(texts, workers)
		for _, x := range b.IDs {
			if len(x) > 2 {
				x[1] = 1 << 30 // far outside the embedding table
			}
		}
		return b, err
	}
	return f.Tokenizer.EncodeBatch(texts, workers)
}

// TestFaultsBecomeErrors: a failing or panicking tokenizer and an encoder
// run that fails give errors (runtime failures, not input errors), never a
// panic.
func TestFaultsBecomeErrors(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	c := g.Case(t, "plain")
	for _, tc := range []struct {
		fail, want string
		failAt     int
	}{
		{"error", "injected tokenizer failure", 1},
		{"panic", "injected tokenizer panic", 1},
		{"panic", "injected tokenizer panic", 0},
		{"bad-id", "encoder", 1},
		{"short", "0 encodings for 1 texts", 0},
		{"short", "encodings for", 1},
		{"bad-truncated", "reported text 1 of 1 as truncated", 0},
	} {
		t.Run(fmt.Sprintf("%s-at-%d", tc.fail, tc.failAt), func(t *testing.T) {
			ft := &faultyTokenizer{Tokenizer: tokenizerOf(t, fixture.Dir(t, name)), fail: tc.fail, failAt: tc.failAt}
			s, err := scorer.New(fixtureEncoder(t, name), ft, scorer.Options{Model: name})
			if err != nil {
				if tc.failAt == 0 && strings.Contains(err.Error(), tc.want) {
					return // New tokenizes the empty string first
				}
				t.Fatal(err)
			}
			_, err = s.Score(context.Background(), c.Cands, c.Refs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if errors.Is(err, scorer.ErrInvalidInput) {
				t.Errorf("a runtime fault reads as an input error: %v", err)
			}
		})
	}
}

// TestScoreCancel: cancelling the context stops a long Score promptly.
func TestScoreCancel(t *testing.T) {
	g := fixture.ReadGolden(t, "tiny-mbert")
	cands, refs := benchCorpus(t, "tiny-mbert", 20000)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	done := 0
	s := newFixtureScorer(t, "tiny-mbert", g, false, false, func(o *scorer.Options, _ *scorer.Tokenizer) {
		o.BatchTokens = 64
		o.Progress = func(d, _ int) {
			done = d
			if d > 0 {
				once.Do(cancel)
			}
		}
	})
	_, err := s.Score(ctx, cands, refs)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if done >= len(cands) {
		t.Errorf("cancelled Score ran to the end (%d of %d pairs)", done, len(cands))
	}
}

// TestSpelledOutSpecialToken: a text that spells out a special token
// ("[SEP]") is not empty, as in the reference (which tests the length):
// its tokens all weigh 0, so its side is undefined (NaN) and F is 0,
// while the other side scores normally.
func TestSpelledOutSpecialToken(t *testing.T) {
	g := fixture.ReadGolden(t, "tiny-mbert")
	s := newFixtureScorer(t, "tiny-mbert", g, false, false, nil)
	res, err := s.Score(context.Background(), []string{"[SEP]", "谢谢", ""}, [][]string{{"谢谢"}, {"[SEP]"}, {"[SEP]"}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Pairs
	if !math.IsNaN(p[0].P) || math.IsNaN(p[0].R) || p[0].R <= 0 || p[0].F != 0 {
		t.Errorf("candidate [SEP]: %+v, want P NaN, R > 0, F 0", p[0])
	}
	if math.IsNaN(p[1].P) || p[1].P <= 0 || !math.IsNaN(p[1].R) || p[1].F != 0 {
		t.Errorf("reference [SEP]: %+v, want P > 0, R NaN, F 0", p[1])
	}
	if p[2] != (scorer.PRF{}) {
		t.Errorf("empty candidate: %+v, want 0,0,0", p[2])
	}
	if res.Stats.EmptyCandidates != 1 || res.Stats.EmptyReferences != 0 {
		t.Errorf("stats %+v: want 1 empty candidate, no empty reference", res.Stats)
	}
}

// recordingTokenizer counts the texts it is asked to tokenize and records
// the goroutines each call was allowed.
type recordingTokenizer struct {
	scorer.Tokenizer
	mu      sync.Mutex
	texts   map[string]int
	workers []int
}

func (r *recordingTokenizer) EncodeBatch(texts []string, workers int) (tokenize.Batch, error) {
	r.mu.Lock()
	for _, s := range texts {
		r.texts[s]++
	}
	r.workers = append(r.workers, workers)
	r.mu.Unlock()
	return r.Tokenizer.EncodeBatch(texts, workers)
}

// TestIDFTokenizesReferencesOnce: with idf, the idf pass's token ids are
// reused for scoring: no reference is tokenized twice, and the scores are
// the reference's.
func TestIDFTokenizesReferencesOnce(t *testing.T) {
	name := "tiny-roberta"
	g := fixture.ReadGolden(t, name)
	c := g.Case(t, "multiref")
	rt := &recordingTokenizer{Tokenizer: tokenizerOf(t, fixture.Dir(t, name)), texts: map[string]int{}}
	s := newFixtureScorer(t, name, g, true, false, func(o *scorer.Options, tok *scorer.Tokenizer) { *tok = rt; o.ChunkTokens = 64 })
	refs := c.Refs
	// No golden scores for multiref under idf: this run counts tokenizations.
	if _, err := s.Score(context.Background(), c.Cands, refs); err != nil {
		t.Fatal(err)
	}
	// An identical text among the references (or a candidate equal to one)
	// is tokenized once per reference entry by the idf pass, which counts
	// every entry.
	want := map[string]int{}
	for _, rs := range refs {
		for _, r := range rs {
			want[r]++
		}
	}
	for r, n := range want {
		if got := rt.texts[r]; got != n {
			t.Errorf("reference %q tokenized %d times, want %d (once per entry, by the idf pass)", r, got, n)
		}
	}
	idf := g.Case(t, "idf")
	res, err := s.Score(context.Background(), idf.Cands, idf.Refs)
	if err != nil {
		t.Fatal(err)
	}
	comparePRF(t, "idf", res.Pairs, idf.PRF, goldenTol)
}

// gatedTokenizer blocks tokenizing the text gate until open is closed.
type gatedTokenizer struct {
	scorer.Tokenizer
	gate string
	open chan struct{}
}

func (g *gatedTokenizer) EncodeBatch(texts []string, workers int) (tokenize.Batch, error) {
	if slices.Contains(texts, g.gate) {
		select {
		case <-g.open:
		case <-time.After(time.Minute):
			return tokenize.Batch{}, errors.New("the encoder never ran while a later chunk was being tokenized")
		}
	}
	return g.Tokenizer.EncodeBatch(texts, workers)
}

// TestTokenizesWhileEncoding: a later chunk is tokenized while earlier
// ones are encoded. The tokenizer refuses to tokenize the last pair until
// the encoder has finished a batch; scoring that tokenized everything
// first would wait for ever (here: fail after a minute).
func TestTokenizesWhileEncoding(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	cands, refs := benchCorpus(t, name, 400)
	gt := &gatedTokenizer{Tokenizer: tokenizerOf(t, fixture.Dir(t, name)), gate: cands[len(cands)-1], open: make(chan struct{})}
	var once sync.Once
	s := newFixtureScorer(t, name, g, false, false, func(o *scorer.Options, tok *scorer.Tokenizer) {
		*tok = gt
		o.ChunkTokens, o.BatchTokens = 256, 64
		o.Progress = func(int, int) { once.Do(func() { close(gt.open) }) }
	})
	res, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Chunks < 3 {
		t.Errorf("%d chunks, want several", res.Stats.Chunks)
	}
}

// TestMultiRefMaxKeepsNaN: the best over several references is taken per
// component as torch's max does it: an undefined (NaN) component of any
// reference makes that component undefined, while the others keep their
// best. Here the first reference's tokens all occur in both references,
// so under idf they weigh 0 and its R is NaN.
func TestMultiRefMaxKeepsNaN(t *testing.T) {
	name := "tiny-bert-uncased"
	g := fixture.ReadGolden(t, name)
	s := newFixtureScorer(t, name, g, true, false, nil)
	res, err := s.Score(context.Background(), []string{"apple"}, [][]string{{"苹果", "苹果 apple"}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Pairs[0]
	if !math.IsNaN(p.R) || math.IsNaN(p.P) || math.IsNaN(p.F) || p.F <= 0 {
		t.Errorf("got %+v, want R NaN and P, F defined (F from the second reference)", p)
	}
}

// TestThreadsBoundTokenizer: Options.Threads bounds the tokenizer's
// goroutines too (the idf pass and the chunks alike); 0 means every core.
func TestThreadsBoundTokenizer(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	cands, refs := benchCorpus(t, name, 300)
	for _, tc := range []struct{ threads, want int }{{1, 1}, {3, 3}, {0, cpus.Usable()}} {
		for _, idf := range []bool{false, true} {
			rt := &recordingTokenizer{Tokenizer: tokenizerOf(t, fixture.Dir(t, name)), texts: map[string]int{}}
			s := newFixtureScorer(t, name, g, idf, false, func(o *scorer.Options, tok *scorer.Tokenizer) { *tok, o.Threads = rt, tc.threads })
			if _, err := s.Score(context.Background(), cands, refs); err != nil {
				t.Fatal(err)
			}
			if len(rt.workers) < 2 {
				t.Fatalf("threads %d: %d tokenizer calls, want several", tc.threads, len(rt.workers))
			}
			for _, w := range rt.workers {
				if w != tc.want {
					t.Errorf("threads %d, idf %v: the tokenizer was allowed %d goroutines, want %d", tc.threads, idf, w, tc.want)
					break
				}
			}
		}
	}
}

// TestTruncatedCounted: candidates and reference entries longer than 512
// tokens are counted (per entry, as empty ones are), those of exactly 512
// are not, with or without idf (whose pass tokenizes the references) and
// across chunks.
func TestTruncatedCounted(t *testing.T) {
	name := "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	long, _ := longCorpus(t, 2, 0)
	// n CJK characters are n+2 ids with [CLS] and [SEP].
	han := func(n, from int) string { return strings.Repeat(string([]rune(long[0])[from:from+1]), n) }
	exact, over := han(510, 5), han(511, 6)
	cands := []string{long[0], exact, over, "谢谢"}
	refs := [][]string{{"谢谢"}, {long[1], han(510, 7)}, {"谢谢"}, {han(511, 8), long[0]}}
	for _, idf := range []bool{false, true} {
		for _, chunk := range []int{0, 600} {
			s := newFixtureScorer(t, name, g, idf, false, func(o *scorer.Options, _ *scorer.Tokenizer) { o.ChunkTokens = chunk })
			res, err := s.Score(context.Background(), cands, refs)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Stats
			if st.TruncatedCandidates != 2 || st.TruncatedReferences != 3 || st.MaxTokens != 512 {
				t.Errorf("idf %v, chunk %d: %d candidates and %d references truncated at %d tokens, want 2 and 3 at 512",
					idf, chunk, st.TruncatedCandidates, st.TruncatedReferences, st.MaxTokens)
			}
		}
	}
}

// TestOnBatch: OnBatch is called once per encoder run, with durations
// that add up to at most Stats.Encode.
func TestOnBatch(t *testing.T) {
	g := fixture.ReadGolden(t, "tiny-mbert")
	cands, refs := benchCorpus(t, "tiny-mbert", 200)
	var runs []time.Duration
	s := newFixtureScorer(t, "tiny-mbert", g, false, false, func(o *scorer.Options, _ *scorer.Tokenizer) {
		o.BatchTokens = 64
		o.OnBatch = func(d time.Duration) { runs = append(runs, d) }
	})
	res, err := s.Score(context.Background(), cands, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != res.Stats.Batches || len(runs) < 2 {
		t.Fatalf("OnBatch called %d times, Stats.Batches %d (want equal, at least 2)", len(runs), res.Stats.Batches)
	}
	var sum time.Duration
	for _, d := range runs {
		sum += d
	}
	if sum > res.Stats.Encode {
		t.Errorf("batch times add up to %v, more than Stats.Encode %v", sum, res.Stats.Encode)
	}
}

// TestStatsAdd: the stats of a job scored in parts add up: counts and
// times sum, the peaks are the larger part's. Every field is covered (a
// field Add forgets leaves a zero below).
func TestStatsAdd(t *testing.T) {
	a := scorer.Stats{Chunks: 1, Sentences: 2, Tokens: 3, Batches: 4, PaddedTokens: 5, PeakEmbeddingBytes: 600,
		EmptyCandidates: 7, EmptyReferences: 8, TruncatedCandidates: 9, TruncatedReferences: 10, MaxTokens: 512,
		ModelLoad: 11, Tokenize: 12, Encode: 13, Match: 14, Wall: 15}
	b := scorer.Stats{Chunks: 10, Sentences: 20, Tokens: 30, Batches: 40, PaddedTokens: 50, PeakEmbeddingBytes: 60,
		EmptyCandidates: 70, EmptyReferences: 80, TruncatedCandidates: 90, TruncatedReferences: 100, MaxTokens: 256,
		ModelLoad: 110, Tokenize: 120, Encode: 130, Match: 140, Wall: 150}
	want := scorer.Stats{Chunks: 11, Sentences: 22, Tokens: 33, Batches: 44, PaddedTokens: 55, PeakEmbeddingBytes: 600,
		EmptyCandidates: 77, EmptyReferences: 88, TruncatedCandidates: 99, TruncatedReferences: 110, MaxTokens: 512,
		ModelLoad: 121, Tokenize: 132, Encode: 143, Match: 154, Wall: 165}
	var sum scorer.Stats
	sum.Add(a)
	sum.Add(b)
	if sum != want {
		t.Errorf("a + b = %+v\nwant    %+v", sum, want)
	}
	var got scorer.Stats
	for _, s := range []scorer.Stats{b, a} {
		got.Add(s)
	}
	if got != want {
		t.Errorf("b + a = %+v, want the same", got)
	}
}
