// Package scorer computes BERTScore in-process: it tokenizes sentences,
// runs an ONNX encoder through ONNX Runtime, and greedily matches token
// embeddings the way the reference implementation (the bert_score Python
// package, 0.3.13) does, to within 1e-5.
//
// The algorithm (see testdata/bertscore/README.md): every token vector,
// special tokens included, is L2-normalised; a candidate token's precision
// is its best cosine with any reference token (special tokens are match
// targets), recall symmetrically; P and R are weighted means (special tokens
// weigh 0, or idf weights), F = 2PR/(P+R). A candidate or reference with no
// tokens besides the specials scores 0,0,0. With several references the best
// P, R and F are taken separately; baseline rescaling comes after that.
//
// Memory stays bounded by a chunk of pairs, not the corpus: pairs are taken
// into a chunk while their distinct sentences hold at most ChunkTokens
// tokens (a single pair larger than that is a chunk of its own); sentences
// are deduplicated, sorted by token count and cut into batches by a token
// budget within each chunk; a chunk's embeddings are dropped once its
// pairs are matched. The next chunk is tokenized while the current one is
// encoded.
package scorer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
	"golang.org/x/sync/errgroup"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/ortlib"
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

// Tokenizer is what the scorer needs from a tokenizer; it must be safe for
// concurrent use. The tokenizer in package scorer/tokenize implements it.
type Tokenizer interface {
	// EncodeBatch returns each text's token ids, stripped of surrounding
	// whitespace, with special tokens added, truncated to MaxLen ids, and
	// which texts were truncated. It runs on at most workers goroutines.
	EncodeBatch(texts []string, workers int) (tokenize.Batch, error)
	// MaxLen is the most ids EncodeBatch gives a text, specials included.
	MaxLen() int
	// PadID is the id padding positions hold.
	PadID() int32
	// Kind names the tokenizer's semantics (for the result hash).
	Kind() string
	// VocabSize is the number of ids.
	VocabSize() int
}

// Options configures a Scorer. Only Model is required.
type Options struct {
	// Model is the model folder (model.onnx, tokenizer.json, optional
	// manifest).
	Model *models.Resolved
	// Tokenizer, when nil, is loaded from the model folder's tokenizer.json.
	Tokenizer Tokenizer
	// ORTLib is the ONNX Runtime library to load ("" finds it; see
	// ortlib.Find). The runtime is loaded once per process.
	ORTLib string

	// IDF weights tokens by inverse document frequency over the references
	// of each Score call. The references are tokenized once, up front, and
	// their token ids (4 bytes a token) kept for the call.
	IDF bool
	// IDFTable, when set, supplies the idf weights instead (implies IDF).
	IDFTable *IDFTable

	// Rescale applies a baseline: Baseline if set, else the row of
	// BaselineTable for the layer, else the model's baseline for Lang
	// (see models.Resolved.BaselineFor; "" is the model's own language).
	Rescale       bool
	Baseline      *Baseline
	BaselineTable BaselineTable
	Lang          string

	// Layer is the encoder layer whose output the model gives, for the hash
	// and the baseline row. The manifest's layer is used when there is one
	// (Layer must then be 0 or agree). 0 means not known.
	Layer int

	// BatchTokens bounds a batch's padded size (sentences × longest
	// length). Default DefaultBatchTokens.
	BatchTokens int
	// Threads is ONNX Runtime's intra-op thread count, the number of
	// goroutines tokenizing and the number of matching workers; 0 means
	// every core.
	Threads int
	// ChunkTokens bounds how many tokens' embeddings are held in memory
	// at a time (memory ≤ ChunkTokens × hidden × 4 bytes, plus one batch),
	// unless a single pair (a candidate and its references) has more
	// tokens: that pair is then scored alone. Default DefaultChunkTokens.
	ChunkTokens int

	// Provider and ProviderName add an execution provider (see
	// EncoderOptions); nil runs on the CPU.
	Provider     func(*ort.SessionOptions) error
	ProviderName string

	// Progress, when set, is called from the scoring goroutine with the
	// number of pairs scored so far and the total.
	Progress func(done, total int)
}

