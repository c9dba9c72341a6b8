package gguf

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// LlamaConfig sizes a tiny llama-architecture model.
type LlamaConfig struct {
	Embd    int // embedding width (default 16)
	Layers  int // transformer blocks (default 2)
	Heads   int // attention heads (default 2)
	FF      int // feed-forward width (default 32)
	Context int // training context length (default 256)
	Seed    uint64
}

func (c LlamaConfig) withDefaults() LlamaConfig {
	if c.Embd == 0 {
		c.Embd = 16
	}
	if c.Layers == 0 {
		c.Layers = 2
	}
	if c.Heads == 0 {
		c.Heads = 2
	}
	if c.FF == 0 {
		c.FF = 32
	}
	if c.Context == 0 {
		c.Context = 256
	}
	return c
}

// Token types of the llama (SentencePiece) vocabulary.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokByte    = 6
)

// words returns the whole-word pieces of the vocabulary, so that outputs
// contain words as well as single characters.
func words() []string {
	return []string{
		"▁the", "▁a", "▁cat", "▁dog", "▁sat", "▁on", "▁mat", "▁and", "▁is", "▁was",
		"▁red", "▁blue", "▁big", "▁small", "▁house", "▁tree", "▁sun", "▁moon", "▁runs", "▁sees",
		"▁hello", "▁world", "▁good", "▁day", "▁night", "▁water", "▁fire", "▁book", "▁road", "▁city",
	}
}

// vocab returns the tokens, scores and types: <unk>, <s>, </s>, the 256
// byte tokens <0x00>…<0xFF> (SentencePiece byte fallback, so any text can
// be tokenized), then the word pieces.
func vocab() (tokens []string, scores []float32, types []int32) {
	add := func(tok string, score float32, typ int32) {
		tokens = append(tokens, tok)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, tokUnknown)
	add("<s>", 0, tokControl)
	add("</s>", 0, tokControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokByte)
	}
	for i, w := range words() {
		add(w, -float32(i+1), tokNormal)
	}
	return tokens, scores, types
}

// emittable reports whether the model may generate token id: printable
// ASCII bytes and words. Control tokens and other bytes get all-zero output
// rows, so a greedy decode never picks them — in particular never </s>,
// which keeps eval_count equal to num_predict.
func emittable(tokens []string, types []int32, id int) bool {
	switch types[id] {
	case tokNormal:
		return true
	case tokByte:
		var b int
		fmt.Sscanf(tokens[id], "<0x%02X>", &b)
		return b >= 0x20 && b < 0x7f
	}
	return false
}

func randn(r *rand.Rand, n int, scale float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64()) * scale
	}
	return out
}

