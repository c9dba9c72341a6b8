package tokenize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unicode/utf8"
)

// DefaultMaxLen is the number of ids, special tokens included, that Encode
// keeps: the 512 positions of BERT-style encoders.
const DefaultMaxLen = 512

// Tokenizer turns text into token ids. It is safe for concurrent use.
type Tokenizer struct {
	path        string
	fingerprint string
	model       segmentEncoder
	added       *addedTokens
	prefix      []int32 // ids the post-processor puts before the text
	suffix      []int32 // ids the post-processor puts after the text
	special     map[int32]bool
	padID       int32
	vocabSize   int
	maxLen      int
	scratch     *sync.Pool // of *scratch
}

// segmentEncoder tokenizes a span of text that holds no added tokens.
type segmentEncoder interface {
	// encode appends the ids of seg to out. It may stop early, after the
	// first word that brings len(out) to limit or more: ids before that
	// point do not depend on the rest of seg. atStart is whether seg
	// begins the text.
	encode(sc *scratch, seg string, out []int32, limit int, atStart bool) []int32
	kind() string
}

// scratch holds buffers reused across calls.
type scratch struct {
	buf, nfd, word []byte
	syms           []int32
	lattice        []latticeNode
	links          []bpeSymbol
	queue          []bpeMerge
}

// Load reads a Hugging Face tokenizer.json. Errors name the file and the
// part of it that is wrong or unsupported.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenize: read tokenizer: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", path, err)
	}
	t.path = path
	return t, nil
}

// Parse builds a Tokenizer from the contents of a tokenizer.json; name is
// used in error messages.
func Parse(name string, data []byte) (*Tokenizer, error) {
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %s: %w", name, err)
	}
	t.path = name
	return t, nil
}

