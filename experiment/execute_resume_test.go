package experiment_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/store"
)

// TestExecute_ResumeDatasetLinesRemoved: a resume whose dataset lost
// items the run stored (their generations pending) is an input error
// naming the fix, not a run that ends "done" with those generations
// missing.
func TestExecute_ResumeDatasetLinesRemoved(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	ckpt, err := filepath.Abs("../testdata/bertscore/tiny-mbert")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("src.txt", "hello\nthank you\nbye\n")
	write("refs.txt", "你好\n谢谢\n再见\n")
	// The recording lacks L3: its call fails, and a resume asks again.
	write("rec.jsonl", `{"id": "L1", "output": "你好"}`+"\n"+`{"id": "L2", "output": "谢谢"}`+"\n")
	write("exp.yaml", fmt.Sprintf(`
dataset: {file: src.txt, reference_files: [refs.txt]}
to: Chinese
runners: [{name: rec, spec: "replay:rec.jsonl"}]
variations: [{name: rec, runner: rec}]
scoring: {import: "%s", layer: 3}
`, ckpt))
	cfg, err := experiment.Load(filepath.Join(dir, "exp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err != nil || rep.Failed != 1 {
		t.Fatalf("the first run: %+v, %v; want L3 failed", rep, err)
	}

	write("src.txt", "hello\nthank you\n")
	write("refs.txt", "你好\n谢谢\n")
	rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Resume: true})
	if !errors.Is(err, experiment.ErrInvalidInput) || !errors.Is(err, store.ErrInputChanged) ||
		!strings.Contains(err.Error(), `"L3"`) || !strings.Contains(err.Error(), "start a new run") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a resume with the dataset's last line removed: %v; want a one-line input error naming L3 and the fix", err)
	}
	if rep.Generated != 0 {
		t.Errorf("%d generations made before the check", rep.Generated)
	}
	s, err := store.OpenExisting(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(ctx)
	if err != nil || len(runs) != 1 || runs[0].Status == store.StatusDone {
		t.Errorf("runs %+v, %v; want the one run, not done", runs, err)
	}
}
