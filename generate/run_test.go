package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
)

func ptr[T any](v T) *T { return &v }

// script answers by seed: every rejection reason once among the first 15
// requests, accepted pairs at seeds 0, 1, 12 and 14 and on, and a refusal
// (parse) after the distinct sentences run out.
func script(seed int) answer {
	long := strings.Repeat("This sentence goes on and on. ", 10)
	switch seed {
	case 0:
		return pair("The library opens at nine every morning.", "图书馆每天早上九点开门。")
	case 1:
		return answer{text: "Sure! Here is one:\n```json\n{\"source\": \"My neighbour plays the violin after dinner.\", \"reference\": \"我的邻居晚饭后拉小提琴。\"}\n```\nEnjoy."}
	case 2:
		return answer{text: "I cannot help with that."}
	case 3:
		return answer{text: `{"source": "The river`, truncated: true}
	case 4:
		return pair("Hi.", "嗨。")
	case 5:
		return pair(long, "很长。")
	case 6:
		return pair("The weather is lovely in the park today.", "The weather is lovely in the park today.")
	case 7:
		return pair("今天公园里的天气很好。", "今天公园里的天气很好。")
	case 8:
		return pair("the library opens at NINE every morning", "图书馆每天九点开门。")
	case 9:
		return pair("The library opens at nine every single morning.", "图书馆每天早上九点整开门。")
	case 10:
		return answer{status: 400}
	case 11:
		return pair("A short sentence with a long reference.", strings.Repeat("很长的译文。", 30))
	case 12:
		return pair("My grandmother grows tomatoes on her balcony.", "我奶奶在阳台上种西红柿。")
	case 13:
		return pair("A train leaves the station at dawn.", "")
	}
	distinct := []answer{
		pair("Fresh bread smells best before sunrise.", "新鲜面包在日出前闻起来最香。"),
		pair("Our team finally fixed the leaking roof.", "我们的团队终于修好了漏水的屋顶。"),
		pair("Children were flying kites on the hill.", "孩子们在山上放风筝。"),
		pair("She keeps every letter her brother sent.", "她保留着哥哥寄来的每一封信。"),
		pair("The museum closes early on public holidays.", "博物馆在公共假日提前关门。"),
		pair("Please turn off the lights when you leave.", "离开时请关灯。"),
	}
	if i := seed - 14; i >= 0 && i < len(distinct) {
		return distinct[i]
	}
	return answer{text: "No."}
}

// testOptions are options for the scripted teacher.
func testOptions(teacher runners.Runner, out string, count int) Options {
	o := DefaultOptions()
	o.Teacher, o.Output, o.Count = teacher, out, count
	o.Source = Bounds{MinChars: 5, MaxChars: 200}
	o.Reference = Bounds{MinChars: 2, MaxChars: 100}
	o.Params.PresencePenalty = ptr(0.0)
	return o
}