// Result is the outcome of one Score call.
type Result struct {
	// Hash names everything that determines the numbers (model, layer,
	// idf, rescaling, tokenizer, runtime, precision).
	Hash string
	// Pairs holds one score per candidate, in input order.
	Pairs []PRF
	// Mean is the arithmetic mean of Pairs.
	Mean PRF
	// Stats describes the work done.
	Stats Stats
}

// Stats describes the work one Score call did.
type Stats struct {
	// Chunks is how many chunks the pairs were scored in.
	Chunks int
	// Sentences is the number of distinct sentences encoded (counted per
	// chunk), Tokens their tokens, Batches the encoder runs.
	Sentences, Tokens, Batches int
	// PaddedTokens is the encoder's input size, padding included.
	PaddedTokens int
	// PeakEmbeddingBytes is the largest embedding arena held at once: the
	// memory that grows with a chunk, not with the corpus.
	PeakEmbeddingBytes int
	// EmptyCandidates and EmptyReferences count the candidates and the
	// reference entries with no tokens besides the specials; their pairs
	// score 0.
	EmptyCandidates, EmptyReferences int
	// TruncatedCandidates and TruncatedReferences count the candidates and
	// the reference entries with more than MaxTokens tokens: they were cut
	// to MaxTokens (specials included), so their scores cover only their
	// beginning, as in the reference, which truncates without a word.
	TruncatedCandidates, TruncatedReferences int
	// MaxTokens is the most tokens a sentence keeps (the tokenizer's
	// MaxLen, 512 for BERT-style encoders).
	MaxTokens int
}

// Scorer computes BERTScore with one model. It is safe for concurrent use,
// but Score calls run one at a time.
type Scorer struct {
	opts     Options
	tok      Tokenizer
	enc      *Encoder
	specials map[int32]bool
	// added is how many ids the tokenizer puts around every text (the
	// specials): a text with no more ids than that is empty.
	added int
	layer int
	// layerKnown is false when neither a manifest nor --layer said which
	// layer the model outputs (layer 0, the embedding output, is valid).
	layerKnown bool
	baseline   *Baseline
	hash       string
	mu         sync.Mutex // serialises Score (one encoder session, one arena)
}

// New loads the model and checks the options.
func New(ctx context.Context, opts Options) (*Scorer, error) {
	if opts.Model == nil {
		return nil, asInput(errors.New("scorer: no model given"))
	}
	if opts.BatchTokens < 0 || opts.Threads < 0 || opts.ChunkTokens < 0 {
		return nil, asInput(errors.New("scorer: batch tokens, threads and chunk size must not be negative"))
	}
	if opts.BatchTokens == 0 {
		opts.BatchTokens = DefaultBatchTokens
	}
	if opts.ChunkTokens == 0 {
		opts.ChunkTokens = DefaultChunkTokens
	}
	if opts.Threads == 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.IDFTable != nil {
		opts.IDF = true
	}
	s := &Scorer{opts: opts}
	if err := s.resolveLayerAndBaseline(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.tok = opts.Tokenizer
	if s.tok == nil {
		t, err := loadTokenizer(filepath.Join(opts.Model.Dir, models.TokenizerFile))
		if err != nil {
			return nil, err
		}
		s.tok = t
	}
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
			if int(id) >= s.tok.VocabSize() {
				return nil, asInput(fmt.Errorf("idf table: token id %d is outside the tokenizer's vocabulary (%d ids): was the table made with another tokenizer?", id, s.tok.VocabSize()))
			}
		}
	}
	if _, err := ortlib.Load(opts.ORTLib); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.enc, err = NewEncoder(filepath.Join(opts.Model.Dir, models.ONNXFile), EncoderOptions{
		Threads: opts.Threads, Provider: opts.Provider, ProviderName: opts.ProviderName,
	})
	if err != nil {
		return nil, err
	}
	s.hash = s.makeHash()
	return s, nil
}

