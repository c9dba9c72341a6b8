package onnxgraph_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/onnxgraph"
)

// BenchmarkEncoderLayer times one batch (8 sentences x 128 tokens) through
// a BERT-base-width encoder (hidden 768, 12 heads, 3 layers, random
// weights) with ONNX Runtime's optimizations off and on, in float32 and
// float16, on the CPU: what the fused graph buys, per 3 layers.
func BenchmarkEncoderLayer(b *testing.B) {
	testkit.RequireORT(b)
	for _, fp16 := range []bool{false, true} {
		dir := b.TempDir()
		if _, err := models.Synth(context.Background(), dir, models.SynthOptions{Hidden: 768, Layers: 3, Heads: 12, Intermediate: 3072, Vocab: 2000, Keep: 3, Seed: 1, FP16: fp16}); err != nil {
			b.Fatal(err)
		}
		for _, level := range []ort.GraphOptimizationLevel{ort.GraphOptimizationLevelDisableAll, ort.GraphOptimizationLevelEnableAll} {
			b.Run(fmt.Sprintf("fp16=%v/opt=%d", fp16, level), func(b *testing.B) {
				benchEncode(b, filepath.Join(dir, "model.onnx"), level, 8, 128)
			})
		}
	}
}

func benchEncode(b *testing.B, path string, level ort.GraphOptimizationLevel, batch, seq int) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetGraphOptimizationLevel(level); err != nil {
		b.Fatal(err)
	}
	names := []string{onnxgraph.InputIDs, onnxgraph.AttentionMask, onnxgraph.TokenTypeIDs}
	sess, err := ort.NewDynamicAdvancedSession(path, names, []string{onnxgraph.LastHiddenState}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Destroy()
	n := batch * seq
	ids, mask, types := make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range ids {
		ids[i] = int64(5 + i%1900)
		mask[i] = 1
	}
	var inputs []ort.Value
	for _, d := range [][]int64{ids, mask, types} {
		t, err := ort.NewTensor(ort.NewShape(int64(batch), int64(seq)), d)
		if err != nil {
			b.Fatal(err)
		}
		defer t.Destroy()
		inputs = append(inputs, t)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := []ort.Value{nil}
		if err := sess.Run(inputs, out); err != nil {
			b.Fatal(err)
		}
		out[0].Destroy()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
