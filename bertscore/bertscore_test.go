package bertscore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

const goldenTol = 1e-5

// open opens the model folder dir, closed when the test ends.
func open(t testing.TB, dir string, opts bertscore.Options) *bertscore.Model {
	t.Helper()
	orttest.Require(t)
	m, err := bertscore.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("opening %s: %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// newScorer makes a scorer of m, failing the test on error.
func newScorer(t testing.TB, m *bertscore.Model, o bertscore.ScorerOptions) *scorer.Scorer {
	t.Helper()
	s, err := m.Scorer(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rows(ps []scorer.PRF) [][3]float64 {
	out := make([][3]float64, len(ps))
	for i, p := range ps {
		out[i] = [3]float64{p.P, p.R, p.F}
	}
	return out
}

// TestTwoScorersOneSession: one Model, opened once, serves a plain scorer
// and an idf+rescale one on its one encoder session, and both give the
// reference's scores; closing the Model closes the session they share. It
// runs on $BERTBENCH_TEST_DEVICE (the CPU by default).
func TestTwoScorersOneSession(t *testing.T) {
	for _, name := range fixture.Names() {
		t.Run(name, func(t *testing.T) {
			g := fixture.ReadGolden(t, name)
			tab, err := scorer.ReadBaselineFile(fixture.Path(t, name, "baseline.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			dev := orttest.Device(t)
			m := open(t, fixture.Dir(t, name), bertscore.Options{Layer: g.Meta.NumLayers, Threads: 1, Device: dev})
			plain := newScorer(t, m, bertscore.ScorerOptions{})
			both := newScorer(t, m, bertscore.ScorerOptions{IDF: true, Rescale: true, BaselineTable: tab})
			if plain.Encoder() != scorer.Encoder(m.Encoder()) || both.Encoder() != scorer.Encoder(m.Encoder()) {
				t.Fatal("the scorers do not share the model's encoder session")
			}
			for _, c := range g.Cases {
				var s *scorer.Scorer
				switch {
				case !c.IDF && !c.Rescale:
					s = plain
				case c.IDF && c.Rescale:
					s = both
				default:
					continue
				}
				res, err := s.Score(context.Background(), c.Cands, c.Refs)
				if err != nil {
					t.Fatalf("%s: %v", c.Label, err)
				}
				worst := testkit.ComparePRF(t, c.Label, rows(res.Pairs), c.PRF, goldenTol)
				t.Logf("%s (idf %v, rescale %v): worst |Δ| %.2g", c.Label, c.IDF, c.Rescale, worst)
				if got := res.Config.Runtime.Device; got != dev.String() {
					t.Errorf("device %q, want %s", got, dev)
				}
			}
			if plain.Config().SameScores(both.Config()) {
				t.Error("plain and idf+rescale configurations claim the same scores")
			}
			// The two scorers at once on the one session: the same scores.
			c := g.Case(t, "plain")
			want, err := plain.Score(context.Background(), c.Cands, c.Refs)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, s := range []*scorer.Scorer{plain, both, plain} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := s.Score(context.Background(), c.Cands, c.Refs)
					if err != nil {
						t.Error(err)
						return
					}
					if s == plain {
						testkit.ComparePRF(t, "concurrent plain", rows(res.Pairs), rows(want.Pairs), 0)
					}
				}()
			}
			wg.Wait()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*scorer.Scorer{plain, both} {
				if _, err := s.Score(context.Background(), c.Cands, c.Refs); err == nil || !strings.Contains(err.Error(), "after Close") {
					t.Errorf("a scorer of a closed model: %v, want an error", err)
				}
			}
		})
	}
}

// copyModel copies a fixture into a fresh folder, without its manifest.
func copyModel(t *testing.T, name string, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(fixture.Path(t, name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// renamedGraph writes the fixture's encoder with every occurrence of the
// name from (a graph input or output) replaced by to, which must have the
// same length so the protobuf's length prefixes stay right.
func renamedGraph(t *testing.T, name, dir, from, to string) {
	t.Helper()
	if len(from) != len(to) {
		t.Fatalf("renamedGraph: %q and %q differ in length", from, to)
	}
	data, err := os.ReadFile(fixture.Path(t, name, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(from)) {
		t.Fatalf("%s/model.onnx does not mention %q", name, from)
	}
	data = bytes.ReplaceAll(data, []byte(from), []byte(to))
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOpenErrors: every unusable model or option gives an input error that
// names the file and what is wrong.
func TestOpenErrors(t *testing.T) {
	orttest.Require(t)
	name := "tiny-mbert"
	baseline := func(t *testing.T) scorer.BaselineTable {
		tab, err := scorer.ReadBaselineFile(fixture.Path(t, name, "baseline.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	type setup func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions)
	tests := []struct {
		name    string
		setup   setup
		wantErr []string
	}{
		{"corrupt model.onnx", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "tokenizer.json")
			os.WriteFile(filepath.Join(dir, "model.onnx"), []byte("this is not a protobuf"), 0o644)
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"model.onnx", "not a loadable ONNX model"}},
		{"empty model.onnx", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "tokenizer.json")
			os.WriteFile(filepath.Join(dir, "model.onnx"), nil, 0o644)
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"model.onnx", "the file is empty"}},
		{"truncated model.onnx", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "tokenizer.json")
			data, _ := os.ReadFile(fixture.Path(t, name, "model.onnx"))
			os.WriteFile(filepath.Join(dir, "model.onnx"), data[:len(data)/2], 0o644)
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"model.onnx", "not a loadable ONNX model"}},
		{"wrong input name", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "tokenizer.json")
			renamedGraph(t, name, dir, "input_ids", "input_idz")
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"model.onnx", `missing input "input_ids"`, `unexpected input "input_idz"`}},
		{"wrong output name", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "tokenizer.json")
			renamedGraph(t, name, dir, "last_hidden_state", "last_hidden_statX")
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{`no output "last_hidden_state"`, "last_hidden_statX"}},
		{"corrupt tokenizer.json", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "model.onnx")
			os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model": `), 0o644)
			return dir, bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"tokenizer.json"}},
		{"rescale with a baseline file but no layer", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return copyModel(t, name, "model.onnx", "tokenizer.json"), bertscore.Options{}, bertscore.ScorerOptions{Rescale: true, BaselineTable: baseline(t)}
		}, []string{"--layer N"}},
		{"rescale without any baseline", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return copyModel(t, name, "model.onnx", "tokenizer.json"), bertscore.Options{Layer: 3}, bertscore.ScorerOptions{Rescale: true}
		}, []string{"--baseline FILE"}},
		{"baseline lacks the layer", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return copyModel(t, name, "model.onnx", "tokenizer.json"), bertscore.Options{Layer: 9}, bertscore.ScorerOptions{Rescale: true, BaselineTable: baseline(t)}
		}, []string{"no row for layer 9"}},
		{"layer contradicts the manifest", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			dir := copyModel(t, name, "model.onnx", "tokenizer.json")
			if err := models.WriteManifest(dir, &models.Manifest{Name: "x", Layer: 3}); err != nil {
				t.Fatal(err)
			}
			return dir, bertscore.Options{Layer: 2}, bertscore.ScorerOptions{}
		}, []string{"cut at layer 3"}},
		{"idf table for another vocabulary", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return copyModel(t, name, "model.onnx", "tokenizer.json"), bertscore.Options{}, bertscore.ScorerOptions{IDFTable: &scorer.IDFTable{Default: 1, IDF: map[int32]float64{1 << 30: 1}}}
		}, []string{"outside the tokenizer's vocabulary"}},
		{"too many threads", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return copyModel(t, name, "model.onnx", "tokenizer.json"), bertscore.Options{Threads: 1 << 20}, bertscore.ScorerOptions{}
		}, []string{"threads is more than"}},
		{"a model folder that does not exist", func(t *testing.T) (string, bertscore.Options, bertscore.ScorerOptions) {
			return filepath.Join(t.TempDir(), "none") + "/", bertscore.Options{}, bertscore.ScorerOptions{}
		}, []string{"does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, opts, so := tc.setup(t)
			opts.Cache = models.NewCache(t.TempDir())
			m, err := bertscore.Open(context.Background(), dir, opts)
			if err == nil {
				defer m.Close()
				_, err = m.Scorer(so)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !bertscore.IsInputError(err) {
				t.Errorf("error is not an input error: %v", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestManifestDefaults: a folder's bertbench.json supplies the model's
// name (hash), layer and rescale baseline.
func TestManifestDefaults(t *testing.T) {
	name := "tiny-roberta"
	g := fixture.ReadGolden(t, name)
	dir := copyModel(t, name, "model.onnx", "tokenizer.json")
	tab, err := scorer.ReadBaselineFile(fixture.Path(t, name, "baseline.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.Layer(g.Meta.NumLayers)
	if err != nil {
		t.Fatal(err)
	}
	err = models.WriteManifest(dir, &models.Manifest{Name: "my-roberta", Layer: g.Meta.NumLayers, Precision: "fp32",
		Baseline: &models.Baseline{P: b.P, R: b.R, F: b.F}})
	if err != nil {
		t.Fatal(err)
	}
	s := newScorer(t, open(t, dir, bertscore.Options{}), bertscore.ScorerOptions{Rescale: true})
	if want := fmt.Sprintf("my-roberta_L%d_no-idf_", g.Meta.NumLayers); !strings.HasPrefix(s.Hash(), want) || !strings.HasSuffix(s.Hash(), "-rescaled") {
		t.Errorf("hash %q, want %s...-rescaled", s.Hash(), want)
	}
	c := g.Case(t, "rescaled")
	res, err := s.Score(context.Background(), c.Cands, c.Refs)
	if err != nil {
		t.Fatal(err)
	}
	testkit.ComparePRF(t, "rescaled via manifest", rows(res.Pairs), c.PRF, goldenTol)
}

// TestHashPrecisionFromGraph: the hash names the precision the model's
// weights are stored in, read from the graph, even without a manifest.
func TestHashPrecisionFromGraph(t *testing.T) {
	name := "tiny-roberta"
	g := fixture.ReadGolden(t, name)
	for _, p := range modelspec.Precisions {
		dir := filepath.Join(t.TempDir(), "m")
		if _, err := models.Import(context.Background(), fixture.Dir(t, name), dir, models.ImportOptions{Layer: g.Meta.NumLayers, Precision: p}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, models.ManifestFile)); err != nil {
			t.Fatal(err)
		}
		s := newScorer(t, open(t, dir, bertscore.Options{}), bertscore.ScorerOptions{})
		want := "," + string(p) + ")"
		if !strings.Contains(s.Hash(), want) {
			t.Errorf("%s: hash %q lacks %q", p, s.Hash(), want)
		}
		if got := s.Config().Runtime.Precision; got != string(p) {
			t.Errorf("%s: precision %q", p, got)
		}
	}
}

// TestHashLayer checks that the hash names the layer a manifest or --layer
// gives, including layer 0 (the embedding output), and says "unknown" only
// when nothing does; and that it carries the tokenizer's fingerprint and
// the weights' digest.
func TestHashLayer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest *models.Manifest
		layer    int
		want     string
	}{
		{"no manifest, no layer", nil, 0, "_Lunknown_"},
		{"--layer", nil, 3, "_L3_"},
		{"manifest at layer 0", &models.Manifest{Name: "x", Layer: 0, TotalLayers: 4}, 0, "x_L0_"},
		{"manifest at layer 2", &models.Manifest{Name: "x", Layer: 2, TotalLayers: 4}, 0, "x_L2_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyModel(t, "tiny-mbert", models.ONNXFile, models.TokenizerFile)
			if tc.manifest != nil {
				if err := models.WriteManifest(dir, tc.manifest); err != nil {
					t.Fatal(err)
				}
			}
			s := newScorer(t, open(t, dir, bertscore.Options{Layer: tc.layer}), bertscore.ScorerOptions{})
			if !strings.Contains(s.Hash(), tc.want) {
				t.Errorf("hash %q lacks %q", s.Hash(), tc.want)
			}
			if !regexp.MustCompile(`tokenizer=wordpiece-cased@[0-9a-f]{8},weights=[0-9a-f]{8},ort=1\.30\.[0-9]+,provider=cpu,fp32\)$`).MatchString(s.Hash()) {
				t.Errorf("hash %q lacks the tokenizer fingerprint, the weights, runtime, device or precision", s.Hash())
			}
		})
	}
}

// TestOpenByName: a cached model opens by its name, a known model not
// pulled yet says how to pull it (an input error), and nothing is
// downloaded.
func TestOpenByName(t *testing.T) {
	orttest.Require(t)
	cache := models.NewCache(t.TempDir())
	_, err := bertscore.Open(context.Background(), "bert-base-multilingual-cased", bertscore.Options{Cache: cache})
	if !bertscore.IsInputError(err) || !strings.Contains(err.Error(), "models pull bert-base-multilingual-cased") {
		t.Errorf("a known model not pulled: %v", err)
	}
	_, err = bertscore.Open(context.Background(), "no-such-model-anywhere", bertscore.Options{Cache: cache})
	if !bertscore.IsInputError(err) {
		t.Errorf("an unknown name: %v", err)
	}
}

// TestOpenCUDAUnavailable: --device cuda where it cannot run fails with a
// runtime error (not an input error) that names the device, and makes no
// model.
func TestOpenCUDAUnavailable(t *testing.T) {
	orttest.Require(t)
	missing := filepath.Join(t.TempDir(), onnxrt.CUDAProviderLib)
	m, err := bertscore.Open(context.Background(), fixture.Dir(t, "tiny-mbert"), bertscore.Options{Device: onnxrt.Device{Kind: onnxrt.CUDA}, CUDAProvider: missing})
	if err == nil {
		m.Close()
		t.Fatal("no error")
	}
	if bertscore.IsInputError(err) || !errors.Is(err, onnxrt.ErrCUDAProviderNotFound) || !strings.HasPrefix(err.Error(), "--device cuda:0: ") {
		t.Errorf("error %v, want a runtime error naming --device cuda:0 and the missing provider", err)
	}
}

// TestOpenInt8OnCUDARefused: an int8 model asked to run on CUDA is an
// input error saying int8 runs on the CPU, given before any CUDA library
// is looked for (so it holds on a machine without a GPU too).
func TestOpenInt8OnCUDARefused(t *testing.T) {
	orttest.Require(t)
	dir := filepath.Join(t.TempDir(), "int8")
	if _, err := models.Import(context.Background(), fixture.Dir(t, "tiny-mbert"), dir, models.ImportOptions{Layer: 3, Precision: modelspec.INT8}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), onnxrt.CUDAProviderLib)
	m, err := bertscore.Open(context.Background(), dir, bertscore.Options{Device: onnxrt.Device{Kind: onnxrt.CUDA}, CUDAProvider: missing})
	if err == nil {
		m.Close()
		t.Fatal("no error")
	}
	if !bertscore.IsInputError(err) || !strings.Contains(err.Error(), "int8 models run on the CPU (--device cpu)") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q, want one line saying int8 runs on the CPU", err)
	}
}
