// Package scorer computes BERTScore: it tokenizes sentences, runs them
// through an Encoder (token ids in, hidden states out) and greedily
// matches token embeddings the way the reference implementation (the
// bert_score Python package, 0.3.13) does, to within 1e-5.
//
// The scorer declares the two things it needs, an Encoder and a
// Tokenizer, and depends on no inference runtime: package onnxrt provides
// an Encoder on ONNX Runtime (CPU or CUDA), package scorer/tokenize the
// Hugging Face-exact tokenizers, and package bertscore opens a model
// folder or a known model's name into ready scorers. One encoder can
// serve several scorers (with and without idf or rescaling) at once.
//
// The algorithm (see testdata/bertscore/README.md): every token vector,
// special tokens included, is L2-normalised; a candidate token's precision
// is its best cosine with any reference token (special tokens are match
// targets), recall symmetrically; P and R are weighted means (special tokens
// weigh 0, or idf weights), F = 2PR/(P+R). A candidate or reference with no
// tokens besides the specials scores 0,0,0. With several references the best
// P, R and F are taken separately; baseline rescaling comes after that.
//
// Results stream: Stream takes pairs from an iterator and hands each
// chunk's scores, in input order and rescaled, to a callback as soon as
// they are matched, so neither the corpus nor its scores need be held;
// Score is Stream over slices, collecting the scores. Memory stays bounded
// by a chunk of pairs: pairs are taken into a chunk while their distinct
// sentences hold at most ChunkTokens tokens (a single pair larger than
// that is a chunk of its own); sentences are deduplicated, sorted by token
// count and cut into batches by a token budget within each chunk; a
// chunk's embeddings are dropped once its pairs are matched. The next
// chunk is tokenized while the current one is encoded.
//
// Idf over the references needs every reference before the first score:
// Score makes that pass itself (it has the references in memory); a
// stream needs it made explicitly, with IDFSeq over the references, and
// the table given to WithIDF.
//
// Every result carries a Config: what defines the scores (model, weights,
// layer, tokenizer, idf, baseline) apart from how they were computed
// (runtime, device, precision, batch budget), with Config.Hash rendering
// it as one string and Config.SameScores comparing two field by field.
//
// # Examples
//
//	s, err := scorer.New(enc, tok, scorer.Options{Model: "tiny-mbert", Layer: 3})
//	res, err := s.Score(ctx, cands, refs) // res.Pairs[i] scores cands[i]
//
//	sum, err := s.Stream(ctx, pairs, func(c scorer.Chunk) error {
//		return store.Save(c.Start, c.Pairs) // pairs c.Start, c.Start+1, ...
//	})
package scorer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/scorer/tokenize"
)

// Version names the scoring algorithm's revision in result hashes. Bump it
// whenever a change could move a score.
const Version = "bertbench-scorer/1"

// Defaults for Options fields left zero.
const (
	DefaultBatchTokens = 512
	DefaultChunkTokens = 32768
)

// Options configures a Scorer.
type Options struct {
	// Model names the model in the Config and the hash (a manifest's
	// name, or the model folder's base name).
	Model string
	// Layer is the encoder layer whose output the encoder gives (0 = the
	// embedding output), LayerUnknown when not known. It is recorded in
	// the Config; it does not change what the encoder computes.
	Layer int

	// IDF weights tokens by inverse document frequency over the
	// references of each Score call. The references are tokenized once,
	// up front, and their token ids (4 bytes a token) kept for the call.
	// Stream needs the table made first (IDFSeq, then WithIDF).
	IDF bool
	// IDFTable, when set, supplies the idf weights instead (implies IDF).
	IDFTable *IDFTable

	// Baseline, when set, rescales every score: x' = (x−b)/(1−b), per
	// component, after the best over several references is taken.
	Baseline *Baseline

	// BatchTokens bounds a batch's padded size (sentences × longest
	// length). Default DefaultBatchTokens.
	BatchTokens int
	// ChunkTokens bounds how many tokens' embeddings are held in memory
	// at a time (memory ≤ ChunkTokens × hidden × 4 bytes, plus one batch),
	// unless a single pair (a candidate and its references) has more
	// tokens: that pair is then scored alone. Default DefaultChunkTokens.
	ChunkTokens int
	// Threads is the number of goroutines tokenizing and matching; 0
	// means every CPU the process may use (cpus.Usable), and more than
	// cpus.MaxThreads is an input error. (The encoder's own threads are
	// its options'.)
	Threads int

	// Progress, when set, is called from the scoring goroutine with the
	// number of pairs scored so far and the total (0 for a stream, whose
	// length is not known).
	Progress func(done, total int)
	// OnBatch, when set, is called from the scoring goroutine after each
	// encoder run with its wall time (the runs Stats.Encode adds up), for
	// latency percentiles.
	OnBatch func(time.Duration)

	// idfOverRefs records IDFTable as idf over the references (see
	// WithRefsIDF).
	idfOverRefs bool
}

