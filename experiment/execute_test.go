package experiment_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/scorer"
	"github.com/bertbench/bertbench/store"
)

// demoConfig loads examples/demo.yaml.
func demoConfig(t *testing.T) *experiment.Config {
	t.Helper()
	c, err := experiment.Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storeRows reads every stored row of the latest run in out.
func storeRows(t *testing.T, out string) []store.Row {
	t.Helper()
	s, err := store.OpenExisting(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows []store.Row
	for r, err := range s.Rows(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestExecute_Demo runs the demo (three replayed systems, the bundled
// checkpoint built into the output folder, idf and rescaling) and checks
// the store against scoring each system on its own with the same model:
// encoding an output several systems share once changes no score.
func TestExecute_Demo(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	cfg := demoConfig(t)
	out := t.TempDir()
	var stderr strings.Builder
	rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, ToolVersion: "test", Stderr: &stderr})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if rep.Planned != 60 || rep.Generated != 60 || rep.Skipped != 0 || rep.Failed != 0 || rep.Scored != 60 || !rep.Rescaled {
		t.Errorf("report %+v", rep)
	}
	if rep.Encoded >= 60 || rep.Encoded < 40 {
		t.Errorf("%d pairs encoded for 60 scores: identical outputs of the systems should be encoded once", rep.Encoded)
	}
	if len(rep.Variations) != 3 {
		t.Fatalf("%d variations summed up", len(rep.Variations))
	}
	for _, v := range rep.Variations {
		if v.Replayed != 20 || v.Live != 0 || v.Scored != 20 || v.MeanRescaled == nil || math.IsNaN(v.Mean.F) {
			t.Errorf("variation %s: %+v", v.Name, v)
		}
	}
	if _, err := os.Stat(filepath.Join(out, experiment.ModelDir, "model.onnx")); err != nil {
		t.Errorf("the imported model: %v", err)
	}

	// The same scores, system by system, from the scorer over slices.
	m, err := bertscore.Open(ctx, filepath.Join(out, experiment.ModelDir), bertscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tbl, err := scorer.ReadBaselineFile("../testdata/bertscore/tiny-mbert/baseline.tsv")
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Scorer(bertscore.ScorerOptions{IDF: true, Rescale: true, BaselineTable: tbl})
	if err != nil {
		t.Fatal(err)
	}
	rows := storeRows(t, out)
	if len(rows) != 60 {
		t.Fatalf("%d rows stored, want 60", len(rows))
	}
	var digest string
	byVar := map[string][]store.Row{}
	for _, r := range rows {
		byVar[r.Variation] = append(byVar[r.Variation], r)
	}
	for name, rs := range byVar {
		var cands []string
		var refs [][]string
		for _, r := range rs {
			cands, refs = append(cands, r.Result.Output), append(refs, r.References)
		}
		res, err := s.Score(ctx, cands, refs)
		if err != nil {
			t.Fatal(err)
		}
		digest = res.Config.Score.IDFDigest
		for i, r := range rs {
			if len(r.Scores) != 1 || r.Scores[0].Scoring != rep.Scoring || r.Scores[0].Rescaled == nil {
				t.Fatalf("%s item %s: scores %+v", name, r.Item, r.Scores)
			}
			got, want := *r.Scores[0].Rescaled, res.Pairs[i]
			if math.Abs(got.P-want.P) > 1e-6 || math.Abs(got.R-want.R) > 1e-6 || math.Abs(got.F-want.F) > 1e-6 {
				t.Errorf("%s item %s: stored %+v, scored alone %+v", name, r.Item, got, want)
			}
		}
	}
	// The idf table the run computed over the dataset's references is the
	// one Score computes over a system's: the same digest (the hash says
	// "idf-table" for a table given to the scorer).
	alone, err := s.Score(ctx, []string{"x"}, [][]string{{"y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("idf_", "idf-table_", "idf="+alone.Config.Score.IDFDigest[:8], "idf-table="+digest[:8]).Replace(alone.Hash)
	if rep.Scoring != want {
		t.Errorf("stored under %s, want %s", rep.Scoring, want)
	}

	t.Run("Resume", func(t *testing.T) {
		rep2, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Resume: true, ToolVersion: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if !rep2.Resumed || rep2.RunID != rep.RunID || rep2.Skipped != 60 || rep2.Generated != 0 || rep2.Scored != 0 || rep2.Encoded != 0 {
			t.Errorf("resumed report %+v", rep2)
		}
		if n := len(storeRows(t, out)); n != 60 {
			t.Errorf("%d rows after the resume, want 60", n)
		}
	})
	t.Run("ResumeChangedConfig", func(t *testing.T) {
		changed := demoConfig(t)
		changed.Variations[0].Temperature = experiment.List[float64]{0.5}
		_, err := experiment.Execute(ctx, changed, experiment.Options{Out: out, Resume: true})
		if !errors.Is(err, experiment.ErrInvalidInput) || !errors.Is(err, store.ErrConfigChanged) {
			t.Errorf("resuming with another config: %v", err)
		}
	})
	t.Run("NewRun", func(t *testing.T) {
		var stderr strings.Builder
		rep3, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Stderr: &stderr})
		if err != nil {
			t.Fatal(err)
		}
		if rep3.RunID == rep.RunID || rep3.Generated != 60 || !strings.Contains(stderr.String(), "earlier run") {
			t.Errorf("a second run: %+v; stderr %q", rep3, stderr.String())
		}
	})
}
