package onnxgraph_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/modelspec"
)

// TestORTFusesBuiltEncoder asks ONNX Runtime to write its optimized graph of
// the built encoder and checks that the fused transformer ops appear: one
// Attention per layer, LayerNorm fused (SkipLayerNormalization after each
// residual), and GELU fused with its bias.
func TestORTFusesBuiltEncoder(t *testing.T) {
	rt := orttest.Require(t)
	tests := []struct {
		fixture string
		layer   int
	}{
		{"tiny-mbert", 3},
		{"tiny-roberta", 3},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := t.TempDir()
			path, _ := buildFixture(t, tc.fixture, onnxgraph.Options{Layer: tc.layer}, dir)
			before := readCounts(t, path)
			optimized := filepath.Join(dir, "optimized.onnx")
			if err := rt.WriteOptimized(path, optimized); err != nil {
				t.Fatal(err)
			}
			after := readCounts(t, optimized)
			t.Logf("before: %s", formatCounts(before))
			t.Logf("after:  %s", formatCounts(after))
			wantAtLeast := map[string]int{
				"com.microsoft.Attention":              tc.layer,
				"com.microsoft.SkipLayerNormalization": 2 * tc.layer,
				"com.microsoft.BiasGelu":               tc.layer,
			}
			for op, n := range wantAtLeast {
				if after[op] < n {
					t.Errorf("optimized graph has %d %s, want %d", after[op], op, n)
				}
			}
			for _, op := range []string{"Softmax", "Erf", "ReduceMean", "Pow"} {
				if after[op] != 0 {
					t.Errorf("optimized graph still has %d %s nodes (not fused)", after[op], op)
				}
			}
		})
	}
}

// TestORTRunsInt8EncoderOnIntegerKernels checks that the int8 encoder's
// weight products really run on ONNX Runtime's integer kernels: the graph
// as built has six MatMulInteger a layer (query, key, value, attention
// output, both feed-forward layers) and only the two attention-score
// MatMuls in float; after ONNX Runtime's optimisation every MatMulInteger
// is fused into DynamicQuantizeMatMul or MatMulIntegerToFloat (the
// query/key/value three share one DynamicQuantizeLinear), LayerNorm and
// GELU are still fused, and no float MatMul takes a weight.
func TestORTRunsInt8EncoderOnIntegerKernels(t *testing.T) {
	rt := orttest.Require(t)
	for _, fixture := range []string{"tiny-mbert", "tiny-roberta"} {
		t.Run(fixture, func(t *testing.T) {
			const layers = 3
			dir := t.TempDir()
			path, _ := buildFixture(t, fixture, onnxgraph.Options{Layer: layers, Precision: modelspec.INT8}, dir)
			before := readCounts(t, path)
			optimized := filepath.Join(dir, "optimized.onnx")
			if err := rt.WriteOptimized(path, optimized); err != nil {
				t.Fatal(err)
			}
			after := readCounts(t, optimized)
			t.Logf("before: %s", formatCounts(before))
			t.Logf("after:  %s", formatCounts(after))
			if before["MatMulInteger"] != 6*layers || before["MatMul"] != 2*layers {
				t.Errorf("built graph has %d MatMulInteger and %d MatMul, want %d and %d", before["MatMulInteger"], before["MatMul"], 6*layers, 2*layers)
			}
			integer := after["com.microsoft.DynamicQuantizeMatMul"] + after["com.microsoft.MatMulIntegerToFloat"]
			if integer != 6*layers || after["MatMulInteger"] != 0 {
				t.Errorf("optimized graph has %d fused integer products and %d MatMulInteger, want %d and 0", integer, after["MatMulInteger"], 6*layers)
			}
			if n := after["MatMul"] + after["com.microsoft.FusedMatMul"]; n != 2*layers {
				t.Errorf("optimized graph has %d float products, want the %d attention-score ones", n, 2*layers)
			}
			for op, n := range map[string]int{"com.microsoft.SkipLayerNormalization": 2 * layers, "com.microsoft.Gelu": layers} {
				if after[op] < n {
					t.Errorf("optimized graph has %d %s, want %d", after[op], op, n)
				}
			}
		})
	}
}

func readCounts(t testing.TB, path string) map[string]int {
	t.Helper()
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m.Graph.OpCounts()
}

func formatCounts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", strings.TrimPrefix(k, "com.microsoft."), c[k]))
	}
	return strings.Join(parts, " ")
}