// Pair is one candidate with its references (at least one), as Stream
// takes them.
type Pair struct {
	Cand string
	Refs []string
}

// Chunk is the scores of one chunk of pairs, handed to Stream's callback.
type Chunk struct {
	// Start is the input index of the chunk's first pair: Pairs[k] scores
	// pair Start+k.
	Start int
	// Pairs holds the chunk's scores in input order, rescaled when the
	// scorer rescales. The callback may keep the slice.
	Pairs []PRF
}

// Summary is the outcome of a Stream call.
type Summary struct {
	// Config describes the configuration; for idf over the references it
	// names the table this call computed.
	Config Config `json:"config"`
	// Hash is Config.Hash().
	Hash string `json:"hash"`
	// Count is the number of pairs scored.
	Count int `json:"count"`
	// Mean is the arithmetic mean of the scores (NaN in a component that
	// any score leaves undefined, as in the reference).
	Mean PRF `json:"mean"`
	// Stats describes the work done.
	Stats Stats `json:"stats"`
}

// Result is the outcome of a Score call.
type Result struct {
	Summary
	// Pairs holds one score per candidate, in input order.
	Pairs []PRF `json:"pairs"`
}

// Stats describes the work one Score or Stream call did.
type Stats struct {
	// Chunks is how many chunks the pairs were scored in.
	Chunks int `json:"chunks"`
	// Sentences is the number of distinct sentences encoded (counted per
	// chunk), Tokens their tokens, Batches the encoder runs.
	Sentences int `json:"sentences"`
	Tokens    int `json:"tokens"`
	Batches   int `json:"batches"`
	// PaddedTokens is the encoder's input size, padding included.
	PaddedTokens int `json:"padded_tokens"`
	// PeakEmbeddingBytes is the largest embedding arena held at once: the
	// memory that grows with a chunk, not with the corpus.
	PeakEmbeddingBytes int `json:"peak_embedding_bytes"`
	// EmptyCandidates and EmptyReferences count the candidates and the
	// reference entries with no tokens besides the specials; their pairs
	// score 0.
	EmptyCandidates int `json:"empty_candidates"`
	EmptyReferences int `json:"empty_references"`
	// TruncatedCandidates and TruncatedReferences count the candidates and
	// the reference entries with more than MaxTokens tokens: they were cut
	// to MaxTokens (specials included), so their scores cover only their
	// beginning, as in the reference, which truncates without a word.
	TruncatedCandidates int `json:"truncated_candidates"`
	TruncatedReferences int `json:"truncated_references"`
	// MaxTokens is the most tokens a sentence keeps (the tokenizer's
	// MaxLen, 512 for BERT-style encoders).
	MaxTokens int `json:"max_tokens"`

	// ModelLoad is how long the encoder took to load its model (once, not
	// per call; EncoderInfo.LoadTime).
	ModelLoad time.Duration `json:"model_load_ns"`
	// Tokenize, Encode and Match are the wall time spent in each stage:
	// in the tokenizer (the idf pass included), in the encoder's runs, and
	// normalising and matching embeddings. Tokenizing the next chunk runs
	// while the current one is encoded, so they may add up to more than
	// Wall, the whole call's wall time.
	Tokenize time.Duration `json:"tokenize_ns"`
	Encode   time.Duration `json:"encode_ns"`
	Match    time.Duration `json:"match_ns"`
	Wall     time.Duration `json:"wall_ns"`
}

// Add adds o to s, as the stats of one job scored in parts (the shards
// of a plan): counts and times add up (ModelLoad too: each part loaded
// its model), and PeakEmbeddingBytes and MaxTokens are the larger of the
// two.
func (s *Stats) Add(o Stats) {
	s.Chunks += o.Chunks
	s.Sentences += o.Sentences
	s.Tokens += o.Tokens
	s.Batches += o.Batches
	s.PaddedTokens += o.PaddedTokens
	s.PeakEmbeddingBytes = max(s.PeakEmbeddingBytes, o.PeakEmbeddingBytes)
	s.EmptyCandidates += o.EmptyCandidates
	s.EmptyReferences += o.EmptyReferences
	s.TruncatedCandidates += o.TruncatedCandidates
	s.TruncatedReferences += o.TruncatedReferences
	s.MaxTokens = max(s.MaxTokens, o.MaxTokens)
	s.ModelLoad += o.ModelLoad
	s.Tokenize += o.Tokenize
	s.Encode += o.Encode
	s.Match += o.Match
	s.Wall += o.Wall
}

