package scorer

import (
	"context"
	"fmt"
	"time"

	"github.com/bertbench/bertbench/scorer/tokenize"
)

// Batch is one encoder run's input: a few sentences' token ids.
type Batch struct {
	// IDs holds each sentence's token ids, special tokens included; the
	// sentences may differ in length (the encoder pads them).
	IDs [][]int32
	// Pad is the id the encoder pads the shorter sentences with.
	Pad int32
}

// Hidden is an encoder's output for a Batch: one vector per token.
type Hidden struct {
	// Data holds the hidden states [len(IDs), Seq, Dim] flattened: token t
	// of sentence r starts at (r*Seq+t)*Dim. Positions past a sentence's
	// length are padding and are never read.
	Data []float32
	// Seq is the padded length (the longest sentence's), Dim the hidden
	// size.
	Seq, Dim int
}

// EncoderInfo says what an encoder is: which runtime on which device at
// which precision computed the hidden states, and from which weights. It
// is reported by the encoder itself, never taken from what a caller
// asked for, so a Config names what really ran.
type EncoderInfo struct {
	// Runtime names the inference runtime ("onnxruntime"), RuntimeVersion
	// its version ("1.30.0").
	Runtime, RuntimeVersion string
	// Device is where the encoder runs: "cpu", or "cuda:N" for the N-th
	// CUDA device.
	Device string
	// Precision is the arithmetic: the type most weights are stored in
	// ("fp32", "fp16", ...), with "+tf32" when float32 matrix products
	// run in TF32 on the GPU (not exact: see Config.SameScores).
	Precision string
	// WeightsDigest is the hex sha256 of the model file, "" when not
	// known.
	WeightsDigest string
	// LoadTime is how long loading the model took (reading and checking
	// the file, building the session).
	LoadTime time.Duration
}

// Encoder turns token ids into hidden states. Implementations must be safe
// for concurrent use: several scorers may share one encoder (package
// onnxrt's Encoder is one, on ONNX Runtime).
type Encoder interface {
	// Encode runs one batch. Cancelling ctx should stop a run in progress.
	Encode(ctx context.Context, b Batch) (Hidden, error)
	// Info says what the encoder is.
	Info() EncoderInfo
}

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
	// Kind names the tokenizer's semantics ("wordpiece-cased", ...): how
	// text is cut.
	Kind() string
	// Fingerprint identifies the tokenizer's vocabulary and settings (a
	// hex digest): two tokenizers with one fingerprint give the same ids.
	Fingerprint() string
	// VocabSize is the number of ids.
	VocabSize() int
}

// LoadTokenizer loads a Hugging Face tokenizer.json (see package
// scorer/tokenize); its errors are input errors.
func LoadTokenizer(path string) (Tokenizer, error) {
	t, err := tokenize.Load(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("tokenizer %s: %w", path, err))
	}
	return t, nil
}

// safeEncodeHidden runs the encoder, turning a panic into an error and
// checking the output's shape.
func safeEncodeHidden(ctx context.Context, enc Encoder, b Batch) (h Hidden, err error) {
	defer recoverAs(&err, "encoder")
	h, err = enc.Encode(ctx, b)
	if err != nil {
		return Hidden{}, err
	}
	seq := 0
	for _, s := range b.IDs {
		seq = max(seq, len(s))
	}
	if h.Seq < seq || h.Dim <= 0 || len(h.Data) < len(b.IDs)*h.Seq*h.Dim {
		return Hidden{}, fmt.Errorf("encoder returned %d values as [%d sentences, %d tokens, %d dims] for a batch of %d sentences of up to %d tokens",
			len(h.Data), len(b.IDs), h.Seq, h.Dim, len(b.IDs), seq)
	}
	return h, nil
}

// recoverAs turns a panic in third-party code into an error.
func recoverAs(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal failure: %v", what, r)
	}
}
