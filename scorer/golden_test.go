package scorer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/ortlib"
	"github.com/bertbench/bertbench/scorer"
)

// fixtures are the reference fixture folders under testdata/bertscore.
var fixtures = []string{"tiny-mbert", "tiny-bert-uncased", "tiny-roberta"}

func fixtureDir(name string) string {
	return filepath.Join("..", "testdata", "bertscore", name)
}

// golden is a fixture's golden.json.
type golden struct {
	Meta struct {
		Name      string `json:"name"`
		NumLayers int    `json:"num_layers"`
	} `json:"meta"`
	Cases []goldenCase `json:"cases"`
	IDF   struct {
		NumDocs int                `json:"num_docs"`
		Default float64            `json:"default"`
		IDF     map[string]float64 `json:"idf"`
	} `json:"idf_over_refs_of_plain"`
}

type goldenCase struct {
	Label     string `json:"label"`
	BatchSize int    `json:"batch_size"`
	Options   struct {
		IDF     bool `json:"idf"`
		Rescale bool `json:"rescale_with_baseline"`
	} `json:"options"`
	Cands  []string             `json:"cands"`
	Refs   json.RawMessage      `json:"refs"`
	PRF    [][3]float64         `json:"-"` // NaN where the reference leaves a score undefined
	RawPRF [][3]json.RawMessage `json:"prf"`
}

// refLists returns the case's references as one list per candidate.
func (c goldenCase) refLists(t testing.TB) [][]string {
	t.Helper()
	var flat []string
	if err := json.Unmarshal(c.Refs, &flat); err == nil {
		out := make([][]string, len(flat))
		for i, r := range flat {
			out[i] = []string{r}
		}
		return out
	}
	var multi [][]string
	if err := json.Unmarshal(c.Refs, &multi); err != nil {
		t.Fatalf("case %s: refs: %v", c.Label, err)
	}
	return multi
}

// flatRefs returns the references of a single-reference case.
func (c goldenCase) flatRefs(t testing.TB) []string {
	t.Helper()
	var flat []string
	if err := json.Unmarshal(c.Refs, &flat); err != nil {
		t.Fatalf("case %s: refs are not a flat list: %v", c.Label, err)
	}
	return flat
}

func readGolden(t testing.TB, name string) *golden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir(name), "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The reference writes undefined scores as NaN, which is not JSON.
	data = bytes.ReplaceAll(data, []byte("NaN"), []byte(`"NaN"`))
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s golden.json: %v", name, err)
	}
	for i := range g.Cases {
		c := &g.Cases[i]
		for _, raw := range c.RawPRF {
			var v [3]float64
			for k, r := range raw {
				if string(r) == `"NaN"` {
					v[k] = math.NaN()
				} else if err := json.Unmarshal(r, &v[k]); err != nil {
					t.Fatalf("%s %s prf: %v", name, c.Label, err)
				}
			}
			c.PRF = append(c.PRF, v)
		}
	}
	return &g
}

// requireORT fails the test when ONNX Runtime is missing.
func requireORT(t testing.TB) {
	t.Helper()
	if _, err := ortlib.Load(""); err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make ort` (%v)", err)
	}
}

// newFixtureScorer builds a scorer for a fixture with the golden case's
// options, the fixture's baseline file and its layer.
func newFixtureScorer(t testing.TB, name string, g *golden, idf, rescale bool, mod func(*scorer.Options)) *scorer.Scorer {
	t.Helper()
	requireORT(t)
	m, err := models.ResolveDir(fixtureDir(name))
	if err != nil {
		t.Fatal(err)
	}
	opts := scorer.Options{Model: m, IDF: idf, Rescale: rescale, Layer: g.Meta.NumLayers}
	if rescale {
		opts.BaselineTable, err = scorer.ReadBaselineFile(filepath.Join(fixtureDir(name), "baseline.tsv"))
		if err != nil {
			t.Fatal(err)
		}
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := scorer.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("%s: New: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const goldenTol = 1e-5

func comparePRF(t *testing.T, label string, got []scorer.PRF, want [][3]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d scores, want %d", label, len(got), len(want))
	}
	worst := 0.0
	for i, w := range want {
		g := [3]float64{got[i].P, got[i].R, got[i].F}
		for k := range 3 {
			if math.IsNaN(w[k]) || math.IsNaN(g[k]) {
				if math.IsNaN(w[k]) != math.IsNaN(g[k]) {
					t.Errorf("%s pair %d %c: got %v, want %v", label, i, "PRF"[k], g[k], w[k])
				}
				continue
			}
			d := math.Abs(g[k] - w[k])
			worst = max(worst, d)
			if !(d <= tol) {
				t.Errorf("%s pair %d %c: got %.8f, want %.8f (|Δ| %.2g > %.0g)", label, i, "PRF"[k], g[k], w[k], d, tol)
			}
		}
	}
	t.Logf("%s: %d pairs, worst |Δ| %.2g", label, len(want), worst)
}

// TestGolden scores every case of every fixture's golden.json through the
// public API and compares with the reference's numbers.
func TestGolden(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			g := readGolden(t, name)
			scorers := map[[2]bool]*scorer.Scorer{}
			seen := map[string]bool{}
			for _, c := range g.Cases {
				key := [2]bool{c.Options.IDF, c.Options.Rescale}
				s := scorers[key]
				if s == nil {
					s = newFixtureScorer(t, name, g, key[0], key[1], nil)
					scorers[key] = s
				}
				label := fmt.Sprintf("%s/batch%d", c.Label, c.BatchSize)
				seen[c.Label] = true
				res, err := s.Score(context.Background(), c.Cands, c.refLists(t))
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				comparePRF(t, label, res.Pairs, c.PRF, goldenTol)
			}
			for _, want := range []string{"plain", "idf", "rescaled", "idf_rescaled", "edge", "multiref"} {
				if !seen[want] {
					t.Errorf("golden.json has no %q case", want)
				}
			}
		})
	}
}

// TestIDFTableMatchesReference compares the idf table computed over the
// plain case's references with the reference's.
func TestIDFTableMatchesReference(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			g := readGolden(t, name)
			s := newFixtureScorer(t, name, g, true, false, nil)
			var plain *goldenCase
			for i := range g.Cases {
				if g.Cases[i].Label == "plain" {
					plain = &g.Cases[i]
					break
				}
			}
			if plain == nil {
				t.Fatal("no plain case")
			}
			tab, err := s.IDF(context.Background(), plain.flatRefs(t))
			if err != nil {
				t.Fatal(err)
			}
			if tab.NumDocs != g.IDF.NumDocs {
				t.Errorf("num_docs %d, want %d", tab.NumDocs, g.IDF.NumDocs)
			}
			if math.Abs(tab.Default-g.IDF.Default) > 1e-12 {
				t.Errorf("default %v, want %v", tab.Default, g.IDF.Default)
			}
			if len(tab.IDF) != len(g.IDF.IDF) {
				t.Errorf("%d ids, want %d", len(tab.IDF), len(g.IDF.IDF))
			}
			for k, want := range g.IDF.IDF {
				id, _ := strconv.Atoi(k)
				got, ok := tab.IDF[int32(id)]
				if !ok || math.Abs(got-want) > 1e-12 {
					t.Errorf("idf[%s] = %v (present %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