// Scorer computes BERTScore with one encoder and tokenizer. It is safe for
// concurrent use; each call holds its own chunk's embeddings.
type Scorer struct {
	opts     Options
	enc      Encoder
	tok      Tokenizer
	info     EncoderInfo
	specials map[int32]bool
	// added is how many ids the tokenizer puts around every text (the
	// specials): a text with no more ids than that is empty.
	added int
	cfg   Config
}

// New makes a scorer over enc and tok, which it does not own: closing
// them is the caller's business, after the scorer's last call. Options
// that contradict each other or the tokenizer are input errors.
func New(enc Encoder, tok Tokenizer, opts Options) (*Scorer, error) {
	if enc == nil || tok == nil {
		return nil, asInput(errors.New("scorer: an encoder and a tokenizer are needed"))
	}
	if opts.BatchTokens < 0 || opts.Threads < 0 || opts.ChunkTokens < 0 {
		return nil, asInput(errors.New("scorer: batch tokens, threads and chunk size must not be negative"))
	}
	if opts.Layer < LayerUnknown {
		return nil, asInput(fmt.Errorf("scorer: layer %d: want a layer >= 0, or LayerUnknown", opts.Layer))
	}
	if limit := cpus.MaxThreads(); opts.Threads > limit {
		return nil, asInput(fmt.Errorf("scorer: %d threads is more than this process can use (at most %d: %d × the %d CPUs of its affinity mask and cgroup quota)",
			opts.Threads, limit, cpus.ThreadsPerCPU, cpus.Usable()))
	}
	opts.BatchTokens = cmp.Or(opts.BatchTokens, DefaultBatchTokens)
	opts.ChunkTokens = cmp.Or(opts.ChunkTokens, DefaultChunkTokens)
	opts.Threads = cmp.Or(opts.Threads, cpus.Usable())
	if opts.IDFTable != nil {
		opts.IDF = true
	}
	if b := opts.Baseline; b != nil {
		if err := b.validate(); err != nil {
			return nil, asInput(err)
		}
		copied := *b
		opts.Baseline = &copied
	}
	s := &Scorer{opts: opts, enc: enc, tok: tok, info: enc.Info()}
	// The ids the tokenizer gives the empty string are the special tokens
	// it adds around every text ([CLS] [SEP], <s> </s>): they weigh 0.
	empty, err := s.encode([]string{""})
	if err != nil {
		return nil, fmt.Errorf("scorer: tokenizing the empty string: %w", err)
	}
	s.specials = map[int32]bool{}
	s.added = len(empty.IDs[0])
	for _, id := range empty.IDs[0] {
		s.specials[id] = true
	}
	if t := opts.IDFTable; t != nil {
		for id := range t.IDF {
			if id < 0 || int(id) >= tok.VocabSize() {
				return nil, asInput(fmt.Errorf("idf table: token id %d is outside the tokenizer's vocabulary (%d ids): was the table made with another tokenizer?", id, tok.VocabSize()))
			}
		}
	}
	s.cfg = s.makeConfig()
	return s, nil
}

// WithIDF returns a scorer like s that weighs tokens by table, sharing s's
// encoder and tokenizer: the second step of scoring a stream with idf
// over its references (see IDFSeq).
func (s *Scorer) WithIDF(table *IDFTable) (*Scorer, error) {
	if table == nil {
		return nil, asInput(errors.New("scorer: WithIDF needs a table"))
	}
	opts := s.opts
	opts.IDF, opts.IDFTable = true, table
	return New(s.enc, s.tok, opts)
}

// WithRefsIDF is WithIDF for a table that IDFSeq computed over every
// reference of a corpus scored in parts (the shards of one job): each
// part's scores are those Score gives the whole corpus, and so is the
// Config, which records idf over the references (IDFRefs) naming the
// table, not a table the caller gave, so that the parts' hash is the
// one-call hash.
func (s *Scorer) WithRefsIDF(table *IDFTable) (*Scorer, error) {
	if table == nil {
		return nil, asInput(errors.New("scorer: WithRefsIDF needs a table"))
	}
	opts := s.opts
	opts.IDF, opts.IDFTable, opts.idfOverRefs = true, table, true
	return New(s.enc, s.tok, opts)
}

// Baseline is the rescale baseline the scorer applies (a copy), nil when
// it does not rescale.
func (s *Scorer) Baseline() *Baseline {
	if s.opts.Baseline == nil {
		return nil
	}
	b := *s.opts.Baseline
	return &b
}