func parse(data []byte) (t *Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("internal error while loading: %v", r)
		}
	}()
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", describeJSONError(data, err))
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("not a tokenizer.json: unexpected data after the JSON object at byte %d", dec.InputOffset())
	}
	modelType, err := componentType(f.Model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	normType, err := componentType(f.Normalizer)
	if err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	preType, err := componentType(f.PreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}

	t = &Tokenizer{maxLen: DefaultMaxLen, special: map[int32]bool{}, scratch: &sync.Pool{}}
	sum := sha256.Sum256(data)
	t.fingerprint = hex.EncodeToString(sum[:])
	var vocab map[string]int32
	switch modelType {
	case "WordPiece":
		var m wordPieceJSON
		if err := json.Unmarshal(f.Model, &m); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if normType != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer %s is not supported with WordPiece (supported: BertNormalizer)", quoteType(normType))
		}
		if preType != "BertPreTokenizer" {
			return nil, fmt.Errorf("pre_tokenizer %s is not supported with WordPiece (supported: BertPreTokenizer)", quoteType(preType))
		}
		var n bertNormalizerJSON
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
		lower := boolOr(n.Lowercase, true)
		opt := bertOptions{
			cleanText:    boolOr(n.CleanText, true),
			chineseChars: boolOr(n.HandleChineseChars, true),
			// strip_accents null means "strip when lowercasing".
			stripAccents:  boolOr(n.StripAccents, lower),
			lowercase:     lower,
			maxWordChars:  100,
			subwordPrefix: "##",
		}
		if m.MaxInputCharsPerWord != nil {
			opt.maxWordChars = *m.MaxInputCharsPerWord
		}
		if m.ContinuingSubwordPrefix != nil {
			opt.subwordPrefix = *m.ContinuingSubwordPrefix
		}
		if m.UnkToken == "" {
			m.UnkToken = "[UNK]"
		}
		if len(m.Vocab) == 0 {
			return nil, errors.New("model.vocab is empty")
		}
		wp, err := newWordPiece(opt, m.Vocab, m.UnkToken)
		if err != nil {
			return nil, err
		}
		t.model, vocab = wp, m.Vocab
	case "BPE":
		var m bpeJSON
		if err := json.Unmarshal(f.Model, &m); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if normType != "" {
			return nil, fmt.Errorf("normalizer %s is not supported with BPE (supported: none)", quoteType(normType))
		}
		if preType != "ByteLevel" {
			return nil, fmt.Errorf("pre_tokenizer %s is not supported with BPE (supported: ByteLevel)", quoteType(preType))
		}
		switch {
		case m.Dropout != nil && *m.Dropout != 0:
			return nil, errors.New("model.dropout is set: BPE dropout is random and not supported")
		case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "",
			m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
			return nil, errors.New("model: continuing_subword_prefix / end_of_word_suffix are not supported with byte-level BPE")
		case m.ByteFallback, m.IgnoreMerges:
			return nil, errors.New("model: byte_fallback / ignore_merges are not supported")
		case len(m.Vocab) == 0:
			return nil, errors.New("model.vocab is empty")
		}
		var bl byteLevelJSON
		if err := json.Unmarshal(f.PreTokenizer, &bl); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
		merges, err := parseMerges(m.Merges)
		if err != nil {
			return nil, err
		}
		bpe, err := newByteLevelBPE(boolOr(bl.AddPrefixSpace, true), boolOr(bl.UseRegex, true), m.Vocab, merges)
		if err != nil {
			return nil, err
		}
		t.model, vocab = bpe, m.Vocab
	case "Unigram":
		u, err := parseUnigram(f, normType, preType)
		if err != nil {
			return nil, err
		}
		t.model, vocab = u, u.pieces
	case "":
		return nil, errors.New("no model: the \"model\" field is missing or null")
	default:
		return nil, fmt.Errorf("model type %q is not supported (supported: WordPiece, BPE, Unigram)", modelType)
	}

	for _, id := range vocab {
		t.vocabSize = max(t.vocabSize, int(id)+1)
	}
	var added []addedToken
	for i, a := range f.AddedTokens {
		if a.SingleWord {
			return nil, fmt.Errorf("added_tokens[%d] %q: single_word is not supported", i, a.Content)
		}
		if a.Normalized && normType != "" {
			return nil, fmt.Errorf("added_tokens[%d] %q: normalized added tokens are not supported with a normalizer", i, a.Content)
		}
		if a.ID < 0 {
			return nil, fmt.Errorf("added_tokens[%d] %q: negative id %d", i, a.Content, a.ID)
		}
		if !utf8.ValidString(a.Content) {
			return nil, fmt.Errorf("added_tokens[%d]: content is not valid UTF-8", i)
		}
		added = append(added, addedToken{content: a.Content, id: a.ID, lstrip: a.LStrip, rstrip: a.RStrip})
		t.vocabSize = max(t.vocabSize, int(a.ID)+1)
	}
	t.added = newAddedTokens(added)

	if err := t.setPostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	for _, id := range append(append([]int32(nil), t.prefix...), t.suffix...) {
		if int(id) >= t.vocabSize || id < 0 {
			return nil, fmt.Errorf("post_processor: special token id %d is outside the vocabulary (size %d)", id, t.vocabSize)
		}
		t.special[id] = true
	}
	if len(t.prefix)+len(t.suffix) >= t.maxLen {
		return nil, fmt.Errorf("post_processor adds %d special tokens, no room left in %d", len(t.prefix)+len(t.suffix), t.maxLen)
	}
	t.padID = findPadID(f, vocab)
	return t, nil
}

// setPostProcessor reads the special tokens added around a single sequence.
func (t *Tokenizer) setPostProcessor(raw json.RawMessage) error {
	typ, err := componentType(raw)
	if err != nil {
		return fmt.Errorf("post_processor: %w", err)
	}
	switch typ {
	case "":
		return nil
	case "TemplateProcessing":
		t.prefix, t.suffix, err = parseTemplate(raw)
		return err
	case "RobertaProcessing", "BertProcessing":
		var p robertaJSON
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		cls, err := parseTokenIDPair("cls", p.Cls)
		if err != nil {
			return err
		}
		sep, err := parseTokenIDPair("sep", p.Sep)
		if err != nil {
			return err
		}
		t.prefix, t.suffix = []int32{cls}, []int32{sep}
		return nil
	default:
		return fmt.Errorf("post_processor type %q is not supported (supported: TemplateProcessing, RobertaProcessing, BertProcessing)", typ)
	}
}

