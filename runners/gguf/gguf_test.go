package gguf_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ollama/ollama/fs/ggml"

	"github.com/bertbench/bertbench/runners/gguf"
)

// decode reads a file back with Ollama's own GGUF parser, the one its
// create call uses.
func decode(t *testing.T, b []byte) *ggml.GGML {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatalf("ollama cannot decode the file: %v", err)
	}
	return g
}

func TestTinyLlamaDecodes(t *testing.T) {
	var buf bytes.Buffer
	if err := gguf.WriteTinyLlama(&buf, gguf.LlamaConfig{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n < 20<<10 || n > 100<<10 {
		t.Errorf("model is %d bytes, want a few tens of KB", n)
	}
	g := decode(t, buf.Bytes())
	kv := g.KV()
	if kv.Architecture() != "llama" || kv.Kind() != "model" {
		t.Errorf("architecture %q kind %q", kv.Architecture(), kv.Kind())
	}
	if got := len(kv.Strings("tokenizer.ggml.tokens")); got != 289 {
		t.Errorf("%d tokens, want 289", got)
	}
	if kv.Uint("embedding_length") != 16 || kv.Uint("block_count") != 2 || kv.ContextLength() != 256 {
		t.Errorf("hyperparameters: embd %d blocks %d ctx %d", kv.Uint("embedding_length"), kv.Uint("block_count"), kv.ContextLength())
	}
	if got := len(g.Tensors().Items()); got != 3+2*9 {
		t.Errorf("%d tensors, want %d", got, 3+2*9)
	}
	var again bytes.Buffer
	gguf.WriteTinyLlama(&again, gguf.LlamaConfig{Seed: 1})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("same config wrote different bytes")
	}
}

func TestTinyLoRADecodes(t *testing.T) {
	var buf bytes.Buffer
	if err := gguf.WriteTinyLoRA(&buf, gguf.LoRAConfig{Seed: 2}); err != nil {
		t.Fatal(err)
	}
	g := decode(t, buf.Bytes())
	if g.KV().Kind() != "adapter" || g.KV()["adapter.type"] != "lora" {
		t.Errorf("kind %q adapter.type %q", g.KV().Kind(), g.KV()["adapter.type"])
	}
	if got := len(g.Tensors().Items()); got != 2*3*2 {
		t.Errorf("%d tensors, want 12", got)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	var buf bytes.Buffer
	if err := gguf.Write(&buf, nil, []gguf.Tensor{{Name: "x", Dims: []uint64{2, 2}, Data: []float32{1}}}); err == nil {
		t.Error("dims/data mismatch accepted")
	}
	if err := gguf.Write(&buf, []gguf.KV{{Key: "k", Value: 1.5}}, nil); err == nil {
		t.Error("float64 metadata accepted")
	}
	if err := gguf.WriteTinyLlama(&buf, gguf.LlamaConfig{Embd: 10, Heads: 3}); err == nil {
		t.Error("embedding width not divisible by heads accepted")
	}
}
