package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

func TestOpen_Schema(t *testing.T) {
	ctx := context.Background()
	t.Run("EmptyFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s := mustOpenPath(t, path)
		var v int
		var mode, sync string
		if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != SchemaVersion() {
			t.Errorf("user_version %d, want %d", v, SchemaVersion())
		}
		if err := s.r.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q (%v), want wal", mode, err)
		}
		for _, db := range []*sql.DB{s.w, s.r} {
			var fk, busy int
			if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != "1" {
				t.Errorf("synchronous %q (%v), want 1 (NORMAL)", sync, err)
			}
			if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
				t.Errorf("foreign_keys %d (%v), want 1", fk, err)
			}
			if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy != int(DefaultBusyTimeout.Milliseconds()) {
				t.Errorf("busy_timeout %d (%v)", busy, err)
			}
		}
		if _, err := s.r.ExecContext(ctx, "DELETE FROM runs"); err == nil {
			t.Error("a reader connection could write")
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		path := PathIn(t.TempDir())
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, testConfig())
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpenPath(t, path)
		runs, err := s.ListRuns(ctx)
		if err != nil || len(runs) != 1 {
			t.Fatalf("after reopening: %d runs, %v", len(runs), err)
		}
	})
	t.Run("NewerSchema", func(t *testing.T) {
		path := PathIn(t.TempDir())
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = Open(ctx, path)
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer bertbench") {
			t.Errorf("Open of a schema-99 store: %v, want ErrNewerSchema", err)
		}
	})
	t.Run("OddPath", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a ?b#c%d")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s := mustOpenPath(t, PathIn(dir))
		mustCreate(t, s, testConfig())
		if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
			t.Errorf("the store is not where it was asked to be: %v", err)
		}
	})
	t.Run("NotADatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("not sqlite\n", 100)), 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(ctx, path); err == nil {
			s.Close()
			t.Fatal("opened a text file as a store")
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("error does not name the file: %v", err)
		}
	})
	t.Run("Folder", func(t *testing.T) {
		if s, err := Open(ctx, t.TempDir()); err == nil {
			s.Close()
			t.Fatal("opened a folder as a store")
		}
	})
	t.Run("OpenExisting", func(t *testing.T) {
		dir := t.TempDir()
		for _, p := range []string{PathIn(dir), dir} {
			if _, err := OpenExisting(ctx, p); !errors.Is(err, ErrNoStore) {
				t.Fatalf("missing store %s: %v, want ErrNoStore", p, err)
			}
		}
		if _, err := os.Stat(PathIn(dir)); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("OpenExisting created a store")
		}
		mustOpenPath(t, PathIn(dir))
		s, err := OpenExisting(ctx, dir) // a folder: its results.db
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
}

