package models_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
)

// scoreWith scores cands against refs with the model folder dir on the
// device, without and with idf, and returns every pair's P, R, F.
func scoreWith(t *testing.T, dir string, dev onnxrt.Device, cands []string, refs [][]string) [][3]float64 {
	t.Helper()
	res, err := models.ResolveDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bertscore.OpenResolved(context.Background(), res, bertscore.Options{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out [][3]float64
	for _, idf := range []bool{false, true} {
		s, err := m.Scorer(bertscore.ScorerOptions{IDF: idf})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Score(context.Background(), cands, refs)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got.Pairs {
			out = append(out, [3]float64{p.P, p.R, p.F})
		}
	}
	return out
}

// worstDelta is the largest |ΔP|, |ΔR|, |ΔF| between two score lists
// (pairs whose score is undefined in both are skipped).
func worstDelta(t *testing.T, got, want [][3]float64) [3]float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d scores, want %d", len(got), len(want))
	}
	var worst [3]float64
	for i := range want {
		for k := range 3 {
			if math.IsNaN(got[i][k]) && math.IsNaN(want[i][k]) {
				continue
			}
			d := math.Abs(got[i][k] - want[i][k])
			if math.IsNaN(d) {
				t.Fatalf("pair %d: score %d is %v, fp32's %v", i, k, got[i][k], want[i][k])
			}
			worst[k] = math.Max(worst[k], d)
		}
	}
	return worst
}

// precisionCases are the precisions whose fidelity is checked on the test
// device: int8 (a CPU precision) and fp16 on the CPU, fp16 on CUDA
// (BERTBENCH_TEST_DEVICE=cuda, as scripts/gpu-check.sh runs it).
func precisionCases(dev onnxrt.Device) []modelspec.Precision {
	if dev.Kind == onnxrt.CUDA {
		return []modelspec.Precision{modelspec.FP16}
	}
	return []modelspec.Precision{modelspec.INT8, modelspec.FP16}
}

// TestPrecisionFidelityFixtures builds each fixture's encoder in fp32 and
// in every lower precision of the test device, scores every golden case's
// pairs (without and with idf) with both, and asserts the declared bound
// (modelspec.Precision.Bound) on |ΔP|, |ΔR| and |ΔF|.
func TestPrecisionFidelityFixtures(t *testing.T) {
	orttest.Require(t)
	dev := orttest.Device(t)
	for _, name := range fixture.Names() {
		g := fixture.ReadGolden(t, name)
		var cands []string
		var refs [][]string
		for _, c := range g.Cases {
			cands = append(cands, c.Cands...)
			refs = append(refs, c.Refs...)
		}
		build := func(p modelspec.Precision) string {
			dir := t.TempDir()
			if _, err := models.Import(context.Background(), fixture.Dir(t, name), dir, models.ImportOptions{Layer: g.Meta.NumLayers, Precision: p}); err != nil {
				t.Fatal(err)
			}
			return dir
		}
		want := scoreWith(t, build(modelspec.FP32), dev, cands, refs)
		for _, p := range precisionCases(dev) {
			t.Run(fmt.Sprintf("%s/%s", name, p), func(t *testing.T) {
				worst := worstDelta(t, scoreWith(t, build(p), dev, cands, refs), want)
				t.Logf("%d pairs x (no idf, idf): worst |ΔP| %.2g |ΔR| %.2g |ΔF| %.2g (declared bound %g)", len(cands), worst[0], worst[1], worst[2], p.Bound())
				for k, what := range []string{"P", "R", "F"} {
					if worst[k] > p.Bound() {
						t.Errorf("|Δ%s| %.3g against fp32 exceeds %s's declared bound %g", what, worst[k], p, p.Bound())
					}
				}
			})
		}
	}
}

// TestPrecisionFidelityMBERTShape is the same on a random-weight model of
// mBERT's width (hidden 768, 12 heads, feed-forward 3072; 3 layers and a
// 4,000-word vocabulary keep it fast: docs/precision.md has the full
// 9-layer, 119,547-word model) over 300 synthetic pairs of 15 to 40
// words.
func TestPrecisionFidelityMBERTShape(t *testing.T) {
	orttest.Require(t)
	dev := orttest.Device(t)
	cands, refs := bench.Synthetic(300, bench.Lengths{Min: 15, Max: 40}, 3)
	build := func(p modelspec.Precision) string {
		dir := t.TempDir()
		if _, err := models.Synth(context.Background(), dir, models.SynthOptions{Arch: "bert", Hidden: 768, Layers: 3, Heads: 12, Intermediate: 3072, Vocab: 4000, Keep: 3, Seed: 1, Precision: p}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	want := scoreWith(t, build(modelspec.FP32), dev, cands, refs)
	for _, p := range precisionCases(dev) {
		t.Run(string(p), func(t *testing.T) {
			worst := worstDelta(t, scoreWith(t, build(p), dev, cands, refs), want)
			t.Logf("%d pairs x (no idf, idf): worst |ΔP| %.2g |ΔR| %.2g |ΔF| %.2g (declared bound %g)", len(cands), worst[0], worst[1], worst[2], p.Bound())
			for k, what := range []string{"P", "R", "F"} {
				if worst[k] > p.Bound() {
					t.Errorf("|Δ%s| %.3g against fp32 exceeds %s's declared bound %g", what, worst[k], p, p.Bound())
				}
			}
		})
	}
}