// makeConfig describes the scorer's configuration; the runtime fields come
// from the encoder.
func (s *Scorer) makeConfig() Config {
	o := s.opts
	sc := ScoreConfig{
		Algorithm:            Version,
		Model:                o.Model,
		WeightsDigest:        s.info.WeightsDigest,
		Layer:                o.Layer,
		Tokenizer:            s.tok.Kind(),
		TokenizerFingerprint: s.tok.Fingerprint(),
		IDF:                  IDFNone,
	}
	switch {
	case o.IDFTable != nil && o.idfOverRefs:
		sc.IDF, sc.IDFDigest = IDFRefs, o.IDFTable.digest()
	case o.IDFTable != nil:
		sc.IDF, sc.IDFDigest = IDFTableGiven, o.IDFTable.digest()
	case o.IDF:
		sc.IDF = IDFRefs
	}
	if b := o.Baseline; b != nil {
		sc.Rescale = true
		sc.BaselineDigest = digest(fmt.Sprintf("%v,%v,%v", b.P, b.R, b.F))
	}
	return Config{
		Score: sc,
		Runtime: RuntimeConfig{
			Runtime:        s.info.Runtime,
			RuntimeVersion: s.info.RuntimeVersion,
			Device:         cmp.Or(s.info.Device, "cpu"),
			Precision:      cmp.Or(s.info.Precision, "fp32"),
			BatchTokens:    o.BatchTokens,
			ChunkTokens:    o.ChunkTokens,
			Threads:        o.Threads,
		},
	}
}

// Config describes the scorer's configuration. With idf over the
// references its IDFDigest is empty: each call's Summary names the table
// that call computed.
func (s *Scorer) Config() Config { return s.cfg }

// Hash is Config().Hash().
func (s *Scorer) Hash() string { return s.cfg.Hash() }

// Encoder is the encoder the scorer runs (shared, not owned).
func (s *Scorer) Encoder() Encoder { return s.enc }

// Layer is the layer the encoder's output comes from (LayerUnknown when
// not known).
func (s *Scorer) Layer() int { return s.opts.Layer }

// IDF computes the idf table over refs, one document per entry
// (duplicates count).
func (s *Scorer) IDF(ctx context.Context, refs []string) (*IDFTable, error) {
	t, _, _, err := s.idf(ctx, slices.Values(refs), false)
	return t, err
}

