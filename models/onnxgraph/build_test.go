package onnxgraph_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
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

// runEncoder runs a one-sentence batch through an onnxrt encoder on the
// test device (the CPU unless $BERTBENCH_TEST_DEVICE says otherwise), with
// ONNX Runtime's graph optimizations on or off, and returns [seq][hidden].
func runEncoder(t testing.TB, path string, ids []int64, optimized bool) [][]float32 {
	t.Helper()
	e := orttest.Encoder(t, path, onnxrt.EncoderOptions{Threads: 1, DisableOptimizations: !optimized, Device: orttest.Device(t)})
	h, err := e.Encode(context.Background(), scorer.Batch{IDs: [][]int32{toInt32(ids)}})
	if err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	rows := make([][]float32, h.Seq)
	for i := range rows {
		rows[i] = append([]float32(nil), h.Data[i*h.Dim:(i+1)*h.Dim]...)
	}
	return rows
}

func toInt32(ids []int64) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// TestBuiltEncoderMatchesHiddenStates checks the Go-built encoder, cut at
// every layer 0..N, against the reference's hidden states of that layer.
func TestBuiltEncoderMatchesHiddenStates(t *testing.T) {
	orttest.Require(t)
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
				for _, optimized := range []bool{false, true} {
					var worst float64
					for _, c := range cases {
						got := runEncoder(t, path, c.IDs, optimized)
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
					t.Logf("layer %d (optimized %v, %s): max abs diff %.3g", layer, optimized, cfg.Arch(), worst)
					if worst > 1e-5 {
						t.Errorf("layer %d (optimized %v): max abs diff %.3g > 1e-5", layer, optimized, worst)
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
	orttest.Require(t)
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
	a := runEncoder(t, paths[0], ids, true)
	b := runEncoder(t, paths[1], ids, true)
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
	orttest.Require(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			cases := fixture.ReadHiddenStates(t, name)
			path, cfg := buildFixture(t, name, onnxgraph.Options{Layer: 2}, t.TempDir())
			b := scorer.Batch{Pad: int32(cfg.PadID())}
			for _, c := range cases {
				b.IDs = append(b.IDs, toInt32(c.IDs))
			}
			e := orttest.Encoder(t, path, onnxrt.EncoderOptions{Threads: 1, Device: orttest.Device(t)})
			batch, err := e.Encode(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			W := cfg.HiddenSize
			if batch.Dim != W {
				t.Fatalf("hidden %d, want %d", batch.Dim, W)
			}
			for r, c := range cases {
				single := runEncoder(t, path, c.IDs, true)
				for j := range c.IDs {
					for k := 0; k < W; k++ {
						got := batch.Data[(r*batch.Seq+j)*W+k]
						if d := math.Abs(float64(got - single[j][k])); d > 1e-5 {
							t.Fatalf("sentence %d token %d dim %d: batched %v, alone %v", r, j, k, got, single[j][k])
						}
					}
				}
			}
		})
	}
}
