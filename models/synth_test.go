package models_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/modelspec"
)

// TestSynthSmall builds a small synthetic model, checks the checkpoint it
// wrote round-trips through Import to the same encoder, and scores with it.
func TestSynthSmall(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	opts := models.SynthOptions{Arch: "bert", Hidden: 32, Layers: 3, Heads: 4, Intermediate: 64, Vocab: 3000, Keep: 2, Seed: 7}
	m, err := models.Synth(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Synthetic || m.Layer != 2 || m.TotalLayers != 3 || m.Tokenizer != "wordpiece" {
		t.Errorf("manifest %+v", m)
	}
	// The tokenizer's vocabulary has exactly --vocab entries.
	var tok struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &tok); err != nil {
		t.Fatal(err)
	}
	if len(tok.Model.Vocab) != 3000 {
		t.Errorf("vocab has %d entries, want 3000", len(tok.Model.Vocab))
	}
	cfg, err := onnxgraph.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil || cfg.VocabSize != 3000 || cfg.NumHiddenLayers != 3 {
		t.Fatalf("config %+v %v", cfg, err)
	}
	// SynthSize, announced before writing, is within 5% of what was written
	// (headers and the graph's structure make the difference).
	stSize, onnxSize := models.SynthSize(opts)
	for _, f := range []struct {
		name string
		want int64
	}{{"model.safetensors", stSize}, {"model.onnx", onnxSize}} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if d := float64(st.Size()-f.want) / float64(st.Size()); d < -0.05 || d > 0.05 {
			t.Errorf("%s: %d bytes, SynthSize said %d", f.name, st.Size(), f.want)
		}
	}
	// Same seed, same weights: a second synth writes identical files.
	dir2 := t.TempDir()
	if _, err := models.Synth(context.Background(), dir2, opts); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "model.onnx", "tokenizer.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(dir2, f))
		if string(a) != string(b) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
	res, err := models.ResolveDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := bertscore.OpenResolved(context.Background(), res, bertscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bm.Close()
	s, err := bm.Scorer(bertscore.ScorerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Score(context.Background(), []string{"the cat sat on the mat", "今天天气很好"}, [][]string{{"a cat sat on a mat"}, {"今天天气不错"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range out.Pairs {
		if !(p.F > 0 && p.F <= 1) {
			t.Errorf("pair %d: F = %v", i, p.F)
		}
	}
}

func TestSynthErrors(t *testing.T) {
	tests := []struct {
		name string
		o    models.SynthOptions
	}{
		{"arch", models.SynthOptions{Arch: "gpt2", Hidden: 8, Layers: 1, Heads: 1, Intermediate: 8, Vocab: 500}},
		{"heads", models.SynthOptions{Hidden: 10, Layers: 1, Heads: 3, Intermediate: 8, Vocab: 500}},
		{"keep", models.SynthOptions{Hidden: 8, Layers: 1, Heads: 1, Intermediate: 8, Vocab: 500, Keep: 2}},
		{"vocab", models.SynthOptions{Hidden: 8, Layers: 1, Heads: 1, Intermediate: 8, Vocab: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := models.Synth(context.Background(), t.TempDir(), tc.o); err == nil {
				t.Error("no error")
			}
		})
	}
}

// BenchmarkSynthMBERTSize builds the mBERT-size synthetic model (about 700
// MB on disk; run with -bench SynthMBERT, it is not part of `make test`).
func BenchmarkSynthMBERTSize(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		_, err := models.Synth(context.Background(), dir, models.SynthOptions{Arch: "bert", Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 119547, Keep: 9, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(filepath.Join(dir, "model.onnx"))
		ck, _ := os.Stat(filepath.Join(dir, "model.safetensors"))
		b.ReportMetric(float64(st.Size())/1e6, "onnx-MB")
		b.ReportMetric(float64(ck.Size())/1e6, "safetensors-MB")
	}
}

// BenchmarkImportMBERTSize builds model.onnx from the mBERT-size synthetic
// checkpoint (made once, outside the timer), cut at layer 9.
func BenchmarkImportMBERTSize(b *testing.B) {
	src := b.TempDir()
	if _, err := models.Synth(context.Background(), src, models.SynthOptions{Arch: "bert", Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 119547, Keep: 0, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := b.TempDir()
		if _, err := models.Import(context.Background(), src, out, models.ImportOptions{Layer: 9}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSynthSizeByPrecision: SynthSize's model.onnx estimate holds (within
// 5%) in every build precision, on a model whose layers outweigh its
// vocabulary, so the int8 and fp16 savings show.
func TestSynthSizeByPrecision(t *testing.T) {
	for _, p := range modelspec.Precisions {
		t.Run(string(p), func(t *testing.T) {
			dir := t.TempDir()
			opts := models.SynthOptions{Arch: "bert", Hidden: 256, Layers: 2, Heads: 4, Intermediate: 1024, Vocab: 500, Keep: 2, Seed: 7, Precision: p}
			m, err := models.Synth(context.Background(), dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Precision != string(p) {
				t.Errorf("manifest precision %q", m.Precision)
			}
			_, want := models.SynthSize(opts)
			st, err := os.Stat(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if d := float64(st.Size()-want) / float64(st.Size()); d < -0.05 || d > 0.05 {
				t.Errorf("model.onnx: %d bytes, SynthSize said %d", st.Size(), want)
			}
		})
	}
}