// IDFSeq computes the idf table over a stream of references, one document
// per entry (duplicates count), holding only their document frequencies:
// the first pass of scoring a stream with idf (give the table to WithIDF,
// then Stream the pairs).
func (s *Scorer) IDFSeq(ctx context.Context, refs iter.Seq2[string, error]) (*IDFTable, error) {
	var err error
	texts := func(yield func(string) bool) {
		for r, e := range refs {
			if e != nil {
				err = e
				return
			}
			if !yield(r) {
				return
			}
		}
	}
	t, _, _, ierr := s.idf(ctx, texts, false)
	if ierr != nil {
		return nil, ierr
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// idf computes the idf table over refs and, when keep is set, returns
// each entry's encoding too, so that scoring need not tokenize the
// references again, and the time spent tokenizing.
func (s *Scorer) idf(ctx context.Context, refs iter.Seq[string], keep bool) (*IDFTable, []encoding, time.Duration, error) {
	c := newDFCounter()
	var kept []encoding
	var spent time.Duration
	const step = 1024
	part := make([]string, 0, step)
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		b, err := s.encode(part)
		spent += time.Since(start)
		if err != nil {
			return err
		}
		for _, x := range b.IDs {
			c.add(x)
		}
		if keep {
			kept = appendEncodings(kept, b)
		}
		part = part[:0]
		return nil
	}
	for r := range refs {
		if part = append(part, r); len(part) == step {
			if err := flush(); err != nil {
				return nil, nil, spent, err
			}
		}
	}
	if len(part) > 0 {
		if err := flush(); err != nil {
			return nil, nil, spent, err
		}
	}
	return c.table(), kept, spent, nil
}

// encoding is one text's token ids and whether they were truncated.
type encoding struct {
	ids       []int32
	truncated bool
}

// appendEncodings appends b's encodings, in order, to out.
func appendEncodings(out []encoding, b tokenize.Batch) []encoding {
	n := len(out)
	for _, x := range b.IDs {
		out = append(out, encoding{ids: x})
	}
	for _, i := range b.Truncated {
		out[n+i].truncated = true
	}
	return out
}

// encode tokenizes texts on s.opts.Threads goroutines, checking that the
// tokenizer gave one encoding per text.
func (s *Scorer) encode(texts []string) (tokenize.Batch, error) {
	b, err := safeEncode(s.tok, texts, s.opts.Threads)
	if err != nil {
		return tokenize.Batch{}, err
	}
	if len(b.IDs) != len(texts) {
		return tokenize.Batch{}, fmt.Errorf("tokenizer returned %d encodings for %d texts", len(b.IDs), len(texts))
	}
	for _, i := range b.Truncated {
		if i < 0 || i >= len(texts) {
			return tokenize.Batch{}, fmt.Errorf("tokenizer reported text %d of %d as truncated", i, len(texts))
		}
	}
	return b, nil
}

// Score scores each candidate against its references: refs[i] holds the
// references of cands[i] (at least one). It returns one score per
// candidate in input order. With idf over the references it first
// tokenizes every reference to count document frequencies, keeping their
// token ids for scoring.
func (s *Scorer) Score(ctx context.Context, cands []string, refs [][]string) (*Result, error) {
	if len(refs) != len(cands) {
		return nil, asInput(fmt.Errorf("scorer: %d candidates but %d reference lists", len(cands), len(refs)))
	}
	for i, r := range refs {
		if len(r) == 0 {
			return nil, asInput(fmt.Errorf("scorer: candidate %d has no reference", i+1))
		}
	}
	start := time.Now()
	cfg := s.cfg
	w := s.weigher()
	var (
		known  []encoding
		idfDur time.Duration
	)
	if s.opts.IDF && s.opts.IDFTable == nil {
		flat := func(yield func(string) bool) {
			for _, r := range refs {
				for _, x := range r {
					if !yield(x) {
						return
					}
				}
			}
		}
		t, kept, spent, err := s.idf(ctx, flat, true)
		if err != nil {
			return nil, err
		}
		w, known, idfDur = t.Weight, kept, spent
		cfg.Score.IDFDigest = t.digest()
	}
	items := func(yield func(item, error) bool) {
		off := 0
		for i, c := range cands {
			it := item{cand: c, refs: refs[i]}
			if known != nil {
				it.known = known[off : off+len(refs[i])]
				off += len(refs[i])
			}
			if !yield(it, nil) {
				return
			}
		}
	}
	res := &Result{Pairs: make([]PRF, 0, len(cands))}
	sum, err := s.stream(ctx, items, len(cands), w, cfg, func(c Chunk) error {
		res.Pairs = append(res.Pairs, c.Pairs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sum.Stats.Tokenize += idfDur
	sum.Stats.Wall = time.Since(start)
	res.Summary = *sum
	return res, nil
}

// Stream scores pairs as they come, handing each chunk's scores to fn in
// input order as soon as they are matched (rescaled when the scorer
// rescales); an error from fn, from pairs or from scoring stops the call
// and is returned. Pairs are read a group at a time, a little ahead of the
// chunk being scored, never all at once. A scorer with idf over the
// references cannot stream (the references are not all known before the
// first score): compute the table with IDFSeq and stream with the scorer
// WithIDF gives.
func (s *Scorer) Stream(ctx context.Context, pairs iter.Seq2[Pair, error], fn func(Chunk) error) (*Summary, error) {
	if s.opts.IDF && s.opts.IDFTable == nil {
		return nil, asInput(errors.New("scorer: idf over the references needs every reference before the first score: compute the table with IDFSeq over the references, then stream with the scorer WithIDF(table) returns"))
	}
	if fn == nil {
		return nil, asInput(errors.New("scorer: Stream needs a callback"))
	}
	start := time.Now()
	items := func(yield func(item, error) bool) {
		for p, err := range pairs {
			if !yield(item{cand: p.Cand, refs: p.Refs}, err) {
				return
			}
		}
	}
	sum, err := s.stream(ctx, items, 0, s.weigher(), s.cfg, fn)
	if err != nil {
		return nil, err
	}
	sum.Stats.Wall = time.Since(start)
	return sum, nil
}

// weigher returns the token weight function: the idf table's, or 1 for
// every token but the specials. (Idf over the references is Score's.)
func (s *Scorer) weigher() func(int32) float64 {
	if t := s.opts.IDFTable; t != nil {
		return t.Weight
	}
	return func(id int32) float64 {
		if s.specials[id] {
			return 0
		}
		return 1
	}
}

// item is one pair to score.
type item struct {
	cand string
	refs []string
	// known, when not nil, holds the references' encodings from the idf
	// pass, one per reference.
	known []encoding
}

// sentence is one distinct text of a chunk.
type sentence struct {
	ids       []int32
	weights   []float64
	real      int  // ids besides the specials added around every text
	off       int  // first token's row in the chunk's arena
	truncated bool // cut at the tokenizer's MaxLen
}

// chunk is a run of n pairs from input index lo on, with their distinct
// sentences, ready to encode.
type chunk struct {
	lo, n   int
	sents   []sentence
	cand    []int   // per pair: sentence index of the candidate
	refs    [][]int // per pair: sentence indices of the references
	batches [][]int // sentence indices, one slice per encoder batch
	tokens  int     // total tokens
}

// stream scores items chunk by chunk: one goroutine reads, tokenizes and
// plans the next chunk while this one encodes and matches the current
// one and hands its scores to fn.
func (s *Scorer) stream(ctx context.Context, items iter.Seq2[item, error], total int, weight func(int32) float64, cfg Config, fn func(Chunk) error) (*Summary, error) {
	sum := &Summary{Config: cfg, Hash: cfg.Hash(), Stats: Stats{MaxTokens: s.tok.MaxLen(), ModelLoad: s.info.LoadTime}}
	st := &sum.Stats
	var mean Means
	g, ctx := errgroup.WithContext(ctx)
	chunks := make(chan *chunk, 1)
	p := &planner{s: s, weight: weight}
	g.Go(func() error {
		defer close(chunks)
		next, stop := iter.Pull2(items)
		defer stop()
		p.next = next
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := p.plan()
			if err != nil || c == nil {
				return err
			}
			select {
			case chunks <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	g.Go(func() error {
		var arena []float32
		for c := range chunks {
			var (
				hidden int
				err    error
			)
			arena, hidden, err = s.embed(ctx, c, arena, total, st)
			if err != nil {
				return err
			}
			st.Chunks++
			st.Sentences += len(c.sents)
			st.Tokens += c.tokens
			st.PeakEmbeddingBytes = max(st.PeakEmbeddingBytes, 4*cap(arena))
			out := make([]PRF, c.n)
			start := time.Now()
			s.match(c, arena, hidden, out)
			st.Match += time.Since(start)
			for i, k := range c.cand {
				if c.sents[k].real == 0 {
					st.EmptyCandidates++
				}
				if c.sents[k].truncated {
					st.TruncatedCandidates++
				}
				for _, r := range c.refs[i] {
					if c.sents[r].real == 0 {
						st.EmptyReferences++
					}
					if c.sents[r].truncated {
						st.TruncatedReferences++
					}
				}
			}
			for i, x := range out {
				if b := s.opts.Baseline; b != nil {
					x = b.Rescale(x)
					out[i] = x
				}
				mean.Add(x)
			}
			sum.Count += c.n
			if err := fn(Chunk{Start: c.lo, Pairs: out}); err != nil {
				return err
			}
			if s.opts.Progress != nil {
				s.opts.Progress(c.lo+c.n, total)
			}
		}
		return nil
	})
	err := g.Wait()
	st.Tokenize += p.tokenizeTime
	if err != nil {
		return nil, err
	}
	sum.Mean = mean.Mean()
	return sum, nil
}

// Means computes the corpus means of scores exactly as Score and Stream
// do: a running sum per component, in input order, divided by the count.
// Floating-point sums depend on their order, so a caller that rebuilds a
// result from parts (the shards of one job) adds the scores in input
// order through Means to get the very bits of a one-call Summary.Mean.
// The zero value is ready to use.
type Means struct {
	p, r, f float64
	n       int
}

// Add adds one score.
func (m *Means) Add(x PRF) {
	m.p += x.P
	m.r += x.R
	m.f += x.F
	m.n++
}

// Mean is the mean of the scores added: NaN in a component that any score
// leaves undefined, zero when none was added.
func (m *Means) Mean() PRF {
	if m.n == 0 {
		return PRF{}
	}
	n := float64(m.n)
	return PRF{P: m.p / n, R: m.r / n, F: m.f / n}
}

// planner cuts a stream of pairs into chunks, one after the other.
type planner struct {
	s      *Scorer
	weight func(int32) float64
	next   func() (item, error, bool)
	// done is set once next has reported the end.
	done bool
	// pending holds the pairs read but not yet taken into a chunk;
	// pending[0] is input pair base.
	pending []item
	base    int
	// tokenized holds the encodings of pending texts tokenized in a group
	// but left for the next chunk.
	tokenized map[string]encoding
	// pairs and tokens are the pairs taken into chunks so far and the
	// tokens they added, for sizing groups.
	pairs, tokens int
	// tokenizeTime is the time spent in the tokenizer.
	tokenizeTime time.Duration
}

// Bounds on how many pairs are tokenized in one call.
const (
	firstGroup = 16   // before any pair's size is known
	maxGroup   = 1024 // keeps the encodings held for later chunks small
)

// groupSize is how many pairs to tokenize next for room tokens left in a
// chunk: as many as fit at the tokens per pair seen so far.
func (p *planner) groupSize(room int) int {
	if p.pairs == 0 {
		return firstGroup
	}
	perPair := max((p.tokens+p.pairs-1)/p.pairs, 1)
	return min(max(room/perPair, 1), maxGroup)
}

// fill reads pairs until n are pending or the input ends.
func (p *planner) fill(n int) error {
	for !p.done && len(p.pending) < n {
		it, err, ok := p.next()
		if !ok {
			p.done = true
			break
		}
		if err != nil {
			return err
		}
		if len(it.refs) == 0 {
			return asInput(fmt.Errorf("scorer: pair %d has no reference", p.base+len(p.pending)+1))
		}
		p.pending = append(p.pending, it)
	}
	return nil
}

// plan returns the next chunk, nil when every pair is taken. It takes
// pending pairs (reading more as needed) while their distinct sentences
// hold at most the chunk's token limit (the first pair is always taken,
// so one larger than the limit is a chunk of its own), weighs their
// tokens and cuts them into batches. Pairs are tokenized a group at a
// time, each group's new texts in one call; the group is sized from the
// tokens per pair seen so far and the room left, and what a group
// tokenized beyond the chunk is kept for the next.
func (p *planner) plan() (*chunk, error) {
	s := p.s
	c := &chunk{lo: p.base}
	index := map[string]int{}
	var encs []encoding // per distinct text
	limit := s.opts.ChunkTokens
	if p.base == 0 {
		// A small first chunk gets the encoder going sooner; later chunks
		// are tokenized while the encoder works.
		limit = min(limit, 4*s.opts.BatchTokens)
	}
	taken := 0
	full := false
	for !full {
		want := p.groupSize(limit - c.tokens)
		if err := p.fill(taken + want); err != nil {
			return nil, err
		}
		if taken == len(p.pending) {
			break // the input ended
		}
		end := min(taken+want, len(p.pending))
		if err := p.tokenize(p.pending[taken:end], index); err != nil {
			return nil, err
		}
		// Take the group's pairs while they fit.
		for ; taken < end; taken++ {
			it := p.pending[taken]
			var texts []string // the pair's texts new to the chunk
			var add []encoding
			added := 0
			var missing error
			fresh := func(text string, e encoding, ok bool) {
				if _, have := index[text]; have || slices.Contains(texts, text) {
					return
				}
				if !ok {
					e, ok = p.tokenized[text]
				}
				if !ok {
					missing = fmt.Errorf("scorer: internal error: pair %d's text was not tokenized", p.base+taken+1)
				}
				texts, add = append(texts, text), append(add, e)
				added += len(e.ids)
			}
			// References first: a candidate equal to one reuses its ids.
			for k, r := range it.refs {
				if it.known != nil {
					fresh(r, it.known[k], true)
				} else {
					fresh(r, encoding{}, false)
				}
			}
			fresh(it.cand, encoding{}, false)
			if missing != nil {
				return nil, missing
			}
			if taken > 0 && added > 0 && c.tokens+added > limit {
				full = true
				break
			}
			for j, text := range texts {
				index[text] = len(encs)
				encs = append(encs, add[j])
			}
			c.tokens += added
			p.pairs++
			p.tokens += added
			rs := make([]int, len(it.refs))
			for k, r := range it.refs {
				rs[k] = index[r]
			}
			c.refs = append(c.refs, rs)
			c.cand = append(c.cand, index[it.cand])
		}
		// Keep only what the pairs not taken yet need.
		left := map[string]encoding{}
		for _, it := range p.pending[taken:] {
			for _, text := range append([]string{it.cand}, it.refs...) {
				if e, ok := p.tokenized[text]; ok {
					left[text] = e
				}
			}
		}
		p.tokenized = left
	}
	if taken == 0 {
		return nil, nil
	}
	c.n = taken
	// Drop the taken pairs (a fresh slice, so their texts can be freed).
	p.pending = slices.Clone(p.pending[taken:])
	p.base += taken
	c.tokens = 0
	c.sents = make([]sentence, len(encs))
	order := make([]int, 0, len(encs))
	for k, e := range encs {
		x := e.ids
		st := sentence{ids: x, weights: make([]float64, len(x)), off: c.tokens, truncated: e.truncated}
		for t, id := range x {
			st.weights[t] = p.weight(id)
		}
		// As in the reference, a text is empty when it has only the ids
		// added around every text; a text that spells out a special token
		// ("[SEP]") is not empty, its tokens just weigh 0.
		st.real = max(len(x)-s.added, 0)
		c.tokens += len(x)
		c.sents[k] = st
		if len(x) > 0 {
			order = append(order, k)
		}
	}
	// Shortest first; equal lengths keep first-seen order, so batches are
	// the same on every run.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(encs[a].ids), len(encs[b].ids)) })
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && (end-start+1)*len(encs[order[end]].ids) <= s.opts.BatchTokens {
			end++
		}
		c.batches = append(c.batches, order[start:end])
		start = end
	}
	return c, nil
}

// tokenize tokenizes, in one call, the texts of items that are in neither
// the chunk (index), nor p.tokenized, nor known from the idf pass, and
// adds them to p.tokenized.
func (p *planner) tokenize(items []item, index map[string]int) error {
	if p.tokenized == nil {
		p.tokenized = map[string]encoding{}
	}
	var pending []string
	seen := map[string]bool{}
	need := func(text string) {
		if _, ok := index[text]; ok {
			return
		}
		if _, ok := p.tokenized[text]; ok || seen[text] {
			return
		}
		seen[text] = true
		pending = append(pending, text)
	}
	for _, it := range items {
		// A candidate equal to one of its references known from the idf
		// pass reuses that reference's ids.
		reuse := false
		for _, r := range it.refs {
			if it.known == nil {
				need(r)
			} else if r == it.cand {
				reuse = true
			}
		}
		if !reuse {
			need(it.cand)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	start := time.Now()
	b, err := p.s.encode(pending)
	p.tokenizeTime += time.Since(start)
	if err != nil {
		return err
	}
	for j, e := range appendEncodings(nil, b) {
		p.tokenized[pending[j]] = e
	}
	return nil
}

// embed encodes every batch of c into arena (grown as needed): each
// sentence's token vectors, L2-normalised, from row sentence.off on. It
// returns the arena and the hidden size.
func (s *Scorer) embed(ctx context.Context, c *chunk, arena []float32, total int, st *Stats) ([]float32, int, error) {
	hidden := 0
	done := 0
	batchIDs := make([][]int32, 0, 64)
	for _, b := range c.batches {
		batchIDs = batchIDs[:0]
		for _, k := range b {
			batchIDs = append(batchIDs, c.sents[k].ids)
		}
		start := time.Now()
		out, err := safeEncodeHidden(ctx, s.enc, Batch{IDs: batchIDs, Pad: s.tok.PadID()})
		took := time.Since(start)
		st.Encode += took
		if err != nil {
			if ctx.Err() != nil {
				return arena, 0, ctx.Err()
			}
			return arena, 0, err
		}
		st.Batches++
		st.PaddedTokens += len(b) * out.Seq
		if s.opts.OnBatch != nil {
			s.opts.OnBatch(took)
		}
		if hidden == 0 {
			hidden = out.Dim
			arena = growArena(arena, c.tokens*hidden, s.opts.ChunkTokens*hidden)
		} else if out.Dim != hidden {
			return arena, 0, fmt.Errorf("encoder gave hidden size %d, then %d", hidden, out.Dim)
		}
		start = time.Now()
		for r, k := range b {
			sent := c.sents[k]
			n := len(sent.ids)
			dst := arena[sent.off*hidden : (sent.off+n)*hidden]
			copy(dst, out.Data[r*out.Seq*hidden:(r*out.Seq+n)*hidden])
			normalizeRows(dst, hidden)
			done += n
		}
		st.Match += time.Since(start)
		if s.opts.Progress != nil && c.tokens > 0 {
			s.opts.Progress(c.lo+c.n*done/c.tokens/2, total)
		}
	}
	return arena, hidden, nil
}

// growArena returns arena resliced to need floats, reallocated when it is
// too small: to twice its size, at least need and at most limit (the
// chunk's), so that chunks of slightly different sizes do not each
// allocate a new arena. The old arena is dropped before the new one is
// made, so the two are never held at once.
func growArena(arena []float32, need, limit int) []float32 {
	if need <= cap(arena) {
		return arena[:need]
	}
	size := max(need, min(2*cap(arena), limit))
	arena = nil
	arena = make([]float32, size)
	return arena[:need]
}

// match scores the pairs of c into out (one per pair) from the embeddings
// in arena, spreading the pairs over s.opts.Threads workers.
func (s *Scorer) match(c *chunk, arena []float32, hidden int, out []PRF) {
	emb := func(k int) Embedding {
		st := c.sents[k]
		n := len(st.ids)
		return Embedding{Dim: hidden, Vecs: arena[st.off*hidden : (st.off+n)*hidden], Weights: st.weights, Real: st.real}
	}
	workers := min(s.opts.Threads, c.n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m Matcher
			for i := w; i < c.n; i += workers {
				cand := emb(c.cand[i])
				var best PRF
				for k, r := range c.refs[i] {
					p := m.Match(cand, emb(r))
					if k == 0 {
						best = p
						continue
					}
					best = PRF{P: max(best.P, p.P), R: max(best.R, p.R), F: max(best.F, p.F)}
				}
				out[i] = best
			}
		}()
	}
	wg.Wait()
}

// safeEncode tokenizes texts on at most workers goroutines, turning a
// panic inside the tokenizer into an error.
func safeEncode(t Tokenizer, texts []string, workers int) (b tokenize.Batch, err error) {
	defer recoverAs(&err, "tokenizer")
	b, err = t.EncodeBatch(texts, workers)
	if err != nil {
		return tokenize.Batch{}, fmt.Errorf("tokenizer: %w", err)
	}
	return b, nil
}
