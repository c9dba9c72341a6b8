package models_test

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
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
		checkPrecisions(t, name+"/", dev, build, cands, refs)
	}
}

// TestPrecisionFidelityMBERTShape is the same on a random-weight model of
// mBERT's size (hidden 768, 12 heads, feed-forward 3072, cut at layer 9
// of 12; a 4,000-word vocabulary keeps it fast: docs/precision.md has the
// 119,547-word model too) over 120 synthetic pairs of 15 to 40 words.
func TestPrecisionFidelityMBERTShape(t *testing.T) {
	orttest.Require(t)
	dev := orttest.Device(t)
	cands, refs := bench.Synthetic(120, bench.Lengths{Min: 15, Max: 40}, 3)
	// mBERT's size where the arithmetic is: hidden 768, 12 heads, 3072
	// wide, cut at layer 9 of 12 as bert-base-multilingual-cased is (a
	// smaller vocabulary: it changes only the embedding table). One
	// checkpoint, built in each precision.
	ckpt := t.TempDir()
	if _, err := models.Synth(context.Background(), ckpt, models.SynthOptions{Arch: "bert", Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 4000, Keep: 9, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	build := func(p modelspec.Precision) string {
		if p == modelspec.FP32 {
			return ckpt
		}
		dir := t.TempDir()
		if _, err := models.Import(context.Background(), ckpt, dir, models.ImportOptions{Layer: 9, Precision: p, Synthetic: true}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	checkPrecisions(t, "", dev, build, cands, refs)
}

// checkPrecisions scores the pairs with the model build makes in each
// precision the device runs, in subtests named prefix+precision, and
// fails where a worst |ΔP|, |ΔR| or |ΔF| against fp32 (without and with
// idf) exceeds the precision's declared bound.
func checkPrecisions(t *testing.T, prefix string, dev onnxrt.Device, build func(modelspec.Precision) string, cands []string, refs [][]string) {
	t.Helper()
	want := scoreWith(t, build(modelspec.FP32), dev, cands, refs)
	for _, p := range precisionCases(dev) {
		t.Run(prefix+string(p), func(t *testing.T) {
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

// TestInt8ScoresIndependentOfBatching: an int8 model's scores are the same
// bits whichever sentences share a batch (budgets from one sentence a
// batch to all of them in one), as fp32's are: its activations are
// quantised per token, not over the padded batch, so one hash means one
// set of scores however a run is batched or sharded.
func TestInt8ScoresIndependentOfBatching(t *testing.T) {
	orttest.Require(t)
	dev := orttest.Device(t)
	if dev.Kind == onnxrt.CUDA {
		t.Skip("int8 models run on the CPU") // BERTBENCH_TEST_DEVICE=cuda runs the CUDA precisions only
	}
	const name = "tiny-mbert"
	g := fixture.ReadGolden(t, name)
	var cands []string
	var refs [][]string
	for _, c := range g.Cases {
		cands = append(cands, c.Cands...)
		refs = append(refs, c.Refs...)
	}
	dir := t.TempDir()
	if _, err := models.Import(context.Background(), fixture.Dir(t, name), dir, models.ImportOptions{Layer: g.Meta.NumLayers, Precision: modelspec.INT8}); err != nil {
		t.Fatal(err)
	}
	res, err := models.ResolveDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bertscore.OpenResolved(context.Background(), res, bertscore.Options{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var base []scorer.PRF
	for _, budget := range []int{8192, 64, 1} {
		s, err := m.Scorer(bertscore.ScorerOptions{BatchTokens: budget})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Score(context.Background(), cands, refs)
		if err != nil {
			t.Fatal(err)
		}
		if base == nil {
			base = got.Pairs
			continue
		}
		differ := 0
		for i := range base {
			if math.Float64bits(got.Pairs[i].F) != math.Float64bits(base[i].F) || math.Float64bits(got.Pairs[i].P) != math.Float64bits(base[i].P) || math.Float64bits(got.Pairs[i].R) != math.Float64bits(base[i].R) {
				if differ == 0 {
					t.Errorf("budget %d, pair %d: %+v, budget 8192 %+v", budget, i, got.Pairs[i], base[i])
				}
				differ++
			}
		}
		if differ > 0 {
			t.Errorf("budget %d: %d of %d pairs score other bits than at budget 8192", budget, differ, len(base))
		}
	}
}

// TestPrecisionNames: an encoder built in a lower precision is named with
// its suffix however it is built (a name of the user's, a synthetic
// model's), once.
func TestPrecisionNames(t *testing.T) {
	tests := []struct {
		label, name string
		synth       bool
		p           modelspec.Precision
		want        string
	}{
		{"import, folder name", "", false, modelspec.INT8, "tiny-mbert-int8"},
		{"import --name", "mymodel", false, modelspec.INT8, "mymodel-int8"},
		{"import --name with the suffix", "mymodel-int8", false, modelspec.INT8, "mymodel-int8"},
		{"import --name, fp32", "mymodel", false, modelspec.FP32, "mymodel"},
		{"import --name, fp16", "mymodel", false, modelspec.FP16, "mymodel-fp16"},
		{"synth", "", true, modelspec.INT8, "synthetic-bert-h32-l2-v200-seed1-int8"},
		{"synth, fp32", "", true, modelspec.FP32, "synthetic-bert-h32-l2-v200-seed1"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			dir := t.TempDir()
			var m *models.Manifest
			var err error
			if tc.synth {
				m, err = models.Synth(context.Background(), dir, models.SynthOptions{Arch: "bert", Hidden: 32, Layers: 2, Heads: 2, Intermediate: 64, Vocab: 200, Keep: 2, Seed: 1, Precision: tc.p})
			} else {
				m, err = models.Import(context.Background(), fixture.Dir(t, "tiny-mbert"), dir, models.ImportOptions{Layer: 2, Name: tc.name, Precision: tc.p})
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != tc.want {
				t.Errorf("name %q, want %q", m.Name, tc.want)
			}
		})
	}
}

// TestInt8NeedsALayer: an int8 encoder cut at layer 0 (the embeddings
// alone) would have no integer product, an fp32 graph under an int8 name:
// import, and synth before writing anything, refuse it as an input error.
func TestInt8NeedsALayer(t *testing.T) {
	dir := t.TempDir()
	_, err := models.Import(context.Background(), fixture.Dir(t, "tiny-mbert"), dir, models.ImportOptions{Layer: 0, Precision: modelspec.INT8})
	if !errors.Is(err, models.ErrInvalidInput) || !strings.Contains(err.Error(), "--layer 0 --precision int8") {
		t.Errorf("import: error %v, want an input error naming --layer 0 --precision int8", err)
	}
	synthDir := filepath.Join(t.TempDir(), "synth")
	_, err = models.Synth(context.Background(), synthDir, models.SynthOptions{Arch: "bert", Hidden: 32, Layers: 2, Heads: 2, Intermediate: 64, Vocab: 200, Keep: 0, Seed: 1, Precision: modelspec.INT8})
	if !errors.Is(err, models.ErrInvalidInput) || !strings.Contains(err.Error(), "--keep 0 --precision int8") {
		t.Errorf("synth: error %v, want an input error naming --keep 0 --precision int8", err)
	}
	if _, err := os.Stat(synthDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("synth wrote %s before refusing: %v", synthDir, err)
	}
	if _, err := models.Import(context.Background(), fixture.Dir(t, "tiny-mbert"), t.TempDir(), models.ImportOptions{Layer: 0, Precision: modelspec.FP16}); err != nil {
		t.Errorf("fp16 at layer 0: %v", err)
	}
}
