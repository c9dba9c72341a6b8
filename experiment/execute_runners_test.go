package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/store"
)

// tracker stands in front of a fault server: it lists the Ollama models
// a and b, and records how many calls each model has in flight (each
// held a few milliseconds, so that calls that may overlap do).
type tracker struct {
	*httptest.Server
	mu       sync.Mutex
	inflight map[string]int
	most     map[string]int
	overlap  bool // calls to a and b were in flight at once
	calls    int
}

func newTracker(t *testing.T) *tracker {
	t.Helper()
	fs := faultserver.New()
	t.Cleanup(fs.Close)
	tr := &tracker{inflight: map[string]int{}, most: map[string]int{}}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/tags":
			io.WriteString(w, `{"models":[{"name":"a:latest","model":"a:latest","digest":"da"},{"name":"b:latest","model":"b:latest","digest":"db"}]}`)
			return
		case "/api/chat", "/v1/chat/completions":
		default:
			fs.Config.Handler.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct{ Model string }
		_ = json.Unmarshal(body, &req)
		m := strings.TrimSuffix(req.Model, ":latest")
		tr.mu.Lock()
		tr.calls++
		tr.inflight[m]++
		tr.most[m] = max(tr.most[m], tr.inflight[m])
		if tr.inflight["a"] > 0 && tr.inflight["b"] > 0 {
			tr.overlap = true
		}
		tr.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		fs.Config.Handler.ServeHTTP(w, r)
		tr.mu.Lock()
		tr.inflight[m]--
		tr.mu.Unlock()
	}))
	t.Cleanup(tr.Close)
	return tr
}

func (tr *tracker) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.calls
}

// writeExperiment writes n items and config (with %[1]s the server's URL
// and %[2]s the tiny checkpoint) into a folder and loads it.
func writeExperiment(t *testing.T, n int, config, url string) *experiment.Config {
	t.Helper()
	dir := t.TempDir()
	var src, refs strings.Builder
	for i := range n {
		fmt.Fprintf(&src, "sentence number %d\n", i)
		fmt.Fprintf(&refs, "第 %d 句\n", i)
	}
	for name, text := range map[string]string{"src.txt": src.String(), "refs.txt": refs.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ckpt, err := filepath.Abs("../testdata/bertscore/tiny-mbert")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(config, url, ckpt)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := experiment.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const threeRunners = `
dataset: {file: src.txt, reference_files: [refs.txt]}
to: Chinese
runners:
  - {name: a, spec: "ollama:a@%[1]s", concurrency: 2}
  - {name: b, spec: "ollama:b@%[1]s", concurrency: 2}
  - {name: c, spec: "openai-compatible:fault-model@%[1]s/v1", concurrency: 2}
variations:
  - {name: va, runner: a, temperature: 0.7}
  - {name: vb, runner: b, temperature: 0.7}
  - {name: vc, runner: c, temperature: 0.7}
repeat: 2
scoring: {import: "%[2]s", layer: 3}
`

// TestExecute_Runners: two Ollama models on one server never run at once
// (each within its own concurrency), repeats are calls of their own, and
// a second run of the experiment is served from the response cache, every
// repeat included.
func TestExecute_Runners(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	tr := newTracker(t)
	cfg := writeExperiment(t, 8, threeRunners, tr.URL)
	rc, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Cache: rc})
	if err != nil {
		t.Fatal(err)
	}
	const want = 8 * 3 * 2
	if got := tr.count(); got != want || rep.Generated != want || rep.Failed != 0 || rep.Scored != want {
		t.Errorf("%d calls at the server, report %+v; want %d of each", got, rep, want)
	}
	if tr.overlap {
		t.Error("calls to the two Ollama models on one server were in flight at once")
	}
	for m, n := range tr.most {
		if n > 2 {
			t.Errorf("model %s had %d calls in flight, its runner allows 2", m, n)
		}
	}
	// Every output is the fault server's English: flagged, and scored.
	for _, v := range rep.Variations {
		if v.Live != 16 || v.Flags["wrong_language"] != 16 || v.Scored != 16 || v.LatencyP50 <= 0 {
			t.Errorf("variation %s: %+v", v.Name, v)
		}
	}
	// Three variations with the same output for an item: one encoding.
	if rep.Encoded != 8 {
		t.Errorf("%d pairs encoded, want 8 (one per item)", rep.Encoded)
	}
	keys := map[string]bool{}
	for _, r := range storeRows(t, out) {
		if keys[r.RequestKey] || r.RequestKey == "" {
			t.Errorf("request key %q of %v is shared or empty", r.RequestKey, r.Key)
		}
		keys[r.RequestKey] = true
	}

	t.Run("SecondRunFromTheCache", func(t *testing.T) {
		before := tr.count()
		rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Cache: rc})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.count() - before; got != 0 {
			t.Errorf("%d calls made again", got)
		}
		for _, v := range rep.Variations {
			if v.Cached != 16 || v.Live != 0 {
				t.Errorf("variation %s: %d cached, %d live; want 16 and 0", v.Name, v.Cached, v.Live)
			}
		}
	})
}

