package scorer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// fixtureEncoder opens a fixture's model.onnx on the test device (the
// CPU unless $BERTBENCH_TEST_DEVICE says otherwise; closed when the test
// ends).
func fixtureEncoder(t testing.TB, name string) *onnxrt.Encoder {
	t.Helper()
	return orttest.Encoder(t, fixture.Path(t, name, "model.onnx"), onnxrt.EncoderOptions{Device: orttest.Device(t)})
}

// fixtureBaseline is the row of the fixture's baseline file for its layer.
func fixtureBaseline(t testing.TB, name string, g *fixture.Golden) *scorer.Baseline {
	t.Helper()
	tab, err := scorer.ReadBaselineFile(fixture.Path(t, name, "baseline.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.Layer(g.Meta.NumLayers)
	if err != nil {
		t.Fatal(err)
	}
	return &b
}

// newFixtureScorer builds a scorer over a fixture's encoder and tokenizer
// with the golden case's options, the fixture's baseline and its layer;
// mod, when set, changes the options (the tokenizer too) first.
func newFixtureScorer(t testing.TB, name string, g *fixture.Golden, idf, rescale bool, mod func(*scorer.Options, *scorer.Tokenizer)) *scorer.Scorer {
	t.Helper()
	opts := scorer.Options{Model: name, IDF: idf, Layer: g.Meta.NumLayers}
	if rescale {
		opts.Baseline = fixtureBaseline(t, name, g)
	}
	var tok scorer.Tokenizer = tokenizerOf(t, fixture.Dir(t, name))
	if mod != nil {
		mod(&opts, &tok)
	}
	s, err := scorer.New(fixtureEncoder(t, name), tok, opts)
	if err != nil {
		t.Fatalf("%s: New: %v", name, err)
	}
	return s
}

const goldenTol = 1e-5

// comparePRF compares scores with the reference's (see
// testkit.ComparePRF) and logs the largest difference.
func comparePRF(t *testing.T, label string, got []scorer.PRF, want [][3]float64, tol float64) {
	t.Helper()
	worst := testkit.ComparePRF(t, label, prfRows(got), want, tol)
	t.Logf("%s: %d pairs, worst |Δ| %.2g", label, len(want), worst)
}

// prfRows lays scores out as testkit.ComparePRF takes them.
func prfRows(ps []scorer.PRF) [][3]float64 {
	out := make([][3]float64, len(ps))
	for i, p := range ps {
		out[i] = [3]float64{p.P, p.R, p.F}
	}
	return out
}

// TestGolden scores every case of every fixture's golden.json through the
// public API and compares with the reference's numbers.
func TestGolden(t *testing.T) {
	for _, name := range fixture.Names() {
		t.Run(name, func(t *testing.T) {
			g := fixture.ReadGolden(t, name)
			scorers := map[[2]bool]*scorer.Scorer{}
			seen := map[string]bool{}
			for _, c := range g.Cases {
				key := [2]bool{c.IDF, c.Rescale}
				s := scorers[key]
				if s == nil {
					s = newFixtureScorer(t, name, g, key[0], key[1], nil)
					scorers[key] = s
				}
				label := fmt.Sprintf("%s/batch%d", c.Label, c.BatchSize)
				seen[c.Label] = true
				res, err := s.Score(context.Background(), c.Cands, c.Refs)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				comparePRF(t, label, res.Pairs, c.PRF, goldenTol)
				if dev := orttest.Device(t).String(); res.Config.Runtime.Device != dev || !strings.Contains(res.Hash, ",provider="+orttest.Device(t).Kind.String()+",fp32") {
					t.Errorf("%s: ran on %q (hash %s), want %s", label, res.Config.Runtime.Device, res.Hash, dev)
				}
			}
			for _, want := range fixture.Labels() {
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
	for _, name := range fixture.Names() {
		t.Run(name, func(t *testing.T) {
			g := fixture.ReadGolden(t, name)
			s := newFixtureScorer(t, name, g, true, false, nil)
			plain := g.Case(t, "plain")
			tab, err := s.IDF(context.Background(), plain.FlatRefs(t))
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
			for id, want := range g.IDF.IDF {
				got, ok := tab.IDF[id]
				if !ok || math.Abs(got-want) > 1e-12 {
					t.Errorf("idf[%d] = %v (present %v), want %v", id, got, ok, want)
				}
			}
		})
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
