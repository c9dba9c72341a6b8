package models_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
)

// TestGoldenWithGoBuiltEncoder builds each fixture's encoder from its
// safetensors checkpoint (never its model.onnx) and scores every golden
// case through the scorer: float32 within 1e-5 of the reference, float16
// within 2e-3 (ONNX Runtime's CPU provider runs the fp16 graph).
func TestGoldenWithGoBuiltEncoder(t *testing.T) {
	orttest.Require(t)
	for _, name := range fixture.Names() {
		for _, p := range []modelspec.Precision{modelspec.FP32, modelspec.FP16} {
			tol := 1e-5
			if p == modelspec.FP16 {
				tol = 2e-3
			}
			t.Run(fmt.Sprintf("%s/%s", name, p), func(t *testing.T) {
				g := fixture.ReadGolden(t, name)
				out := t.TempDir()
				if _, err := models.Import(context.Background(), fixture.Dir(t, name), out, models.ImportOptions{Layer: g.Meta.NumLayers, Precision: p}); err != nil {
					t.Fatal(err)
				}
				res, err := models.ResolveDir(out)
				if err != nil {
					t.Fatal(err)
				}
				table, err := scorer.ReadBaselineFile(fixture.Path(t, name, "baseline.tsv"))
				if err != nil {
					t.Fatal(err)
				}
				m, err := bertscore.OpenResolved(context.Background(), res, bertscore.Options{Device: orttest.Device(t)})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				scorers := map[[2]bool]*scorer.Scorer{}
				worst := 0.0
				for _, c := range g.Cases {
					key := [2]bool{c.IDF, c.Rescale}
					s := scorers[key]
					if s == nil {
						s, err = m.Scorer(bertscore.ScorerOptions{IDF: key[0], Rescale: key[1], BaselineTable: table})
						if err != nil {
							t.Fatal(err)
						}
						scorers[key] = s
					}
					got, err := s.Score(context.Background(), c.Cands, c.Refs)
					if err != nil {
						t.Fatalf("%s: %v", c.Label, err)
					}
					have := make([][3]float64, len(got.Pairs))
					for i, p := range got.Pairs {
						have[i] = [3]float64{p.P, p.R, p.F}
					}
					worst = math.Max(worst, testkit.ComparePRF(t, c.Label, have, c.PRF, tol))
				}
				t.Logf("%d cases, worst |Δ| %.2g (tolerance %g)", len(g.Cases), worst, tol)
			})
		}
	}
}