// TestExecute_PreflightFails: a model the server does not have stops the
// run before any output is made, naming the runner; it is not an input
// error (the server may get the model).
func TestExecute_PreflightFails(t *testing.T) {
	tr := newTracker(t)
	cfg := writeExperiment(t, 3, strings.Replace(threeRunners, `"ollama:b@`, `"ollama:nosuch@`, 1), tr.URL)
	out := t.TempDir()
	rep, err := experiment.Execute(context.Background(), cfg, experiment.Options{Out: out})
	if err == nil || errors.Is(err, experiment.ErrInvalidInput) || !strings.Contains(err.Error(), "runner b") {
		t.Fatalf("error %v", err)
	}
	if tr.count() != 0 || rep.Generated != 0 {
		t.Errorf("%d calls, %d generations before the check failed", tr.count(), rep.Generated)
	}
	s, err := store.OpenExisting(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(context.Background())
	if err != nil || len(runs) != 1 || runs[0].Status != store.StatusFailed || runs[0].Generations != 0 {
		t.Errorf("runs %+v, %v", runs, err)
	}
}

// TestExecute_Generate: a generate block has the teacher translate the
// sources into OUTPUT/generated.jsonl, which becomes the dataset; a failed
// teacher call stops the run with the answers kept, and the next run asks
// only for the rest; a finished file is used as it is.
func TestExecute_Generate(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	fs := faultserver.New(faultserver.OK, faultserver.BadRequest) // the second call fails, once
	defer fs.Close()
	dir := t.TempDir()
	ckpt, err := filepath.Abs("../testdata/bertscore/tiny-mbert")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"src.txt":   "hello\nthank you\n",
		"var.jsonl": `{"id": "L1", "output": "你好"}` + "\n" + `{"id": "L2", "output": "谢谢"}` + "\n",
		"exp.yaml": fmt.Sprintf(`
generate:
  sources: {file: src.txt}
  runner: teacher
  temperature: 0
to: Chinese
runners:
  - {name: teacher, spec: "openai-compatible:fault-model@%s/v1", concurrency: 1, retries: 1}
  - {name: student, spec: "replay:var.jsonl"}
variations: [{name: student, runner: student}]
scoring: {import: "%s", layer: 3}
`, fs.URL, ckpt),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := experiment.Load(filepath.Join(dir, "exp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	generated := filepath.Join(out, experiment.DefaultGeneratedFile)

	_, err = experiment.Execute(ctx, cfg, experiment.Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 teacher calls failed") || errors.Is(err, experiment.ErrInvalidInput) {
		t.Fatalf("a failed teacher call: %v", err)
	}
	if _, err := os.Stat(generated); err == nil {
		t.Error("the dataset was written with an item missing")
	}
	if b, err := os.ReadFile(generated + experiment.PartialSuffix); err != nil || strings.Count(string(b), "\n") != 1 {
		t.Errorf("the kept answers: %q, %v", b, err)
	}

	rep, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if fs.Calls() != 3 {
		t.Errorf("the teacher was called %d times, want 3 (the failed source asked again, the other not)", fs.Calls())
	}
	b, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"L1","source":"hello","reference":"` + faultserver.Output + `"`, `"id":"L2","source":"thank you"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s:\n%s", generated, want, b)
		}
	}
	if rep.Generated != 2 || rep.Scored != 2 {
		t.Errorf("report %+v", rep)
	}
	if _, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err != nil || fs.Calls() != 3 {
		t.Errorf("a new run: %v, %d teacher calls in all", err, fs.Calls())
	}
}

// TestExecute_GenerateProvenance: the generated dataset (finished or
// partial) is kept only for the teacher config and sources file that made
// it: a new run after either changed makes it again, and a resume after
// the sources changed is an input error naming them.
func TestExecute_GenerateProvenance(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	fs := faultserver.New(faultserver.OK, faultserver.BadRequest) // the second call fails, once
	defer fs.Close()
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
	config := func(temperature string) *experiment.Config {
		t.Helper()
		write("exp.yaml", fmt.Sprintf(`
generate:
  sources: {file: src.txt}
  runner: teacher
  temperature: %s
to: Chinese
runners:
  - {name: teacher, spec: "openai-compatible:fault-model@%s/v1", concurrency: 1, retries: 1}
  - {name: student, spec: "replay:var.jsonl"}
variations: [{name: student, runner: student}]
scoring: {import: "%s", layer: 3}
`, temperature, fs.URL, ckpt))
		cfg, err := experiment.Load(filepath.Join(dir, "exp.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	write("src.txt", "hello\nthank you\n")
	write("var.jsonl", `{"id": "L1", "output": "你好"}`+"\n"+`{"id": "L2", "output": "谢谢"}`+"\n")
	cfg := config("0")
	out := filepath.Join(dir, "out")
	generated := filepath.Join(out, experiment.DefaultGeneratedFile)
	wantSource := func(src string) {
		t.Helper()
		b, err := os.ReadFile(generated)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"id":"L1","source":"`+src+`"`) {
			t.Errorf("%s does not have the source %q for L1:\n%s", generated, src, b)
		}
	}

	// A partial file, then the sources change: both are asked again.
	if _, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err == nil || fs.Calls() != 2 {
		t.Fatalf("a failed teacher call: %v, %d calls", err, fs.Calls())
	}
	write("src.txt", "good morning\nthank you\n")
	if _, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	if fs.Calls() != 4 {
		t.Errorf("%d teacher calls in all, want 4 (the kept answer was for another source: both asked again)", fs.Calls())
	}
	wantSource("good morning")

	// A finished file, then the sources change: a resume refuses.
	write("src.txt", "good evening\nthank you\n")
	_, err = experiment.Execute(ctx, cfg, experiment.Options{Out: out, Resume: true})
	if !errors.Is(err, experiment.ErrInvalidInput) || !strings.Contains(err.Error(), "src.txt") || !strings.Contains(err.Error(), "without --resume") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a resume after the sources changed: %v; want a one-line input error naming them and the fix", err)
	}
	if fs.Calls() != 4 {
		t.Errorf("the refused resume called the teacher")
	}
	// ... and a new run makes it again.
	if _, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err != nil || fs.Calls() != 6 {
		t.Fatalf("a new run after the sources changed: %v, %d teacher calls in all, want 6", err, fs.Calls())
	}
	wantSource("good evening")

	// The same sources, the same teacher config: the file is used as it is.
	if _, err := experiment.Execute(ctx, cfg, experiment.Options{Out: out}); err != nil || fs.Calls() != 6 {
		t.Fatalf("a new run of the same config: %v, %d teacher calls in all, want 6", err, fs.Calls())
	}
	// Another teacher temperature: made again.
	if _, err := experiment.Execute(ctx, config("0.5"), experiment.Options{Out: out}); err != nil || fs.Calls() != 8 {
		t.Fatalf("a new run with another teacher temperature: %v, %d teacher calls in all, want 8", err, fs.Calls())
	}
}
