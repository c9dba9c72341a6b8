package onnxgraph_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/models/safetensors"
)

var fixtures = fixture.Names()

func fixtureDir(name string) string { return filepath.Join("..", "..", "testdata", "bertscore", name) }

// buildFixture builds the fixture's encoder cut at layer into dir.
func buildFixture(t testing.TB, name string, opts onnxgraph.Options, dir string) (string, *onnxgraph.Config) {
	t.Helper()
	cfg, err := onnxgraph.ReadConfig(filepath.Join(fixtureDir(name), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.OpenDir(fixtureDir(name))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := onnxgraph.Build(cfg, ck, opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-L%d.onnx", name, opts.Layer))
	if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// runEncoder runs a one-sentence batch and returns [seq][hidden].
func runEncoder(t testing.TB, path string, bert bool, ids []int64, level ort.GraphOptimizationLevel) [][]float32 {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetGraphOptimizationLevel(level); err != nil {
		t.Fatal(err)
	}
	inNames := []string{onnxgraph.InputIDs, onnxgraph.AttentionMask}
	if bert {
		inNames = append(inNames, onnxgraph.TokenTypeIDs)
	}
	sess, err := ort.NewDynamicAdvancedSession(path, inNames, []string{onnxgraph.LastHiddenState}, opts)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	defer sess.Destroy()
	shape := ort.NewShape(1, int64(len(ids)))
	mask := make([]int64, len(ids))
	for i := range mask {
		mask[i] = 1
	}
	var inputs []ort.Value
	for _, data := range [][]int64{ids, mask, make([]int64, len(ids))}[:len(inNames)] {
		tt, err := ort.NewTensor(shape, data)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Destroy()
		inputs = append(inputs, tt)
	}
	outputs := []ort.Value{nil}
	if err := sess.Run(inputs, outputs); err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	out := outputs[0].(*ort.Tensor[float32])
	defer out.Destroy()
	dims := out.GetShape()
	data := out.GetData()
	rows := make([][]float32, dims[1])
	for i := range rows {
		rows[i] = append([]float32(nil), data[int64(i)*dims[2]:int64(i+1)*dims[2]]...)
	}
	return rows
}

// TestBuiltEncoderMatchesHiddenStates checks the Go-built encoder, cut at
// every layer 0..N, against the reference's hidden states of that layer.
func TestBuiltEncoderMatchesHiddenStates(t *testing.T) {
	testkit.RequireORT(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			cases := fixture.ReadHiddenStates(t, name)
			dir := t.TempDir()
			cfg, err := onnxgraph.ReadConfig(filepath.Join(fixtureDir(name), "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			for layer := 0; layer <= cfg.NumHiddenLayers; layer++ {
				path, cfg := buildFixture(t, name, onnxgraph.Options{Layer: layer}, dir)
				for _, level := range []ort.GraphOptimizationLevel{ort.GraphOptimizationLevelDisableAll, ort.GraphOptimizationLevelEnableAll} {
					var worst float64
					for _, c := range cases {
						got := runEncoder(t, path, cfg.Arch() == onnxgraph.ArchBERT, c.IDs, level)
						want := c.Layers[layer]
						if len(got) != len(want) {
							t.Fatalf("layer %d %q: %d rows, want %d", layer, c.Text, len(got), len(want))
						}
						for i := range want {
							for j := range want[i] {
								worst = math.Max(worst, math.Abs(float64(got[i][j])-want[i][j]))
							}
						}
					}
					t.Logf("layer %d (optimization %d): max abs diff %.3g", layer, level, worst)
					if worst > 1e-5 {
						t.Errorf("layer %d (optimization %d): max abs diff %.3g > 1e-5", layer, level, worst)
					}
				}
			}
		})
	}
}

// TestExternalDataLoads writes the encoder's weights as ONNX external data
// (what models over 2 GB need) and checks ONNX Runtime gives the same
// output as with inline weights.
func TestExternalDataLoads(t *testing.T) {
	testkit.RequireORT(t)
	cfg, err := onnxgraph.ReadConfig(filepath.Join(fixtureDir("tiny-mbert"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.OpenDir(fixtureDir("tiny-mbert"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	dir := t.TempDir()
	var paths []string
	for i, threshold := range []int64{0, -1} {
		m, err := onnxgraph.Build(cfg, ck, onnxgraph.Options{Layer: 2})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("m%d.onnx", i))
		if err := onnxpb.WriteFile(p, m, onnxpb.WriteOptions{ExternalDataThreshold: threshold}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	st, _ := os.Stat(paths[1])
	if st.Size() > 100_000 {
		t.Errorf("external-data model.onnx is %d bytes: weights not moved out", st.Size())
	}
	ids := []int64{2, 102, 210, 3}
	a := runEncoder(t, paths[0], true, ids, ort.GraphOptimizationLevelEnableAll)
	b := runEncoder(t, paths[1], true, ids, ort.GraphOptimizationLevelEnableAll)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("outputs differ at [%d][%d]: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

// TestPaddingInvariance runs the reference sentences as one right-padded
// batch and checks every real token's vector equals the one-sentence run:
// the mask and (for RoBERTa) the mask-derived positions keep padding out.
func TestPaddingInvariance(t *testing.T) {
	testkit.RequireORT(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			cases := fixture.ReadHiddenStates(t, name)
			path, cfg := buildFixture(t, name, onnxgraph.Options{Layer: 2}, t.TempDir())
			bert := cfg.Arch() == onnxgraph.ArchBERT
			maxLen := 0
			for _, c := range cases {
				maxLen = max(maxLen, len(c.IDs))
			}
			B := len(cases)
			ids := make([]int64, B*maxLen)
			mask := make([]int64, B*maxLen)
			for i := range ids {
				ids[i] = int64(cfg.PadID())
			}
			for b, c := range cases {
				for j, id := range c.IDs {
					ids[b*maxLen+j] = id
					mask[b*maxLen+j] = 1
				}
			}
			batch := runBatch(t, path, bert, ids, mask, B, maxLen)
			W := cfg.HiddenSize
			for b, c := range cases {
				single := runEncoder(t, path, bert, c.IDs, ort.GraphOptimizationLevelEnableAll)
				for j := range c.IDs {
					for k := 0; k < W; k++ {
						got := batch[(b*maxLen+j)*W+k]
						if d := math.Abs(float64(got - single[j][k])); d > 1e-5 {
							t.Fatalf("sentence %d token %d dim %d: batched %v, alone %v", b, j, k, got, single[j][k])
						}
					}
				}
			}
		})
	}
}

func runBatch(t *testing.T, path string, bert bool, ids, mask []int64, B, S int) []float32 {
	t.Helper()
	names := []string{onnxgraph.InputIDs, onnxgraph.AttentionMask}
	data := [][]int64{ids, mask}
	if bert {
		names = append(names, onnxgraph.TokenTypeIDs)
		data = append(data, make([]int64, len(ids)))
	}
	sess, err := ort.NewDynamicAdvancedSession(path, names, []string{onnxgraph.LastHiddenState}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	var inputs []ort.Value
	for _, d := range data {
		tt, err := ort.NewTensor(ort.NewShape(int64(B), int64(S)), d)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Destroy()
		inputs = append(inputs, tt)
	}
	out := []ort.Value{nil}
	if err := sess.Run(inputs, out); err != nil {
		t.Fatal(err)
	}
	defer out[0].Destroy()
	return append([]float32(nil), out[0].(*ort.Tensor[float32]).GetData()...)
}