// findPadID returns padding.pad_id when set, else the id of the first of
// the usual pad token names that exists, else 0.
func findPadID(f fileJSON, vocab map[string]int32) int32 {
	if f.Padding != nil && f.Padding.PadID != nil {
		return *f.Padding.PadID
	}
	for _, name := range []string{"[PAD]", "<pad>"} {
		for _, a := range f.AddedTokens {
			if a.Content == name {
				return a.ID
			}
		}
		if id, ok := vocab[name]; ok {
			return id
		}
	}
	return 0
}

// quoteType formats a component type for an error message.
func quoteType(typ string) string {
	if typ == "" {
		return "null"
	}
	return fmt.Sprintf("%q", typ)
}

// describeJSONError adds the line and column to a JSON syntax error.
func describeJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := 1, 1
		// Offset counts the bytes read, the offending one included.
		for _, c := range data[:max(0, min(int(se.Offset)-1, len(data)))] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return fmt.Errorf("line %d, column %d: %w", line, col, err)
	}
	return err
}

// Encode returns the ids of text the way the BERTScore reference computes
// them: text stripped of surrounding whitespace (Python str.strip), encoded
// with the special tokens and truncated to MaxLen ids, keeping the first
// MaxLen−(number of specials) content ids. Each byte of text that is not
// valid UTF-8 is read as U+FFFD. The error is non-nil only for an internal
// failure (a bug), never for any input text.
func (t *Tokenizer) Encode(text string) (ids []int32, err error) {
	sc, _ := t.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer t.scratch.Put(sc)
	ids, _, err = t.encode(sc, text)
	return ids, err
}

// encode encodes text and reports whether it was truncated: whether its
// full encoding has more than t.maxLen ids.
func (t *Tokenizer) encode(sc *scratch, text string) (ids []int32, truncated bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ids, truncated, err = nil, false, fmt.Errorf("tokenize: %s: internal error encoding %q: %v", t.path, truncateForError(text), r)
		}
	}()
	if !utf8.ValidString(text) {
		text = replaceInvalidUTF8(text)
	}
	text = pyStrip(text)
	keep := t.maxLen - len(t.prefix) - len(t.suffix)
	out := make([]int32, 0, min(keep, len(text)/3+8)+len(t.prefix)+len(t.suffix)+1)
	out = append(out, t.prefix...)
	keep += len(t.prefix)
	// Encoding goes on to one id past what is kept: the ids before the cut
	// are the same (see segmentEncoder), and an id past it says the text
	// was truncated.
	limit := keep + 1
	pos, prevEnd := 0, 0
	for pos < len(text) && len(out) < limit {
		start, end, id, ok := t.added.find(text, pos, prevEnd)
		if !ok {
			start, end = len(text), len(text)
		}
		if start > pos {
			out = t.model.encode(sc, text[pos:start], out, limit, pos == 0)
		}
		if ok && len(out) < limit {
			out = append(out, id)
		}
		pos, prevEnd = end, end
	}
	if len(out) > keep {
		out, truncated = out[:keep], true
	}
	return append(out, t.suffix...), truncated, nil
}

// Batch is what EncodeBatch returns.
type Batch struct {
	// IDs holds one id slice per text, in order.
	IDs [][]int32
	// Truncated lists, in increasing order, the indices of the texts whose
	// full encoding has more than MaxLen ids: they were cut to their first
	// MaxLen−len(suffix) ids, then the suffix, as Hugging Face's
	// truncation does.
	Truncated []int
}

