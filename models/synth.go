package models

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
)

// SynthOptions sizes a synthetic random-weight model.
type SynthOptions struct {
	// Arch is "bert" (the only one synthesised: a WordPiece tokenizer is
	// generated to go with it).
	Arch         string
	Hidden       int
	Layers       int
	Heads        int
	Intermediate int
	Vocab        int
	// MaxPositions defaults to 512.
	MaxPositions int
	// Keep is the layer the encoder is cut at.
	Keep int
	Seed uint64
	// Precision is the encoder's (see ImportOptions.Precision).
	Precision modelspec.Precision
	// Producer is recorded in the ONNX file.
	Producer string
}

// Synth writes a Hugging Face checkpoint with random weights of the given
// size (config.json, model.safetensors, and a generated WordPiece
// tokenizer.json whose vocabulary has exactly Vocab entries) into outDir,
// then builds outDir/model.onnx from it with the same builder as Import, so
// other tools can load the very same weights.
func Synth(ctx context.Context, outDir string, o SynthOptions) (*Manifest, error) {
	if o.Arch == "" {
		o.Arch = "bert"
	}
	if o.Arch != "bert" {
		return nil, asInput(fmt.Errorf("synth: --arch %q is not supported (only bert; its WordPiece tokenizer is generated)", o.Arch))
	}
	if o.MaxPositions == 0 {
		o.MaxPositions = 512
	}
	pad := 0
	cfg := onnxgraph.Config{
		ModelType: "bert", HiddenSize: o.Hidden, NumHiddenLayers: o.Layers,
		NumAttentionHeads: o.Heads, IntermediateSize: o.Intermediate, VocabSize: o.Vocab,
		MaxPositionEmbeddings: o.MaxPositions, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PadTokenID: &pad, HiddenAct: "gelu",
	}
	if err := cfg.Validate(); err != nil {
		return nil, asInput(fmt.Errorf("synth: %w", err))
	}
	if o.Keep < 0 || o.Keep > o.Layers {
		return nil, asInput(fmt.Errorf("synth: --keep %d out of range 0..%d", o.Keep, o.Layers))
	}
	if o.Vocab < minSynthVocab {
		return nil, asInput(fmt.Errorf("synth: --vocab %d is too small (at least %d: specials and single characters)", o.Vocab, minSynthVocab))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	full := map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert",
		"hidden_size": o.Hidden, "num_hidden_layers": o.Layers, "num_attention_heads": o.Heads,
		"intermediate_size": o.Intermediate, "vocab_size": o.Vocab,
		"max_position_embeddings": o.MaxPositions, "type_vocab_size": 2,
		"layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_act": "gelu",
		"hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
		"initializer_range": 0.02, "position_embedding_type": "absolute",
		"bertbench_synthetic": map[string]any{"seed": o.Seed},
	}
	if err := writeJSON(filepath.Join(outDir, ConfigFile), full); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(outDir, TokenizerFile), SynthWordPieceTokenizer(o.Vocab)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := safetensors.WriteFile(filepath.Join(outDir, safetensors.SingleFile), synthTensors(&cfg, o.Seed)); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return Import(ctx, outDir, outDir, ImportOptions{
		Layer: o.Keep, Precision: o.Precision, Synthetic: true, Producer: o.Producer,
		Name: fmt.Sprintf("synthetic-bert-h%d-l%d-v%d-seed%d", o.Hidden, o.Layers, o.Vocab, o.Seed),
	})
}

// SynthSize estimates the bytes Synth writes for o: model.safetensors
// (every layer of the checkpoint, float32) and model.onnx (the layers kept,
// float32 or float16). It is what `models synth` announces before writing.
func SynthSize(o SynthOptions) (safetensorsBytes, onnxBytes int64) {
	if o.MaxPositions == 0 {
		o.MaxPositions = 512
	}
	W, I := int64(o.Hidden), int64(o.Intermediate)
	embeddings := (int64(o.Vocab)+int64(o.MaxPositions)+2)*W + 2*W
	layer := 4*(W*W+W) + 2*W + (I*W + I) + (W*I + W) + 2*W
	onnx := 4 * (embeddings + int64(max(o.Keep, 0))*layer)
	switch o.Precision {
	case modelspec.FP16:
		onnx /= 2
	case modelspec.INT8:
		// the layers' weight matrices in one byte a value, the rest float32
		onnx -= 3 * int64(max(o.Keep, 0)) * (4*W*W + 2*I*W)
	}
	return 4 * (embeddings + int64(o.Layers)*layer), onnx
}