// teacherFile reads a file srv's teacher wrote, with the server's URL,
// which each test server has its own of, replaced by TEACHER.
func teacherFile(t *testing.T, path string, srv *scriptedTeacher) string {
	t.Helper()
	return strings.ReplaceAll(readFile(t, path), srv.URL, "TEACHER")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAccounting checks what holds for every report: every answer judged
// is accepted or rejected, and every call handed back is judged or unused.
func checkAccounting(t *testing.T, rep Report) {
	t.Helper()
	if rep.Judged != rep.Accepted+rep.RejectedTotal() {
		t.Errorf("judged %d != accepted %d + rejected %d", rep.Judged, rep.Accepted, rep.RejectedTotal())
	}
	if calls := rep.Calls.Live + rep.Calls.Cached + rep.Calls.Replayed + rep.Calls.Failed; calls != rep.Judged+rep.Unused {
		t.Errorf("calls %d (%s) != judged %d + unused %d", calls, &rep.Calls, rep.Judged, rep.Unused)
	}
}

// TestRun_RejectionsByReason: against a teacher scripted with real JSON
// answers, every answer is judged for the reason it was written for, the
// accepted pairs are written in request order with how they were made, and
// dataset.Open reads the file.
func TestRun_RejectionsByReason(t *testing.T) {
	srv := newScriptedTeacher(t, script)
	dir := t.TempDir()
	out := filepath.Join(dir, "pairs.jsonl")
	o := testOptions(srv.runner(t, filepath.Join(dir, "cache"), 1), out, 4)
	o.Topics = []string{"travel", "food"}
	var progress []int
	o.Progress = func(r Report) { progress = append(progress, r.Judged) }
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v (report %s)", err, rep)
	}
	want := map[Reason]int{
		ReasonParse: 2, ReasonTruncated: 1, ReasonSourceTooShort: 1, ReasonSourceTooLong: 1,
		ReasonReferenceLanguage: 1, ReasonSourceLanguage: 1, ReasonDuplicate: 1, ReasonNearDuplicate: 1,
		ReasonCallError: 1, ReasonReferenceTooLong: 1,
	}
	if !reflect.DeepEqual(rep.Rejected, want) {
		t.Errorf("rejected %s, want %v", rep.RejectedString(), want)
	}
	if rep.Accepted != 4 || rep.Judged != 15 || rep.NextRequest != 15 || !rep.Done() || rep.Resumed != 0 {
		t.Errorf("report %+v", rep)
	}
	checkAccounting(t, rep)
	if len(progress) != 15 || progress[14] != 15 {
		t.Errorf("progress after each answer: %v", progress)
	}

	items, err := dataset.ReadAll(out, dataset.Options{})
	if err != nil {
		t.Fatalf("dataset.ReadAll: %v", err)
	}
	var ids, sources []string
	for _, it := range items {
		ids, sources = append(ids, it.ID), append(sources, it.Source)
		if len(it.References) != 1 || it.References[0] == "" {
			t.Errorf("item %s: references %q", it.ID, it.References)
		}
	}
	if want := []string{"gen-0", "gen-1", "gen-12", "gen-14"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	if sources[1] != "My neighbour plays the violin after dinner." {
		t.Errorf("the fenced answer gave %q", sources[1])
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, out)), "\n")
	var l Line
	if err := jsonUnmarshal(lines[2], &l); err != nil {
		t.Fatal(err)
	}
	if l.Teacher != o.Teacher.Spec() || l.Topic != "travel" || l.Request != 12 || *l.Params.Seed != 12 ||
		*l.Params.Temperature != DefaultTemperature || *l.Params.PresencePenalty != 0 || !strings.Contains(l.Prompt, "about travel") ||
		!strings.Contains(l.Prompt, "English sentence") || !strings.Contains(l.Prompt, "into Chinese") || l.Checks == "" {
		t.Errorf("line 3 records %+v", l)
	}
}

// TestRun_RequestsOnTheWire: each request carries its own seed, the
// parameters (presence penalty 0 too) and the hints, combined round-robin.
func TestRun_RequestsOnTheWire(t *testing.T) {
	srv := newScriptedTeacher(t, func(int) answer { return answer{text: "No."} })
	dir := t.TempDir()
	o := testOptions(srv.runner(t, "", 1), filepath.Join(dir, "out.jsonl"), 1)
	o.Topics, o.Styles = []string{"sport", "music"}, []string{"formal", "casual", "poetic"}
	o.Params.Seed = ptr(100)
	o.MaxAttempts = 6
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrTargetNotReached) {
		t.Fatalf("Run: %v", err)
	}
	want := [][2]string{{"sport", "formal"}, {"music", "formal"}, {"sport", "casual"}, {"music", "casual"}, {"sport", "poetic"}, {"music", "poetic"}}
	bodies := srv.bodies
	if len(bodies) != 6 {
		t.Fatalf("%d calls, want 6", len(bodies))
	}
	for i, b := range bodies {
		if b["seed"] != float64(100+i) || b["presence_penalty"] != 0.0 || b["temperature"] != 1.0 || b["max_tokens"] != float64(DefaultMaxTokens) {
			t.Errorf("request %d: %v", i, b)
		}
		msgs := b["messages"].([]any)
		text := msgs[len(msgs)-1].(map[string]any)["content"].(string)
		if !strings.Contains(text, "about "+want[i][0]) || !strings.Contains(text, "in a "+want[i][1]+" style") {
			t.Errorf("request %d prompt %q, want hints %v", i, text, want[i])
		}
	}
}