// batchChunk is how many consecutive texts an EncodeBatch worker takes at
// a time.
const batchChunk = 64

// batchWorkers is the number of goroutines EncodeBatch uses for n texts
// with at most max of them (max <= 0: GOMAXPROCS).
func batchWorkers(n, max int) int {
	if max <= 0 {
		max = runtime.GOMAXPROCS(0)
	}
	return min(max, (n+batchChunk-1)/batchChunk)
}

// EncodeBatch encodes texts in parallel, on at most workers goroutines
// (workers <= 0 means GOMAXPROCS), and reports which were truncated.
func (t *Tokenizer) EncodeBatch(texts []string, workers int) (Batch, error) {
	out := make([][]int32, len(texts))
	truncated := make([]bool, len(texts))
	workers = batchWorkers(len(texts), workers)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		firstI = len(texts)
	)
	encodeRange := func(sc *scratch, lo, hi int) {
		for i := lo; i < hi; i++ {
			ids, cut, err := t.encode(sc, texts[i])
			if err != nil {
				mu.Lock()
				if i < firstI {
					first, firstI = err, i
				}
				mu.Unlock()
				return
			}
			out[i], truncated[i] = ids, cut
		}
	}
	if workers <= 1 {
		encodeRange(&scratch{}, 0, len(texts))
	} else {
		next := make(chan int, (len(texts)+batchChunk-1)/batchChunk)
		for i := 0; i < len(texts); i += batchChunk {
			next <- i
		}
		close(next)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := &scratch{}
				for lo := range next {
					encodeRange(sc, lo, min(lo+batchChunk, len(texts)))
				}
			}()
		}
		wg.Wait()
	}
	if first != nil {
		return Batch{}, fmt.Errorf("text %d: %w", firstI, first)
	}
	b := Batch{IDs: out}
	for i, cut := range truncated {
		if cut {
			b.Truncated = append(b.Truncated, i)
		}
	}
	return b, nil
}

// IsSpecial reports whether id is one of the special tokens the
// post-processor adds around every text ([CLS]/[SEP], <s>/</s>), which
// BERTScore weighs 0. Added tokens written in the text itself, such as
// [MASK], are not special in this sense.
func (t *Tokenizer) IsSpecial(id int32) bool { return t.special[id] }

// SpecialIDs returns the ids added before and after every text.
func (t *Tokenizer) SpecialIDs() (prefix, suffix []int32) {
	return append([]int32(nil), t.prefix...), append([]int32(nil), t.suffix...)
}

// PadID is the id of the padding token: padding.pad_id of the file, else
// the id of [PAD] or <pad>, else 0.
func (t *Tokenizer) PadID() int32 { return t.padID }

// MaxLen is the most ids Encode returns, special tokens included.
func (t *Tokenizer) MaxLen() int { return t.maxLen }

// Kind is a short, stable description of the tokenization algorithm and
// its options, such as "wordpiece-cased", "wordpiece-uncased-strip",
// "bpe-bytelevel" or "unigram-metaspace". Two files with the same Kind can
// still have different vocabularies; see Fingerprint.
func (t *Tokenizer) Kind() string { return t.model.kind() }

// Fingerprint is the hex SHA-256 of the tokenizer.json bytes.
func (t *Tokenizer) Fingerprint() string { return t.fingerprint }

// VocabSize is one more than the largest id the tokenizer can produce
// (model vocabulary and added tokens).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Path is the file the tokenizer was loaded from (or the name given to
// Parse).
func (t *Tokenizer) Path() string { return t.path }

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string {
	for len(s) > 0 {
		r, size := decodeRune(s, 0)
		if !isPySpace(r) {
			break
		}
		s = s[size:]
	}
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isPySpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

// replaceInvalidUTF8 replaces each byte of s that is not part of a valid
// UTF-8 sequence with U+FFFD, as ranging over a Go string decodes it.
func replaceInvalidUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