// synthTensors draws BertModel weights: normal(0, 0.02) matrices and
// embeddings, small random biases, LayerNorm weight 1 and bias 0 (as
// transformers initialises them).
func synthTensors(cfg *onnxgraph.Config, seed uint64) []safetensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x62657274))
	W, I := int64(cfg.HiddenSize), int64(cfg.IntermediateSize)
	var out []safetensors.Tensor
	add := func(name string, fill func() float32, shape ...int64) {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = fill()
		}
		out = append(out, safetensors.Tensor{Name: name, Shape: shape, Data: data})
	}
	normal := func() float32 { return float32(rng.NormFloat64() * 0.02) }
	one := func() float32 { return 1 }
	zero := func() float32 { return 0 }
	add("embeddings.word_embeddings.weight", normal, int64(cfg.VocabSize), W)
	add("embeddings.position_embeddings.weight", normal, int64(cfg.MaxPositionEmbeddings), W)
	add("embeddings.token_type_embeddings.weight", normal, int64(cfg.TypeVocabSize), W)
	add("embeddings.LayerNorm.weight", one, W)
	add("embeddings.LayerNorm.bias", zero, W)
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, k := range []string{"query", "key", "value"} {
			add(p+"attention.self."+k+".weight", normal, W, W)
			add(p+"attention.self."+k+".bias", normal, W)
		}
		add(p+"attention.output.dense.weight", normal, W, W)
		add(p+"attention.output.dense.bias", normal, W)
		add(p+"attention.output.LayerNorm.weight", one, W)
		add(p+"attention.output.LayerNorm.bias", zero, W)
		add(p+"intermediate.dense.weight", normal, I, W)
		add(p+"intermediate.dense.bias", normal, I)
		add(p+"output.dense.weight", normal, W, I)
		add(p+"output.dense.bias", normal, W)
		add(p+"output.LayerNorm.weight", one, W)
		add(p+"output.LayerNorm.bias", zero, W)
	}
	return out
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return outfile.WriteFile(path, append(data, '\n'), 0o644)
}

// synthSpecials are the special tokens of the generated vocabulary, ids 0..4.
var synthSpecials = [...]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

const minSynthVocab = len(synthSpecials) + 2*95

// SynthWordPieceVocab generates a WordPiece vocabulary of exactly size
// entries: the specials, printable ASCII characters and their "##"
// continuations, then CJK ideographs, Hangul syllables, Latin letter
// pairs and triples (with "##" forms), and four-letter pieces until full.
// Real text tokenizes into plausible pieces, so token counts resemble a
// real multilingual model's.
func SynthWordPieceVocab(size int) []string {
	vocab := make([]string, 0, size)
	seen := map[string]bool{}
	add := func(s string) bool {
		if len(vocab) >= size {
			return false
		}
		if !seen[s] {
			seen[s] = true
			vocab = append(vocab, s)
		}
		return len(vocab) < size
	}
	for _, s := range synthSpecials {
		add(s)
	}
	for c := rune(33); c < 127; c++ {
		add(string(c))
		add("##" + string(c))
	}
	letters := "abcdefghijklmnopqrstuvwxyz"
	for _, a := range letters {
		for _, b := range letters {
			add(string([]rune{a, b}))
			add("##" + string([]rune{a, b}))
		}
	}
	for r := rune(0x4E00); r <= 0x9FFF; r++ {
		if !add(string(r)) {
			return vocab
		}
	}
	for _, a := range letters {
		for _, b := range letters {
			for _, c := range letters {
				add(string([]rune{a, b, c}))
				if !add("##" + string([]rune{a, b, c})) {
					return vocab
				}
			}
		}
	}
	for r := rune(0xAC00); r <= 0xD7A3; r++ {
		if !add(string(r)) {
			return vocab
		}
	}
	for _, a := range letters {
		for _, b := range letters {
			for _, c := range letters {
				for _, d := range letters {
					if !add("##" + string([]rune{a, b, c, d})) {
						return vocab
					}
				}
			}
		}
	}
	for i := 0; len(vocab) < size; i++ {
		add(fmt.Sprintf("[unused%d]", i))
	}
	return vocab
}

// SynthWordPieceTokenizer returns a tokenizer.json (Hugging Face tokenizers
// format) for SynthWordPieceVocab(size), with the settings of
// bert-base-multilingual-cased: BertNormalizer (clean text, split CJK, no
// lowercasing or accent stripping), BertPreTokenizer, [CLS] ... [SEP].
func SynthWordPieceTokenizer(size int) map[string]any {
	vocab := SynthWordPieceVocab(size)
	ids := make(map[string]int, len(vocab))
	for i, t := range vocab {
		ids[t] = i
	}
	var added []map[string]any
	for i, s := range synthSpecials {
		added = append(added, map[string]any{
			"id": i, "content": s, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true,
		})
	}
	special := func(tok string) map[string]any {
		return map[string]any{"id": tok, "ids": []int{ids[tok]}, "tokens": []string{tok}}
	}
	return map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": nil, "lowercase": false,
		},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"pair": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 1}},
			},
			"special_tokens": map[string]any{"[CLS]": special("[CLS]"), "[SEP]": special("[SEP]")},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{
			"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids,
		},
	}
}