// TestRun_OrderIndependentOfConcurrency: with calls finishing out of
// order, the file is the one a single worker writes.
func TestRun_OrderIndependentOfConcurrency(t *testing.T) {
	slow := func(seed int) answer {
		a := script(seed)
		if seed%3 == 0 {
			a.delay = 40 * time.Millisecond
		}
		return a
	}
	var files []string
	for _, conc := range []int{1, 4} {
		srv := newScriptedTeacher(t, slow)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		o := testOptions(srv.runner(t, filepath.Join(dir, "cache"), conc), out, 6)
		o.Concurrency = conc
		rep, err := Run(context.Background(), o)
		if err != nil {
			t.Fatalf("concurrency %d: %v", conc, err)
		}
		checkAccounting(t, rep)
		files = append(files, teacherFile(t, out, srv))
		t.Logf("concurrency %d: %s", conc, rep)
	}
	if files[0] != files[1] {
		t.Errorf("concurrency changed the file:\n%s\nvs\n%s", files[0], files[1])
	}
}

// TestRun_Resume: a run continued on its file, after a shorter run, after
// an interruption, or after a crash that tore the last line, writes the
// file one uninterrupted run writes, and no answer is paid for twice.
func TestRun_Resume(t *testing.T) {
	ref := newScriptedTeacher(t, script)
	refDir := t.TempDir()
	refOut := filepath.Join(refDir, "out.jsonl")
	if _, err := Run(context.Background(), testOptions(ref.runner(t, filepath.Join(refDir, "cache"), 1), refOut, 6)); err != nil {
		t.Fatal(err)
	}
	want := teacherFile(t, refOut, ref)

	// onceEach fails for a seed asked twice: the cache must serve repeats
	// (call errors are not cached, and may be asked again).
	onceEach := func(t *testing.T, srv *scriptedTeacher) {
		t.Helper()
		calls, _ := srv.callsFor()
		for seed, n := range calls {
			if n > 1 && script(seed).status == 0 {
				t.Errorf("seed %d asked %d times", seed, n)
			}
		}
	}

	t.Run("after a shorter run", func(t *testing.T) {
		srv := newScriptedTeacher(t, script)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		teacher := srv.runner(t, filepath.Join(dir, "cache"), 1)
		if _, err := Run(context.Background(), testOptions(teacher, out, 2)); err != nil {
			t.Fatal(err)
		}
		rep, err := Run(context.Background(), testOptions(teacher, out, 6))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Resumed != 2 || rep.Accepted != 4 {
			t.Errorf("report %s", rep)
		}
		checkAccounting(t, rep)
		if got := teacherFile(t, out, srv); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
		onceEach(t, srv)
		// Done: a third run asks nothing.
		_, before := srv.callsFor()
		rep, err = Run(context.Background(), testOptions(teacher, out, 6))
		if _, after := srv.callsFor(); err != nil || after != before || rep.Resumed != 6 || rep.Judged != 0 {
			t.Errorf("a finished file: %v, %d more calls, report %s", err, after-before, rep)
		}
	})

	t.Run("after an interruption", func(t *testing.T) {
		srv := newScriptedTeacher(t, script)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		teacher := srv.runner(t, filepath.Join(dir, "cache"), 3)
		ctx, cancel := context.WithCancel(context.Background())
		o := testOptions(teacher, out, 6)
		o.Progress = func(r Report) {
			if r.Accepted == 3 {
				cancel()
			}
		}
		rep, err := Run(ctx, o)
		if !errors.Is(err, context.Canceled) || rep.Accepted < 3 || rep.Done() {
			t.Fatalf("interrupted run: %v, report %s", err, rep)
		}
		// Calls cut short by the interruption are asked again; answers
		// that came back (those judged, at least) never are.
		judged := rep.NextRequest
		first, _ := srv.callsFor()
		rep, err = Run(context.Background(), testOptions(teacher, out, 6))
		if err != nil {
			t.Fatal(err)
		}
		checkAccounting(t, rep)
		if got := teacherFile(t, out, srv); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
		second, _ := srv.callsFor()
		for seed := range judged {
			if second[seed] != first[seed] && script(seed).status == 0 {
				t.Errorf("seed %d, judged before the interruption, asked again", seed)
			}
		}
	})

	t.Run("after a torn last line", func(t *testing.T) {
		srv := newScriptedTeacher(t, script)
		dir := t.TempDir()
		out := filepath.Join(dir, "out.jsonl")
		teacher := srv.runner(t, filepath.Join(dir, "cache"), 1)
		if _, err := Run(context.Background(), testOptions(teacher, out, 6)); err != nil {
			t.Fatal(err)
		}
		whole := readFile(t, out)
		cut := strings.LastIndexByte(whole[:len(whole)-1], '\n') + 20 // into the last line
		if err := os.WriteFile(out, []byte(whole[:cut]), 0o644); err != nil {
			t.Fatal(err)
		}
		_, before := srv.callsFor()
		rep, err := Run(context.Background(), testOptions(teacher, out, 6))
		if err != nil {
			t.Fatal(err)
		}
		if _, after := srv.callsFor(); !rep.DroppedTornLine || rep.Resumed != 5 || rep.Accepted != 1 || after != before || rep.Calls.Live != 0 {
			t.Errorf("report %s, torn %v, %d more calls", rep, rep.DroppedTornLine, after-before)
		}
		if got := teacherFile(t, out, srv); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestRun_ResumeRefused: a file that other options wrote, or that is not
// a generate file at all, is refused, named with its line and the fix,
// and left as it was.
func TestRun_ResumeRefused(t *testing.T) {
	srv := newScriptedTeacher(t, script)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	teacher := srv.runner(t, filepath.Join(dir, "cache"), 1)
	if _, err := Run(context.Background(), testOptions(teacher, out, 2)); err != nil {
		t.Fatal(err)
	}
	other := newScriptedTeacher(t, script)
	foreign := filepath.Join(dir, "foreign.jsonl")
	for _, tc := range []struct {
		name   string
		file   string
		body   string // written to file first when not ""
		change func(o *Options)
		want   string
	}{
		{"another teacher", out, "", func(o *Options) { o.Teacher = other.runner(t, "", 1) }, "out.jsonl:1: written by teacher openai-compatible:teacher@" + srv.URL},
		{"other checks", out, "", func(o *Options) { o.NearDuplicate = 0.9 }, `out.jsonl:1: written with the checks "en > zh; source chars 5..200; reference chars 2..100; script share 0.5; near-duplicate 0.8; separator \"|||\""`},
		{"another temperature", out, "", func(o *Options) { o.Params.Temperature = ptr(0.7) }, `out.jsonl:1: request 0 was sent the parameters {"temperature":1,`},
		{"other topics", out, "", func(o *Options) { o.Topics = []string{"space"} }, "request 0 was sent another prompt"},
		{"another instruction", out, "", func(o *Options) { o.Instruction = "Give a pair." }, "request 0 was sent another prompt"},
		{"a dataset", foreign, `{"id": 1, "source": "x"}` + "\n", nil, `foreign.jsonl:1: not a line generate writes (json: cannot unmarshal number`},
		{"a torn line of another file", foreign, `{"id": 1, "source": "x"}`, nil, "foreign.jsonl:1: the last line is not complete (no newline) and not a generate line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body != "" {
				if err := os.WriteFile(tc.file, []byte(tc.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := readFile(t, tc.file)
			o := testOptions(teacher, tc.file, 4)
			if tc.change != nil {
				tc.change(&o)
			}
			_, err := Run(context.Background(), o)
			var re *ResumeError
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "to start anew, give another output file") {
				t.Errorf("error %v, want a ResumeError with %q", err, tc.want)
			}
			if after := readFile(t, tc.file); after != before {
				t.Errorf("the file was changed:\n%s", after)
			}
		})
	}
}

// TestRun_GivesUp: answers that never pass end the run after MaxAttempts
// requests, saying so; running it again judges the same answers from the
// cache.
func TestRun_GivesUp(t *testing.T) {
	srv := newScriptedTeacher(t, func(int) answer { return answer{text: "No."} })
	dir := t.TempDir()
	o := testOptions(srv.runner(t, filepath.Join(dir, "cache"), 1), filepath.Join(dir, "out.jsonl"), 3)
	o.MaxAttempts = 5
	rep, err := Run(context.Background(), o)
	if !errors.Is(err, ErrTargetNotReached) || !strings.Contains(err.Error(), "0 of 3 items after 5 requests") || !strings.Contains(err.Error(), "parse 5") {
		t.Fatalf("Run: %v", err)
	}
	if rep.Judged != 5 || rep.Rejected[ReasonParse] != 5 || rep.NextRequest != 5 || rep.Calls.Live != 5 {
		t.Errorf("report %s", rep)
	}
	rep, err = Run(context.Background(), o)
	if !errors.Is(err, ErrTargetNotReached) || rep.Calls.Live != 0 || rep.Calls.Cached != 5 {
		t.Errorf("again: %v, report %s", err, rep)
	}
	if _, n := srv.callsFor(); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
}

// TestRun_Stops: a teacher that cannot be reached fails its preflight
// before the file is touched; one whose model goes away mid-run stops the
// run at that call, keeping what was accepted.
func TestRun_Stops(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		srv := newScriptedTeacher(t, script)
		srv.Close()
		o := testOptions(srv.runner(t, "", 2), filepath.Join(t.TempDir(), "out.jsonl"), 3)
		rep, err := Run(context.Background(), o)
		if !errors.Is(err, ErrPreflight) || !errors.Is(err, runners.ErrUnreachable) || rep.Judged != 0 {
			t.Errorf("Run: %v, report %s", err, rep)
		}
		if _, err := os.Stat(o.Output); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the output file was created: %v", err)
		}
	})
	t.Run("model gone", func(t *testing.T) {
		srv := newScriptedTeacher(t, func(seed int) answer {
			if seed >= 2 {
				return answer{status: 404}
			}
			return script(seed)
		})
		o := testOptions(srv.runner(t, "", 1), filepath.Join(t.TempDir(), "out.jsonl"), 3)
		rep, err := Run(context.Background(), o)
		var stop *batch.StopError[int]
		if !errors.Is(err, runners.ErrModelNotFound) || !errors.As(err, &stop) || stop.Key != 2 || rep.Accepted != 2 || rep.Rejected[ReasonCallError] != 1 {
			t.Errorf("Run: %v, report %s", err, rep)
		}
		checkAccounting(t, rep)
		if n := strings.Count(readFile(t, o.Output), "\n"); n != 2 {
			t.Errorf("%d lines kept, want 2", n)
		}
	})
	// The call that stops the run comes back while the feed waits for an
	// earlier, slow call (the window is full): the run still ends.
	t.Run("while the window is full", func(t *testing.T) {
		srv := newScriptedTeacher(t, func(seed int) answer {
			switch seed {
			case 0:
				return answer{text: "No.", delay: 5 * time.Second}
			case 3:
				return answer{status: 404}
			}
			return script(seed)
		})
		o := testOptions(srv.runner(t, "", 2), filepath.Join(t.TempDir(), "out.jsonl"), 3)
		o.Concurrency = 2
		done := make(chan error, 1)
		var rep Report
		go func() {
			var err error
			rep, err = Run(context.Background(), o)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, runners.ErrModelNotFound) || rep.Judged != 0 {
				t.Errorf("Run: %v, report %s", err, rep)
			}
			checkAccounting(t, rep)
		case <-time.After(4 * time.Second):
			t.Fatal("Run did not end after the call that stops the batch")
		}
	})
}

