package onnxgraph_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// BenchmarkEncoderLayer times one batch (8 sentences x 128 tokens) through
// a BERT-base-width encoder (hidden 768, 12 heads, 3 layers, random
// weights) with ONNX Runtime's optimizations off and on, in every build
// precision, on the CPU: what the fused graph buys, per 3 layers.
func BenchmarkEncoderLayer(b *testing.B) {
	orttest.Require(b)
	for _, p := range modelspec.Precisions {
		dir := b.TempDir()
		if _, err := models.Synth(context.Background(), dir, models.SynthOptions{Hidden: 768, Layers: 3, Heads: 12, Intermediate: 3072, Vocab: 2000, Keep: 3, Seed: 1, Precision: p}); err != nil {
			b.Fatal(err)
		}
		for _, optimized := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/optimized=%v", p, optimized), func(b *testing.B) {
				benchEncode(b, filepath.Join(dir, "model.onnx"), optimized, 8, 128)
			})
		}
	}
}

// benchEncode times one batch of batch × seq tokens through an onnxrt
// encoder on the CPU.
func benchEncode(b *testing.B, path string, optimized bool, batch, seq int) {
	e := orttest.Encoder(b, path, onnxrt.EncoderOptions{DisableOptimizations: !optimized})
	in := scorer.Batch{IDs: make([][]int32, batch)}
	for r := range in.IDs {
		in.IDs[r] = make([]int32, seq)
		for i := range in.IDs[r] {
			in.IDs[r][i] = int32(5 + (r*seq+i)%1900)
		}
	}
	n := batch * seq
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Encode(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