func TestStore_CreateResume(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if r.ID() != "r1" {
		t.Errorf("id %q", r.ID())
	}
	if _, err := s.CreateRun(ctx, testConfig()); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("second CreateRun with the same id: %v", err)
	}
	auto := testConfig()
	auto.ID = ""
	r2 := mustCreate(t, s, auto)
	if len(r2.ID()) != len("20060102-150405-abcd") {
		t.Errorf("generated id %q", r2.ID())
	}

	t.Run("Same", func(t *testing.T) {
		rr, err := s.ResumeRun(ctx, "r1", testConfig())
		if err != nil {
			t.Fatal(err)
		}
		if rr.id != r.id || rr.session == r.session || !reflect.DeepEqual(rr.vars, r.vars) {
			t.Errorf("resumed run %+v, created %+v", rr, r)
		}
	})
	t.Run("Latest", func(t *testing.T) {
		rr, err := s.ResumeRun(ctx, "", testConfig())
		if err != nil || rr.ID() != r2.ID() {
			t.Fatalf("resume latest: %v, %v", rr, err)
		}
	})
	t.Run("ConfigChanged", func(t *testing.T) {
		cfg := testConfig()
		cfg.ConfigHash = "hash-2"
		_, err := s.ResumeRun(ctx, "r1", cfg)
		if !errors.Is(err, ErrConfigChanged) {
			t.Fatalf("%v, want ErrConfigChanged", err)
		}
		for _, want := range []string{"r1", "hash-1", "hash-2", "runs show r1", "without --resume"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("VariationChanged", func(t *testing.T) {
		cfg := testConfig()
		cfg.Variations[1].Params.Temperature = ptr(0.7)
		if _, err := s.ResumeRun(ctx, "r1", cfg); !errors.Is(err, ErrConfigChanged) || !strings.Contains(err.Error(), `"b"`) {
			t.Errorf("%v, want ErrConfigChanged naming variation b", err)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if _, err := s.ResumeRun(ctx, "nope", testConfig()); !errors.Is(err, ErrRunNotFound) {
			t.Errorf("%v, want ErrRunNotFound", err)
		}
		if _, err := MustOpen(t).ResumeRun(ctx, "", testConfig()); !errors.Is(err, ErrRunNotFound) {
			t.Errorf("empty store: %v, want ErrRunNotFound", err)
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		for name, edit := range map[string]func(*RunConfig){
			"no hash":         func(c *RunConfig) { c.ConfigHash = "" },
			"no variations":   func(c *RunConfig) { c.Variations = nil },
			"duplicate names": func(c *RunConfig) { c.Variations[1].Name = "a" },
			"bad id":          func(c *RunConfig) { c.ID = "a/b" },
			"negative repeat": func(c *RunConfig) { c.Variations[0].Repeats = -1 },
		} {
			cfg := testConfig()
			cfg.ID = "bad"
			edit(&cfg)
			if _, err := s.CreateRun(ctx, cfg); err == nil {
				t.Errorf("%s: CreateRun accepted it", name)
			}
		}
	})
	t.Run("Finish", func(t *testing.T) {
		if err := r.Finish(ctx, StatusDone); err != nil {
			t.Fatal(err)
		}
		d, err := s.RunDetail(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != StatusDone || d.EndedAt.IsZero() || len(d.Sessions) != 2 || d.Sessions[0].EndedAt.IsZero() || !d.Sessions[1].EndedAt.IsZero() {
			t.Errorf("after Finish: %+v", d)
		}
	})
}

func TestRun_PutGeneration(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if err := r.PutItems(ctx, testItems(3)); err != nil {
		t.Fatal(err)
	}
	k := Key{Variation: "b", Item: "item-1", Repeat: 1}
	g := testGeneration(k)
	g.FinishedAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	t.Run("RoundTrip", func(t *testing.T) {
		if !mustPut(t, r, g) {
			t.Fatal("not stored")
		}
		rows := collect(t, s.Rows(ctx, "r1"))
		if len(rows) != 1 {
			t.Fatalf("%d rows", len(rows))
		}
		want := Row{Run: "r1", Key: k, Source: "sentence 1", References: []string{"句子 1"}, Session: r.session,
			RequestKey: g.RequestKey, Result: g.Result, Check: outputcheck.Check(g.Result, "zh"), FinishedAt: g.FinishedAt}
		want.Result.Runner = "openai:gpt-3.5-turbo" // the variation's
		got := rows[0]
		if math.IsNaN(got.Check.Share) != math.IsNaN(want.Check.Share) {
			t.Errorf("share %v, want %v", got.Check.Share, want.Check.Share)
		}
		got.Check.Share, want.Check.Share = 0, 0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("Again", func(t *testing.T) {
		again := g
		again.Result.Output = "another output"
		if mustPut(t, r, again) {
			t.Error("a second result for a finished key was stored")
		}
		rows := collect(t, s.Rows(ctx, "r1"))
		if len(rows) != 1 || rows[0].Result.Output != g.Result.Output {
			t.Errorf("after putting it again: %d rows, output %q", len(rows), rows[0].Result.Output)
		}
		failed := g
		failed.Result = runners.Result{Error: "HTTP 500", Attempts: 3}
		if mustPut(t, r, failed) {
			t.Error("a failure replaced a success")
		}
	})
	t.Run("FailedThenSucceeded", func(t *testing.T) {
		k := Key{Variation: "a", Item: "item-2"}
		failed := Generation{Key: k, Result: runners.Result{Error: "context window full", Attempts: 1}}
		for range 2 {
			if !mustPut(t, r, failed) {
				t.Fatal("a failure not stored")
			}
		}
		d, err := r.Done(ctx)
		if err != nil || d.State(k) != Failed || d.Failed() != 1 {
			t.Fatalf("done: %v %v", d, err)
		}
		if !mustPut(t, r, testGeneration(k)) {
			t.Fatal("a success did not replace a failure")
		}
		d, _ = r.Done(ctx)
		if d.State(k) != Finished || d.Failed() != 0 || d.Finished() != 2 {
			t.Errorf("after the retry: state %v, %d failed, %d finished", d.State(k), d.Failed(), d.Finished())
		}
		for row, err := range s.Rows(ctx, "r1") {
			if err != nil {
				t.Fatal(err)
			}
			if row.Key == k && (row.PriorErrors != 2 || row.Result.Error != "" || row.Check.Has(outputcheck.Error)) {
				t.Errorf("replaced row: %+v", row)
			}
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for name, k := range map[string]Key{
			"unknown item":      {Variation: "a", Item: "item-9"},
			"unknown variation": {Variation: "z", Item: "item-0"},
			"repeat too large":  {Variation: "a", Item: "item-0", Repeat: 1},
			"negative repeat":   {Variation: "b", Item: "item-0", Repeat: -1},
		} {
			_, err := r.PutGeneration(ctx, testGeneration(k))
			if err == nil {
				t.Errorf("%s: stored", name)
			} else if name == "unknown item" && !errors.Is(err, ErrUnknown) {
				t.Errorf("%s: %v, want ErrUnknown", name, err)
			}
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		stored, err := r.PutGeneration(cctx, testGeneration(Key{Variation: "a", Item: "item-0"}))
		if err != nil || !stored {
			t.Errorf("a finished call was not stored after Ctrl-C: %v, %v", stored, err)
		}
	})
}

func TestRun_PutItems(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	items := testItems(2*batchSize + 7)
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := r.PutItems(ctx, items); err != nil { // resuming puts them again
		t.Fatal(err)
	}
	d, err := s.RunDetail(ctx, "r1")
	if err != nil || d.Items != len(items) || d.Expected != 3*len(items) {
		t.Fatalf("detail: %+v, %v", d, err)
	}
	changed := slices.Clone(items[:3])
	changed[2].References = []string{"another"}
	if err := r.PutItems(ctx, changed); !errors.Is(err, ErrInputChanged) || !strings.Contains(err.Error(), "item-2") {
		t.Errorf("changed references: %v, want ErrInputChanged naming item-2", err)
	}
	noRefs := []Item{{ID: "x", Source: "s"}}
	if err := r.PutItems(ctx, noRefs); err != nil {
		t.Fatal(err)
	}
	if err := r.PutItems(ctx, noRefs); err != nil {
		t.Errorf("items without references, put twice: %v", err)
	}
}

func TestRun_Scores(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if err := r.PutItems(ctx, testItems(4)); err != nil {
		t.Fatal(err)
	}
	keys := []Key{{"a", "item-0", 0}, {"a", "item-1", 0}, {"b", "item-0", 1}}
	for _, k := range keys {
		mustPut(t, r, testGeneration(k))
	}
	failedKey := Key{"a", "item-3", 0}
	mustPut(t, r, Generation{Key: failedKey, Result: runners.Result{Error: "boom"}})

	const hash, config = "sc-1", `{"model":"tiny","idf":true}`
	if _, err := r.PutScores(ctx, hash, nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("scores before AddScoring: %v", err)
	}
	if err := r.AddScoring(ctx, hash, config); err != nil {
		t.Fatal(err)
	}
	if err := r.AddScoring(ctx, hash, config); err != nil {
		t.Errorf("adding a scoring twice: %v", err)
	}
	if err := r.AddScoring(ctx, hash, `{"model":"other"}`); !errors.Is(err, ErrInputChanged) {
		t.Errorf("another config under the hash: %v", err)
	}
	if err := r.AddScoring(ctx, "sc-2", "not json"); err == nil {
		t.Error("a scoring config that is not JSON was accepted")
	}

	pairs := collect(t, r.ToScore(ctx, hash))
	if len(pairs) != 3 {
		t.Fatalf("%d pairs to score, want 3 (the failed generation is not scored)", len(pairs))
	}
	if p := pairs[0]; p.Key != keys[0] || p.Candidate != testGeneration(keys[0]).Result.Output || !slices.Equal(p.References, []string{"句子 0"}) {
		t.Errorf("pair %+v", p)
	}

	nan := math.NaN()
	scores := []Score{
		{Key: keys[0], Raw: PRF{0.9, 0.8, 0.85}, Rescaled: &PRF{0.5, 0.4, 0.45}},
		{Key: keys[1], Raw: PRF{nan, 0.5, nan}},
	}
	n, err := r.PutScores(ctx, hash, scores)
	if err != nil || n != 2 {
		t.Fatalf("PutScores: %d, %v", n, err)
	}
	if n, err := r.PutScores(ctx, hash, scores); err != nil || n != 0 {
		t.Errorf("PutScores again: %d new, %v", n, err)
	}
	if left := collect(t, r.ToScore(ctx, hash)); len(left) != 1 || left[0].Key != keys[2] {
		t.Errorf("left to score: %+v", left)
	}
	if _, err := r.PutScores(ctx, hash, []Score{{Key: failedKey}}); !errors.Is(err, ErrUnknown) {
		t.Errorf("a score for a failed generation: %v, want ErrUnknown", err)
	}

	t.Run("NaNIsNULL", func(t *testing.T) {
		var nulls, rescaledNulls int
		if err := s.r.QueryRowContext(ctx, `SELECT (p IS NULL) + (r IS NULL) + (f IS NULL),
			(p_rescaled IS NULL) + (r_rescaled IS NULL) + (f_rescaled IS NULL)
			FROM scores s JOIN generations g ON g.id = s.generation WHERE g.item = 'item-1'`).Scan(&nulls, &rescaledNulls); err != nil {
			t.Fatal(err)
		}
		if nulls != 2 || rescaledNulls != 3 {
			t.Errorf("%d NULL raw components (want 2), %d NULL rescaled (want 3)", nulls, rescaledNulls)
		}
		byKey := map[Key]Row{}
		for _, row := range collect(t, s.Rows(ctx, "r1")) {
			byKey[row.Key] = row
		}
		got := byKey[keys[1]].Scores
		if len(got) != 1 || !math.IsNaN(got[0].Raw.P) || got[0].Raw.R != 0.5 || !math.IsNaN(got[0].Raw.F) || got[0].Rescaled != nil {
			t.Errorf("read back %+v, want P and F NaN, R 0.5, no rescaled", got)
		}
		if got := byKey[keys[0]].Scores; len(got) != 1 || got[0].Raw != scores[0].Raw || *got[0].Rescaled != *scores[0].Rescaled || got[0].Scoring != hash {
			t.Errorf("read back %+v, want %+v", got, scores[0])
		}
		if got := byKey[keys[2]].Scores; got != nil {
			t.Errorf("unscored generation has scores %+v", got)
		}
	})
	t.Run("TwoScorings", func(t *testing.T) {
		if err := r.AddScoring(ctx, "sc-2", `{"model":"big"}`); err != nil {
			t.Fatal(err)
		}
		if _, err := r.PutScores(ctx, "sc-2", []Score{{Key: keys[0], Raw: PRF{0.1, 0.2, 0.3}}}); err != nil {
			t.Fatal(err)
		}
		for _, row := range collect(t, s.Rows(ctx, "r1")) {
			if row.Key == keys[0] && (len(row.Scores) != 2 || row.Scores[0].Scoring != "sc-1" || row.Scores[1].Scoring != "sc-2") {
				t.Errorf("scores of %s: %+v", row.Key, row.Scores)
			}
		}
	})
}

func TestStore_RunDetail(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if err := r.PutItems(ctx, testItems(3)); err != nil {
		t.Fatal(err)
	}
	put := func(k Key, res runners.Result) {
		mustPut(t, r, Generation{Key: k, Result: res})
	}
	put(Key{"a", "item-0", 0}, runners.Result{Output: "你好", Attempts: 1, PromptTokens: 10, CompletionTokens: 5, CostUSD: ptr(0.5)})
	put(Key{"a", "item-1", 0}, runners.Result{Output: "Hello", Attempts: 1, PromptTokens: 7, CompletionTokens: 3})
	put(Key{"a", "item-2", 0}, runners.Result{Output: "Hello", Cached: true, PromptTokens: 7})
	put(Key{"b", "item-0", 0}, runners.Result{Error: "HTTP 500", Attempts: 3})
	put(Key{"b", "item-0", 1}, runners.Result{Output: " ", Attempts: 1, DoneReason: "length", TruncatedInput: true})

	d, err := s.RunDetail(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "r1" || d.Config != testConfig().Config || d.Generations != 5 || d.Failed != 1 || d.Expected != 9 || d.Status != StatusRunning {
		t.Errorf("summary %+v", d.RunSummary)
	}
	a, b := d.Variations[0], d.Variations[1]
	if a.Name != "a" || a.Generations != 3 || a.Live != 2 || a.Cached != 1 || a.PromptTokens != 17 || a.CompletionTokens != 8 || a.CostUSD != 0.5 || a.Priced != 1 {
		t.Errorf("variation a: %+v", a)
	}
	if want := map[outputcheck.Flag]int{outputcheck.WrongLanguage: 2}; !reflect.DeepEqual(a.Flags, want) {
		t.Errorf("flags of a: %v, want %v", a.Flags, want)
	}
	want := map[outputcheck.Flag]int{outputcheck.Error: 1, outputcheck.Empty: 1, outputcheck.TruncatedInput: 1, outputcheck.TruncatedOutput: 1}
	if b.Name != "b" || b.Generations != 2 || b.Failed != 1 || b.Live != 1 || b.Repeats != 2 || !reflect.DeepEqual(b.Flags, want) {
		t.Errorf("variation b: %+v, flags want %v", b, want)
	}
	if _, err := s.RunDetail(ctx, "nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// TestRun_Resume: a resumed run skips what is finished, stores the rest in
// its own session, and putting everything again adds no row.
func TestRun_Resume(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	items := testItems(5)
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	var keys []Key
	for _, it := range items {
		keys = append(keys, Key{"a", it.ID, 0}, Key{"b", it.ID, 0}, Key{"b", it.ID, 1})
	}
	for _, k := range keys[:7] {
		mustPut(t, r, testGeneration(k))
	}
	mustPut(t, r, Generation{Key: keys[7], Result: runners.Result{Error: "HTTP 503"}})

	r2, err := s.ResumeRun(ctx, r.ID(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	done, err := r2.Done(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if done.Finished() != 7 || done.Failed() != 1 {
		t.Fatalf("done: %d finished, %d failed", done.Finished(), done.Failed())
	}
	calls := 0
	for _, k := range keys {
		if done.State(k) == Finished {
			continue
		}
		calls++
		if !mustPut(t, r2, testGeneration(k)) {
			t.Errorf("%s not stored on resume", k)
		}
	}
	if calls != len(keys)-7 {
		t.Errorf("%d calls on resume, want %d", calls, len(keys)-7)
	}
	for _, k := range keys {
		if mustPut(t, r2, testGeneration(k)) {
			t.Errorf("%s stored a second time", k)
		}
	}
	rows := collect(t, s.Rows(ctx, r.ID()))
	if len(rows) != len(keys) {
		t.Fatalf("%d rows, want %d", len(rows), len(keys))
	}
	for _, row := range rows {
		want := r.session
		if slices.Index(keys, row.Key) >= 7 { // rows come by variation: map back to the put order
			want = r2.session
		}
		if row.Session != want {
			t.Errorf("%s stored by session %d, want %d", row.Key, row.Session, want)
		}
	}
}

// TestRun_FlagsByTarget: the store checks every output against its
// variation's target language.
func TestRun_FlagsByTarget(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	cfg := testConfig()
	cfg.Variations[0].TargetLang = "en"
	cfg.Variations[1].TargetLang = ""
	r := mustCreate(t, s, cfg)
	if err := r.PutItems(ctx, testItems(1)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{{"a", "item-0", 0}, {"b", "item-0", 0}} { // English target, none
		g := testGeneration(k)
		g.Result.Output = "你好世界"
		mustPut(t, r, g)
	}
	rows := collect(t, s.Rows(ctx, "r1"))
	if !rows[0].Check.Has(outputcheck.WrongLanguage) || rows[0].Check.Script != "Latin" {
		t.Errorf("English target: %#v", rows[0].Check)
	}
	if rows[1].Check.Flags != nil || rows[1].Check.Script != "" || !math.IsNaN(rows[1].Check.Share) {
		t.Errorf("no target: %#v", rows[1].Check)
	}
}

// TestStore_OpenRun: a stored run opened to add scores computed elsewhere
// takes a scoring and its scores, in no new session and with its status
// unchanged; a missing run is ErrRunNotFound.
func TestStore_OpenRun(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if err := r.PutItems(ctx, testItems(2)); err != nil {
		t.Fatal(err)
	}
	k := Key{"a", "item-0", 0}
	mustPut(t, r, testGeneration(k))
	if err := r.Finish(ctx, StatusDone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenRun(ctx, "nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("OpenRun of a missing run: %v", err)
	}
	o, err := s.OpenRun(ctx, "r1")
	if err != nil || o.ID() != "r1" || len(o.Variations()) != 2 {
		t.Fatalf("OpenRun: %v, %v", o, err)
	}
	if err := o.AddScoring(ctx, "sc-merged", `{"model":"m"}`); err != nil {
		t.Fatal(err)
	}
	if n, err := o.PutScores(ctx, "sc-merged", []Score{{Key: k, Raw: PRF{0.5, 0.25, 0.125}}}); err != nil || n != 1 {
		t.Fatalf("PutScores: %d, %v", n, err)
	}
	d, err := s.RunDetail(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sessions) != 1 || d.Status != StatusDone || len(d.Scorings) != 1 || d.Scorings[0].Scores != 1 {
		t.Errorf("after OpenRun: %d sessions, status %s, scorings %+v", len(d.Sessions), d.Status, d.Scorings)
	}
}