func (s *Scorer) resolveLayerAndBaseline() error {
	m := s.opts.Model.Manifest
	s.layer, s.layerKnown = s.opts.Layer, s.opts.Layer > 0
	// A manifest written by `models import` always records the checkpoint's
	// total layers; its layer then holds even when it is 0.
	if m != nil && (m.Layer > 0 || m.TotalLayers > 0) {
		if s.opts.Layer != 0 && s.opts.Layer != m.Layer {
			return asInput(fmt.Errorf("layer %d was asked for, but the model folder %s was cut at layer %d (its %s says so): drop --layer, or build a model cut at layer %d", s.opts.Layer, s.opts.Model.Dir, m.Layer, models.ManifestFile, s.opts.Layer))
		}
		s.layer, s.layerKnown = m.Layer, true
	}
	if !s.opts.Rescale {
		return nil
	}
	switch {
	case s.opts.Baseline != nil:
		b := *s.opts.Baseline
		s.baseline = &b
	case s.opts.BaselineTable != nil:
		if !s.layerKnown {
			return asInput(fmt.Errorf("rescaling with a baseline file needs the model's layer to pick the row, and %s has no %s saying it: pass --layer N (the number of encoder layers the ONNX model keeps)", s.opts.Model.Dir, models.ManifestFile))
		}
		b, err := s.opts.BaselineTable.Layer(s.layer)
		if err != nil {
			return err
		}
		s.baseline = &b
	default:
		b, _, err := s.opts.Model.BaselineFor(s.opts.Lang)
		if err != nil {
			return asInput(fmt.Errorf("rescale baseline: %w", err))
		}
		if b == nil {
			lang := ""
			if s.opts.Lang != "" {
				lang = " for language " + s.opts.Lang
			}
			return asInput(fmt.Errorf("rescaling needs a baseline, and the model folder %s has none%s in a %s: pass --baseline FILE (LAYER,P,R,F)", s.opts.Model.Dir, lang, models.ManifestFile))
		}
		s.baseline = &Baseline{P: b.P, R: b.R, F: b.F}
	}
	if err := s.baseline.validate(); err != nil {
		return asInput(err)
	}
	return nil
}

// makeHash builds the configuration hash, in the reference's style
// (<model>_L<layer>_<idf|no-idf>_version=...), extended with what else can
// move a score here: the tokenizer's semantics, the runtime, the execution
// provider, the precision and, where the numbers come from the caller, a
// digest of the idf table and of the rescale baseline (two runs with
// different baselines must not share a hash).
func (s *Scorer) makeHash() string {
	layer := "unknown"
	if s.layerKnown {
		layer = strconv.Itoa(s.layer)
	}
	idf := "no-idf"
	if s.opts.IDFTable != nil {
		idf = "idf-table"
	} else if s.opts.IDF {
		idf = "idf"
	}
	// The weights' precision as read from the graph; the manifest's word
	// only when the graph has no floating-point weights to tell.
	precision := s.enc.Precision()
	if m := s.opts.Model.Manifest; precision == "" && m != nil && m.Precision != "" {
		precision = m.Precision
	}
	if precision == "" {
		precision = "fp32"
	}
	extra := ""
	if t := s.opts.IDFTable; t != nil {
		extra += ",idf-table=" + t.digest()
	}
	if b := s.baseline; b != nil {
		extra += ",baseline=" + digest(fmt.Sprintf("%v,%v,%v", b.P, b.R, b.F))
	}
	tok := s.tok.Kind()
	// The tokenizer's semantics say how text is cut; its fingerprint says
	// with which vocabulary (two folders with one name may differ).
	if f, ok := s.tok.(interface{ Fingerprint() string }); ok && len(f.Fingerprint()) >= 8 {
		tok += "@" + f.Fingerprint()[:8]
	}
	h := fmt.Sprintf("%s_L%s_%s_version=%s(tokenizer=%s,ort=%s,provider=%s,%s%s)",
		s.opts.Model.Name, layer, idf, Version, tok, ort.GetVersion(), s.enc.ProviderName(), precision, extra)
	if s.baseline != nil {
		h += "-rescaled"
	}
	return h
}

