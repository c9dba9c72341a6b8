package onnxgraph_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/onnxpb"
)

// TestORTFusesBuiltEncoder asks ONNX Runtime to write its optimized graph of
// the built encoder and checks that the fused transformer ops appear: one
// Attention per layer, LayerNorm fused (SkipLayerNormalization after each
// residual), and GELU fused with its bias.
func TestORTFusesBuiltEncoder(t *testing.T) {
	testkit.RequireORT(t)
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
			after := optimizeWith(t, path, optimized, ort.GraphOptimizationLevelEnableAll)
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

func readCounts(t testing.TB, path string) map[string]int {
	t.Helper()
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m.Graph.OpCounts()
}

func optimizeWith(t testing.TB, path, out string, level ort.GraphOptimizationLevel) map[string]int {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetGraphOptimizationLevel(level); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetOptimizedModelFilePath(out); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSession(path, []string{onnxgraph.InputIDs, onnxgraph.AttentionMask}, []string{onnxgraph.LastHiddenState}, opts)
	if err != nil {
		t.Fatal(err)
	}
	sess.Destroy()
	return readCounts(t, out)
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