func ones(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// WriteTinyLlama writes a random llama-architecture GGUF model with a
// SentencePiece ("llama") vocabulary of 289 tokens. The same config writes
// the same bytes.
func WriteTinyLlama(w io.Writer, c LlamaConfig) error {
	c = c.withDefaults()
	if c.Embd%c.Heads != 0 {
		return fmt.Errorf("gguf: embedding width %d is not a multiple of %d heads", c.Embd, c.Heads)
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x6c6c616d61))
	tokens, scores, types := vocab()
	nv, ne := len(tokens), c.Embd
	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.type", "model"},
		{"general.name", "bertbench-tiny-llama"},
		{"general.file_type", uint32(0)},
		{"general.alignment", uint32(alignment)},
		{"llama.vocab_size", uint32(nv)},
		{"llama.context_length", uint32(c.Context)},
		{"llama.embedding_length", uint32(ne)},
		{"llama.block_count", uint32(c.Layers)},
		{"llama.feed_forward_length", uint32(c.FF)},
		{"llama.attention.head_count", uint32(c.Heads)},
		{"llama.attention.head_count_kv", uint32(c.Heads)},
		{"llama.rope.dimension_count", uint32(ne / c.Heads)},
		{"llama.rope.freq_base", float32(10000)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(1)},
		{"tokenizer.ggml.eos_token_id", uint32(2)},
		{"tokenizer.ggml.unknown_token_id", uint32(0)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}
	w0 := float32(1 / math.Sqrt(float64(ne)))
	output := randn(r, ne*nv, 3)
	for id := 0; id < nv; id++ {
		if !emittable(tokens, types, id) {
			clear(output[id*ne : (id+1)*ne])
		}
	}
	ts := []Tensor{
		{"token_embd.weight", []uint64{uint64(ne), uint64(nv)}, randn(r, ne*nv, 1)},
	}
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			Tensor{p + "attn_norm.weight", []uint64{uint64(ne)}, ones(ne)},
			Tensor{p + "attn_q.weight", []uint64{uint64(ne), uint64(ne)}, randn(r, ne*ne, w0)},
			Tensor{p + "attn_k.weight", []uint64{uint64(ne), uint64(ne)}, randn(r, ne*ne, w0)},
			Tensor{p + "attn_v.weight", []uint64{uint64(ne), uint64(ne)}, randn(r, ne*ne, w0)},
			Tensor{p + "attn_output.weight", []uint64{uint64(ne), uint64(ne)}, randn(r, ne*ne, w0)},
			Tensor{p + "ffn_norm.weight", []uint64{uint64(ne)}, ones(ne)},
			Tensor{p + "ffn_gate.weight", []uint64{uint64(ne), uint64(c.FF)}, randn(r, ne*c.FF, w0)},
			Tensor{p + "ffn_up.weight", []uint64{uint64(ne), uint64(c.FF)}, randn(r, ne*c.FF, w0)},
			Tensor{p + "ffn_down.weight", []uint64{uint64(c.FF), uint64(ne)}, randn(r, ne*c.FF, float32(1/math.Sqrt(float64(c.FF))))},
		)
	}
	ts = append(ts,
		Tensor{"output_norm.weight", []uint64{uint64(ne)}, ones(ne)},
		Tensor{"output.weight", []uint64{uint64(ne), uint64(nv)}, output},
	)
	return Write(w, kvs, ts)
}

// LoRAConfig sizes a random LoRA adapter for a model written by
// WriteTinyLlama with the same LlamaConfig.
type LoRAConfig struct {
	Model LlamaConfig
	Rank  int     // default 4
	Alpha float32 // default 2·Rank
	Seed  uint64
}

// WriteTinyLoRA writes a random LoRA adapter (general.type "adapter")
// touching the attention query and value projections and the feed-forward
// up projection of every block, strong enough to change greedy outputs.
func WriteTinyLoRA(w io.Writer, c LoRAConfig) error {
	m := c.Model.withDefaults()
	if c.Rank == 0 {
		c.Rank = 4
	}
	if c.Alpha == 0 {
		c.Alpha = float32(2 * c.Rank)
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x6c6f7261))
	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.type", "adapter"},
		{"general.name", "bertbench-tiny-lora"},
		{"general.alignment", uint32(alignment)},
		{"adapter.type", "lora"},
		{"adapter.lora.alpha", c.Alpha},
	}
	ne, rk := uint64(m.Embd), uint64(c.Rank)
	var ts []Tensor
	for i := 0; i < m.Layers; i++ {
		for _, t := range []struct {
			name    string
			in, out uint64
		}{{"attn_q", ne, ne}, {"attn_v", ne, ne}, {"ffn_up", ne, uint64(m.FF)}} {
			base := fmt.Sprintf("blk.%d.%s.weight", i, t.name)
			// lora_a maps in→rank, lora_b rank→out (GGML dims: row length first).
			ts = append(ts,
				Tensor{base + ".lora_a", []uint64{t.in, rk}, randn(r, int(t.in*rk), 1)},
				Tensor{base + ".lora_b", []uint64{rk, t.out}, randn(r, int(rk*t.out), 1)},
			)
		}
	}
	return Write(w, kvs, ts)
}