// digest is a short hex digest of s, for naming inputs in hashes.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Hash names the scorer's configuration; every Result carries it.
func (s *Scorer) Hash() string { return s.hash }

// Layer is the layer the model's output comes from (0 when unknown).
func (s *Scorer) Layer() int { return s.layer }

// Close releases the encoder.
func (s *Scorer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.enc.Close()
	if c, ok := s.tok.(interface{ Close() error }); ok && s.opts.Tokenizer == nil {
		err = errors.Join(err, c.Close())
	}
	return err
}

// IDF computes the idf table over refs, one document per entry
// (duplicates count).
func (s *Scorer) IDF(ctx context.Context, refs []string) (*IDFTable, error) {
	t, _, err := s.idf(ctx, refs, false)
	return t, err
}

// idf computes the idf table over refs and, when keep is set, returns
// each entry's encoding too, so that scoring need not tokenize the
// references again.
func (s *Scorer) idf(ctx context.Context, refs []string, keep bool) (*IDFTable, []encoding, error) {
	c := newDFCounter()
	var kept []encoding
	if keep {
		kept = make([]encoding, 0, len(refs))
	}
	const step = 1024
	for lo := 0; lo < len(refs); lo += step {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		part := refs[lo:min(lo+step, len(refs))]
		b, err := s.encode(part)
		if err != nil {
			return nil, nil, err
		}
		for _, x := range b.IDs {
			c.add(x)
		}
		if keep {
			kept = appendEncodings(kept, b)
		}
	}
	return c.table(), kept, nil
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
// candidate in input order.
func (s *Scorer) Score(ctx context.Context, cands []string, refs [][]string) (*Result, error) {
	if len(refs) != len(cands) {
		return nil, asInput(fmt.Errorf("scorer: %d candidates but %d reference lists", len(cands), len(refs)))
	}
	for i, r := range refs {
		if len(r) == 0 {
			return nil, asInput(fmt.Errorf("scorer: candidate %d has no reference", i+1))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc.session == nil {
		return nil, errors.New("scorer: used after Close")
	}
	w, refIDs, err := s.weigher(ctx, refs)
	if err != nil {
		return nil, err
	}
	in := &input{cands: cands, refs: refs, refIDs: refIDs, weight: w}
	if refIDs != nil {
		in.refStart = make([]int, len(refs))
		n := 0
		for i, r := range refs {
			in.refStart[i] = n
			n += len(r)
		}
	}
	res := &Result{Hash: s.hash, Pairs: make([]PRF, len(cands)), Stats: Stats{MaxTokens: s.tok.MaxLen()}}
	if err := s.run(ctx, in, res.Pairs, &res.Stats); err != nil {
		return nil, err
	}
	var sum [3]float64
	for i, p := range res.Pairs {
		if s.baseline != nil {
			p = s.baseline.Rescale(p)
			res.Pairs[i] = p
		}
		sum[0] += p.P
		sum[1] += p.R
		sum[2] += p.F
	}
	if n := float64(len(res.Pairs)); n > 0 {
		res.Mean = PRF{P: sum[0] / n, R: sum[1] / n, F: sum[2] / n}
	}
	return res, nil
}

// weigher returns the token weight function for one Score call. With idf
// computed over refs it also returns the references' encodings, one entry
// per reference in order (refs flattened), which the idf pass had to
// compute anyway; they cost 4 bytes a token, less than the text itself.
func (s *Scorer) weigher(ctx context.Context, refs [][]string) (func(int32) float64, []encoding, error) {
	switch {
	case s.opts.IDFTable != nil:
		return s.opts.IDFTable.Weight, nil, nil
	case s.opts.IDF:
		var flat []string
		for _, r := range refs {
			flat = append(flat, r...)
		}
		t, ids, err := s.idf(ctx, flat, true)
		if err != nil {
			return nil, nil, err
		}
		return t.Weight, ids, nil
	default:
		return func(id int32) float64 {
			if s.specials[id] {
				return 0
			}
			return 1
		}, nil, nil
	}
}

// input is what one Score call scores.
type input struct {
	cands  []string
	refs   [][]string
	weight func(int32) float64
	// refIDs, when not nil, holds the references' encodings, flattened;
	// refs[i][k]'s is refIDs[refStart[i]+k].
	refIDs   []encoding
	refStart []int
}

// sentence is one distinct text of a chunk.
type sentence struct {
	ids       []int32
	weights   []float64
	real      int  // ids besides the specials added around every text
	off       int  // first token's row in the chunk's arena
	truncated bool // cut at the tokenizer's MaxLen
}

// chunk is a run of pairs [lo, hi) with their distinct sentences, ready to
// encode.
type chunk struct {
	lo, hi  int
	sents   []sentence
	cand    []int   // per pair: sentence index of the candidate
	refs    [][]int // per pair: sentence indices of the references
	batches [][]int // sentence indices, one slice per encoder batch
	tokens  int     // total tokens
}

// run scores pairs chunk by chunk: one goroutine tokenizes and plans the
// next chunk while this one encodes and matches the current one.
func (s *Scorer) run(ctx context.Context, in *input, out []PRF, st *Stats) error {
	g, ctx := errgroup.WithContext(ctx)
	chunks := make(chan *chunk, 1)
	g.Go(func() error {
		defer close(chunks)
		p := &planner{s: s, in: in}
		for lo := 0; lo < len(in.cands); {
			c, err := p.plan(lo)
			if err != nil {
				return err
			}
			select {
			case chunks <- c:
			case <-ctx.Done():
				return ctx.Err()
			}
			lo = c.hi
		}
		return nil
	})
	g.Go(func() error {
		var arena []float32
		for c := range chunks {
			var (
				hidden int
				err    error
			)
			arena, hidden, err = s.embed(ctx, c, arena, len(in.cands), st)
			if err != nil {
				return err
			}
			st.Chunks++
			st.Sentences += len(c.sents)
			st.Tokens += c.tokens
			st.PeakEmbeddingBytes = max(st.PeakEmbeddingBytes, 4*cap(arena))
			s.match(c, arena, hidden, out)
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
			if s.opts.Progress != nil {
				s.opts.Progress(c.hi, len(in.cands))
			}
		}
		return nil
	})
	return g.Wait()
}

// planner cuts the pairs of one Score call into chunks, one after the
// other.
type planner struct {
	s  *Scorer
	in *input
	// tokenized holds the encodings of texts of pairs tokenized in a group
	// but left for the next chunk.
	tokenized map[string]encoding
	// pairs and tokens are the pairs taken into chunks so far and the
	// tokens they added, for sizing groups.
	pairs, tokens int
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

// plan takes pairs from lo on while their distinct sentences hold at most
// the chunk's token limit (the first pair is always taken, so one larger
// than the limit is a chunk of its own), weighs their tokens and cuts them
// into batches. Pairs are tokenized a group at a time, each group's new
// texts in one call; the group is sized from the tokens per pair seen so
// far and the room left, and what a group tokenized beyond the chunk is
// kept for the next.
func (p *planner) plan(lo int) (*chunk, error) {
	s, in := p.s, p.in
	c := &chunk{lo: lo}
	index := map[string]int{}
	var encs []encoding // per distinct text
	limit := s.opts.ChunkTokens
	if lo == 0 {
		// A small first chunk gets the encoder going sooner; later chunks
		// are tokenized while the encoder works.
		limit = min(limit, 4*s.opts.BatchTokens)
	}
	// known returns the encoding of the k-th reference of pair i when the
	// idf pass has it.
	known := func(i, k int) (encoding, bool) {
		if in.refIDs == nil {
			return encoding{}, false
		}
		return in.refIDs[in.refStart[i]+k], true
	}
	hi := lo
	full := false
	for hi < len(in.cands) && !full {
		end := min(hi+p.groupSize(limit-c.tokens), len(in.cands))
		if err := p.tokenize(hi, end, index, known); err != nil {
			return nil, err
		}
		// Take the group's pairs while they fit.
		for ; hi < end; hi++ {
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
					missing = fmt.Errorf("scorer: internal error: pair %d's text was not tokenized", hi+1)
				}
				texts, add = append(texts, text), append(add, e)
				added += len(e.ids)
			}
			// References first: a candidate equal to one reuses its ids.
			for k, r := range in.refs[hi] {
				e, ok := known(hi, k)
				fresh(r, e, ok)
			}
			fresh(in.cands[hi], encoding{}, false)
			if missing != nil {
				return nil, missing
			}
			if hi > lo && added > 0 && c.tokens+added > limit {
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
			rs := make([]int, len(in.refs[hi]))
			for k, r := range in.refs[hi] {
				rs[k] = index[r]
			}
			c.refs = append(c.refs, rs)
			c.cand = append(c.cand, index[in.cands[hi]])
		}
		// Keep only what the pairs not taken yet need.
		left := map[string]encoding{}
		for i := hi; i < end; i++ {
			for _, text := range append([]string{in.cands[i]}, in.refs[i]...) {
				if e, ok := p.tokenized[text]; ok {
					left[text] = e
				}
			}
		}
		p.tokenized = left
	}
	c.hi = hi
	c.tokens = 0
	c.sents = make([]sentence, len(encs))
	order := make([]int, 0, len(encs))
	for k, e := range encs {
		x := e.ids
		st := sentence{ids: x, weights: make([]float64, len(x)), off: c.tokens, truncated: e.truncated}
		for t, id := range x {
			st.weights[t] = in.weight(id)
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

// tokenize tokenizes, in one call, the texts of pairs [lo, hi) that are in
// neither the chunk (index), nor p.tokenized, nor known from the idf pass,
// and adds them to p.tokenized.
func (p *planner) tokenize(lo, hi int, index map[string]int, known func(i, k int) (encoding, bool)) error {
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
	for i := lo; i < hi; i++ {
		// A candidate equal to one of its references known from the idf
		// pass reuses that reference's ids.
		reuse := false
		for k, r := range p.in.refs[i] {
			if _, ok := known(i, k); !ok {
				need(r)
			} else if r == p.in.cands[i] {
				reuse = true
			}
		}
		if !reuse {
			need(p.in.cands[i])
		}
	}
	if len(pending) == 0 {
		return nil
	}
	b, err := p.s.encode(pending)
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
		out, seq, h, err := s.enc.Encode(ctx, batchIDs, s.tok.PadID())
		if err != nil {
			return arena, 0, err
		}
		st.Batches++
		st.PaddedTokens += len(b) * seq
		if hidden == 0 {
			hidden = h
			arena = growArena(arena, c.tokens*hidden, s.opts.ChunkTokens*hidden)
		} else if h != hidden {
			return arena, 0, fmt.Errorf("encoder gave hidden size %d, then %d", hidden, h)
		}
		for r, k := range b {
			st := c.sents[k]
			n := len(st.ids)
			dst := arena[st.off*hidden : (st.off+n)*hidden]
			copy(dst, out[r*seq*hidden:(r*seq+n)*hidden])
			normalizeRows(dst, hidden)
			done += n
		}
		if s.opts.Progress != nil && c.tokens > 0 {
			s.opts.Progress(c.lo+(c.hi-c.lo)*done/c.tokens/2, total)
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

// match scores the pairs of c from the embeddings in arena, spreading the
// pairs over s.opts.Threads workers.
func (s *Scorer) match(c *chunk, arena []float32, hidden int, out []PRF) {
	emb := func(k int) Embedding {
		st := c.sents[k]
		n := len(st.ids)
		return Embedding{Dim: hidden, Vecs: arena[st.off*hidden : (st.off+n)*hidden], Weights: st.weights, Real: st.real}
	}
	workers := min(s.opts.Threads, c.hi-c.lo)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m Matcher
			for i := c.lo + w; i < c.hi; i += workers {
				cand := emb(c.cand[i-c.lo])
				var best PRF
				for k, r := range c.refs[i-c.lo] {
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
