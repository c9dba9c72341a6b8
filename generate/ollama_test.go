package generate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

var shared ollamatest.Shared

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// tinyTeacher is the tiny random model on the real Ollama server as a
// teacher, built as the command line builds it, with the response cache
// in cacheDir.
func tinyTeacher(t *testing.T, cacheDir string) runners.Runner {
	t.Helper()
	srv, _ := shared.Tiny(t)
	store, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := factory.New("ollama:"+ollamatest.TinyModel+"@"+srv.URL, factory.Options{Cache: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := runners.Preflight(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// tinyOptions fit a teacher whose answers are random words and ASCII: no
// JSON, so the answer is split at its first space (source: the first
// word, reference: the rest), no language check, loose length bounds.
func tinyOptions(teacher runners.Runner, out string) Options {
	o := DefaultOptions()
	o.Teacher, o.Output, o.Count, o.MaxAttempts = teacher, out, 4, 40
	o.Separator, o.MinShare = " ", 0
	o.Source, o.Reference = Bounds{MinChars: 1, MaxChars: 400}, Bounds{MinChars: 1, MaxChars: 400}
	o.Topics, o.Styles = []string{"cats", "rain"}, []string{"plain"}
	o.Params.MaxTokens = ptr(12)
	o.Params.PresencePenalty = ptr(0.5)
	return o
}

// TestRun_TinyOllamaTeacher runs generate against the real Ollama with
// the tiny random model as the teacher: its outputs are random, so what is
// checked is the pipeline around them: the accounting, the file and what
// it records, and that the same requests give the same file, from the
// cache and, seeded, from the model itself.
func TestRun_TinyOllamaTeacher(t *testing.T) {
	dir := t.TempDir()
	teacher := tinyTeacher(t, filepath.Join(dir, "cache"))
	out := filepath.Join(dir, "pairs.jsonl")
	rep, err := Run(context.Background(), tinyOptions(teacher, out))
	if err != nil {
		t.Fatalf("Run: %v (report %s)", err, rep)
	}
	t.Logf("report: %s", rep)
	checkAccounting(t, rep)
	if rep.Accepted != 4 || rep.Calls.Live != rep.Judged+rep.Unused || rep.Calls.Failed != 0 {
		t.Errorf("report %s", rep)
	}

	items, err := dataset.ReadAll(out, dataset.Options{})
	if err != nil {
		t.Fatalf("dataset.ReadAll: %v", err)
	}
	if len(items) != 4 {
		t.Fatalf("%d items, want 4", len(items))
	}
	for i, text := range strings.Split(strings.TrimSpace(readFile(t, out)), "\n") {
		var l Line
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			t.Fatal(err)
		}
		it := items[i]
		if it.ID != ItemID(l.Request) || it.Source != l.Source || len(it.References) != 1 || it.References[0] != l.Reference || strings.Contains(l.Source, " ") {
			t.Errorf("item %d: %+v, line %+v", i, it, l)
		}
		if l.Teacher != teacher.Spec() || *l.Params.Seed != l.Request || *l.Params.PresencePenalty != 0.5 || *l.Params.MaxTokens != 12 {
			t.Errorf("line %d records %+v", i, l)
		}
	}
	want := readFile(t, out)

	// The same requests again, into a new file: every answer from the cache.
	again := filepath.Join(dir, "again.jsonl")
	rep2, err := Run(context.Background(), tinyOptions(teacher, again))
	if err != nil || rep2.Calls.Live != 0 || rep2.Judged != rep.Judged || readFile(t, again) != want {
		t.Errorf("from the cache: %v, report %s, file equal: %v", err, rep2, readFile(t, again) == want)
	}
	checkAccounting(t, rep2)

	// With a cache of its own, the seeded model gives the same answers.
	fresh := filepath.Join(dir, "fresh.jsonl")
	rep3, err := Run(context.Background(), tinyOptions(tinyTeacher(t, filepath.Join(dir, "cache2")), fresh))
	if err != nil || rep3.Calls.Live == 0 || readFile(t, fresh) != want {
		t.Errorf("a fresh cache: %v, report %s\n%s\nwant\n%s", err, rep3, readFile(t, fresh), want)
	}

	// The language check on: random ASCII is no Chinese reference, so every
	// pair fails it, judged from the cache (the checks change no request).
	o := tinyOptions(teacher, filepath.Join(dir, "zh.jsonl"))
	o.MinShare = 0.5
	rep4, err := Run(context.Background(), o)
	if !errors.Is(err, ErrTargetNotReached) || rep4.Accepted != 0 || rep4.Rejected[ReasonReferenceLanguage] == 0 || rep4.Judged != 40 {
		t.Errorf("with the language check: %v, report %s", err, rep4)
	}
	checkAccounting(t, rep4)
}