// TestRun_WriteError: a write that fails (a full disk) ends the run with
// that error, a runtime failure, not an input error.
func TestRun_WriteError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full here (%v); the write error is not tested", err)
	}
	srv := newScriptedTeacher(t, script)
	o := testOptions(srv.runner(t, "", 2), "/dev/full", 3)
	o.Concurrency = 2
	rep, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "writing /dev/full") || !strings.Contains(err.Error(), "no space left on device") || errors.Is(err, ErrInvalidInput) {
		t.Errorf("Run: %v, report %s", err, rep)
	}
	checkAccounting(t, rep)
}

// TestRun_OutputRefused: an output path that cannot be written is an
// input error found before any call.
func TestRun_OutputRefused(t *testing.T) {
	srv := newScriptedTeacher(t, script)
	dir := t.TempDir()
	for _, out := range []string{filepath.Join(dir, "no", "out.jsonl"), dir} {
		_, err := Run(context.Background(), testOptions(srv.runner(t, "", 1), out, 1))
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("-o %s: %v, want an input error", out, err)
		}
	}
	if _, n := srv.callsFor(); n != 0 {
		t.Errorf("%d calls", n)
	}
}

func TestOptions_Validate(t *testing.T) {
	srv := newScriptedTeacher(t, script)
	teacher := srv.runner(t, "", 1)
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"no teacher", func(o *Options) { o.Teacher = nil }, "Teacher"},
		{"no count", func(o *Options) { o.Count = 0 }, "Count 0: must be at least 1"},
		{"no output", func(o *Options) { o.Output = "" }, "Output"},
		{"bad language", func(o *Options) { o.To = "Chinese!" }, `To "Chinese!": want a BCP 47 language tag`},
		{"share above 1", func(o *Options) { o.MinShare = 2 }, "MinShare 2: must be in [0, 1]"},
		{"near-dup above 1", func(o *Options) { o.NearDuplicate = 1.5 }, "NearDuplicate 1.5"},
		{"min above max", func(o *Options) { o.Reference.MinChars = 500 }, "Reference.MinChars 500: is above the maximum, 100"},
		{"negative words", func(o *Options) { o.Source.MaxWords = -1 }, "Source.MaxWords -1"},
		{"empty topic", func(o *Options) { o.Topics = []string{"a", " "} }, `Topics[1] " ": an empty hint`},
		{"presence penalty", func(o *Options) { o.Params.PresencePenalty = ptr(3.0) }, "presence_penalty 3: must be in [-2, 2]"},
		{"template field", func(o *Options) { o.Instruction = "Write {{.Topic}}" }, "no field Topic"},
		{"template key", func(o *Options) { o.Instruction = "Write {{.Fields.domain}}" }, `map has no entry for key "domain"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(teacher, filepath.Join(t.TempDir(), "o.jsonl"), 1)
			tc.change(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
			if _, rerr := Run(context.Background(), o); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Run() = %v, Validate() = %v", rerr, err)
			}
		})
	}
	if err := testOptions(teacher, "x.jsonl", 1).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func jsonUnmarshal(s string, v any) error {
	dec := jsonDecoder(bytes.NewReader([]byte(s)))
	return dec.Decode(v)
}

func jsonDecoder(r *bytes.Reader) interface{ Decode(any) error } {
	return json.NewDecoder(r)
}
