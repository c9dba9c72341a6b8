package models_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/ortlib"
	"github.com/bertbench/bertbench/scorer"
)

type goldenFile struct {
	Meta struct {
		NumLayers int `json:"num_layers"`
	} `json:"meta"`
	Cases []struct {
		Label   string `json:"label"`
		Options struct {
			IDF     bool `json:"idf"`
			Rescale bool `json:"rescale_with_baseline"`
		} `json:"options"`
		Cands []string             `json:"cands"`
		Refs  json.RawMessage      `json:"refs"`
		PRF   [][3]json.RawMessage `json:"prf"`
	} `json:"cases"`
}

func readGoldenFile(t *testing.T, fixture string) *goldenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir(fixture), "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("NaN"), []byte(`"NaN"`))
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func refLists(t *testing.T, raw json.RawMessage) [][]string {
	var flat []string
	if err := json.Unmarshal(raw, &flat); err == nil {
		out := make([][]string, len(flat))
		for i, r := range flat {
			out[i] = []string{r}
		}
		return out
	}
	var multi [][]string
	if err := json.Unmarshal(raw, &multi); err != nil {
		t.Fatal(err)
	}
	return multi
}

// TestGoldenWithGoBuiltEncoder builds each fixture's encoder from its
// safetensors checkpoint (never its model.onnx) and scores every golden
// case through the scorer: float32 within 1e-5 of the reference, float16
// within 2e-3 (ONNX Runtime's CPU provider runs the fp16 graph).
func TestGoldenWithGoBuiltEncoder(t *testing.T) {
	if _, err := ortlib.Load(""); err != nil {
		t.Fatalf("ONNX Runtime is needed (run `make ort`): %v", err)
	}
	for _, fixture := range []string{"tiny-mbert", "tiny-bert-uncased", "tiny-roberta"} {
		for _, fp16 := range []bool{false, true} {
			tol := 1e-5
			if fp16 {
				tol = 2e-3
			}
			t.Run(fmt.Sprintf("%s/fp16=%v", fixture, fp16), func(t *testing.T) {
				g := readGoldenFile(t, fixture)
				out := t.TempDir()
				if _, err := models.Import(context.Background(), fixtureDir(fixture), out, models.ImportOptions{Layer: g.Meta.NumLayers, FP16: fp16}); err != nil {
					t.Fatal(err)
				}
				res, err := models.ResolveDir(out)
				if err != nil {
					t.Fatal(err)
				}
				table, err := scorer.ReadBaselineFile(filepath.Join(fixtureDir(fixture), "baseline.tsv"))
				if err != nil {
					t.Fatal(err)
				}
				scorers := map[[2]bool]*scorer.Scorer{}
				worst := 0.0
				for _, c := range g.Cases {
					key := [2]bool{c.Options.IDF, c.Options.Rescale}
					s := scorers[key]
					if s == nil {
						s, err = scorer.New(context.Background(), scorer.Options{Model: res, IDF: key[0], Rescale: key[1], BaselineTable: table})
						if err != nil {
							t.Fatal(err)
						}
						defer s.Close()
						scorers[key] = s
					}
					got, err := s.Score(context.Background(), c.Cands, refLists(t, c.Refs))
					if err != nil {
						t.Fatalf("%s: %v", c.Label, err)
					}
					for i, row := range c.PRF {
						have := [3]float64{got.Pairs[i].P, got.Pairs[i].R, got.Pairs[i].F}
						for k, raw := range row {
							if string(raw) == `"NaN"` {
								continue
							}
							var want float64
							if err := json.Unmarshal(raw, &want); err != nil {
								t.Fatal(err)
							}
							d := math.Abs(have[k] - want)
							worst = math.Max(worst, d)
							if !(d <= tol) {
								t.Errorf("%s pair %d %c: got %.7f, want %.7f", c.Label, i, "PRF"[k], have[k], want)
							}
						}
					}
				}
				t.Logf("%d cases, worst |Δ| %.2g (tolerance %g)", len(g.Cases), worst, tol)
			})
		}
	}
}
