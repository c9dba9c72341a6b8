package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/finetune"
	"github.com/bertbench/bertbench/finetune/openai/openaitest"
)

// jsonlItems writes a dataset of n items with ids "tr-<i>", sources
// "Satz <i>." and references "句子<i>。".
func jsonlItems(t *testing.T, dir, name string, n int) string {
	t.Helper()
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"id": "tr-%d", "source": "Satz %d.", "reference": "句子%d。"}`, i, i, i))
	}
	return writeLines(t, dir, name, lines)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFinetuneExportCLI: every format, with an evaluation set that
// overlaps the dataset by id and by source; the files have their
// documented shapes, hold no evaluation item, and come out the same for
// the same seed.
func TestFinetuneExportCLI(t *testing.T) {
	dir := t.TempDir()
	data := jsonlItems(t, dir, "data.jsonl", 200)
	// Evaluation: ids tr-0..tr-9 with other sources, and the sources of
	// items 10..19 written otherwise, under other ids.
	var evalLines []string
	for i := range 10 {
		evalLines = append(evalLines, fmt.Sprintf(`{"id": "tr-%d", "source": "ganz anders %d"}`, i, i))
		evalLines = append(evalLines, fmt.Sprintf(`{"id": "wmt-%d", "source": "  SATZ %d!"}`, i, i+10))
	}
	eval := writeLines(t, dir, "eval.jsonl", evalLines)
	for _, format := range []finetune.Format{finetune.OpenAIChat, finetune.Alpaca, finetune.ShareGPT} {
		t.Run(string(format), func(t *testing.T) {
			out := filepath.Join(dir, "train-"+string(format)+format.Ext())
			val := filepath.Join(dir, "val-"+string(format)+format.Ext())
			args := []string{"finetune", "export", "-i", data, "--eval", eval, "--format", string(format), "--to", "Chinese",
				"--system", "You translate German into Chinese.", "-o", out, "--validation-out", val, "--validation-fraction", "0.2", "--seed", "3"}
			code, stdout, stderr := runCLI(t, "", args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var train, valid int
			if _, err := fmt.Sscanf(stdout[strings.Index(stdout, "kept "):], "kept 180: %d train", &train); err != nil {
				t.Fatalf("stdout %q: %v", stdout, err)
			}
			for name, path := range map[string]string{"train": out, "validation": val} {
				text := readFile(t, path)
				n, err := finetune.Validate(strings.NewReader(text), path, format)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if name == "train" && n != train {
					t.Errorf("train file has %d examples, stdout says %d", n, train)
				}
				if name == "validation" {
					valid = n
				}
				for i := range 20 {
					if strings.Contains(text, fmt.Sprintf("Satz %d.", i)) {
						t.Errorf("%s holds evaluation item %d", name, i)
					}
				}
			}
			if train+valid != 180 || valid < 15 || valid > 60 {
				t.Errorf("train %d, validation %d; want 180 in all, about 36 in validation", train, valid)
			}
			wantOut := "read 200 items from " + data + "; evaluation set: 20 ids, 20 sources\n" +
				fmt.Sprintf("kept 180: %d train → %s, %d validation → %s (seed 3, fraction 0.2)\n", train, out, valid, val) +
				"dropped 20: 10 overlap by id, 10 overlap by source\n"
			if stdout != wantOut {
				t.Errorf("stdout\n%s\nwant\n%s", stdout, wantOut)
			}
			// The same seed gives the same files; another seed another split.
			before := readFile(t, val)
			if code, _, stderr := runCLI(t, "", args...); code != exitOK || readFile(t, val) != before {
				t.Errorf("a second run with the same seed wrote another validation file (exit %d, %s)", code, stderr)
			}
			args[len(args)-1] = "4"
			if code, _, _ := runCLI(t, "", args...); code != exitOK || readFile(t, val) == before {
				t.Errorf("seeds 3 and 4 gave the same validation file")
			}
		})
	}
}

// TestFinetuneExportParallelCLI: a text file of sources and one of
// references; a text evaluation file matches by source, never by its
// line ids.
func TestFinetuneExportParallelCLI(t *testing.T) {
	dir := t.TempDir()
	src := writeLines(t, dir, "src.txt", []string{"Guten Morgen.", "Wie geht's?", "Danke", ""})
	ref := writeLines(t, dir, "ref.txt", []string{"早上好。", "你好吗？", "", "空"})
	eval := writeLines(t, dir, "test.txt", []string{"guten   morgen", "Bitte."})
	out := filepath.Join(dir, "train.jsonl")
	code, stdout, stderr := runCLI(t, "", "finetune", "export", "-i", src, "--refs", ref, "--eval", eval, "--prompt", "{{.Source}}", "-o", out, "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rep exportReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	wantDropped := map[string]int{"overlap by id": 0, "overlap by source": 1, "empty source": 1, "empty reference": 1, "no score": 0, "below score": 0}
	if rep.Read != 4 || rep.Kept != 1 || rep.Train != 1 || rep.Validation != 0 || rep.EvalIDs != 0 || rep.EvalSources != 2 || !equalMaps(rep.Dropped, wantDropped) {
		t.Errorf("report %+v", rep)
	}
	if got, want := readFile(t, out), `{"messages":[{"role":"user","content":"Wie geht's?"},{"role":"assistant","content":"你好吗？"}]}`+"\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	if !strings.Contains(stderr, "1 training examples: OpenAI fine-tuning needs at least 10") {
		t.Errorf("stderr %q: want the warning about OpenAI's minimum", stderr)
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFinetuneExportInputErrors: mistakes exit 2 with one line, and no
// output file is left behind or changed.
func TestFinetuneExportInputErrors(t *testing.T) {
	dir := t.TempDir()
	data := jsonlItems(t, dir, "data.jsonl", 5)
	bad := writeLines(t, dir, "bad.jsonl", []string{`{"id": 1, "source": "a", "reference": "b"}`, `{"id": 2, "source": "c"`})
	out := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(out, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"-i", data, "-o", out}, "--to is required"},
		{"bad format", []string{"-i", data, "-o", out, "--to", "zh", "--format", "chatml"}, `--format: unknown format "chatml"`},
		{"fraction without a file", []string{"-i", data, "-o", out, "--to", "zh", "--validation-fraction", "0.2"}, "--validation-fraction needs --validation-out"},
		{"fraction 1.5", []string{"-i", data, "-o", out, "--to", "zh", "--validation-out", filepath.Join(dir, "v.jsonl"), "--validation-fraction", "1.5"}, "--validation-fraction 1.5: want a number above 0 and below 1"},
		{"output onto the input", []string{"-i", data, "-o", data, "--to", "zh"}, "-o " + data + " is the -i file"},
		{"output onto the eval file", []string{"-i", data, "--eval", out, "-o", out, "--to", "zh"}, "is the --eval file"},
		{"both outputs one file", []string{"-i", data, "-o", out, "--validation-out", out, "--to", "zh"}, "the same file"},
		{"missing eval file", []string{"-i", data, "--eval", filepath.Join(dir, "none.jsonl"), "-o", out, "--to", "zh"}, "--eval: " + filepath.Join(dir, "none.jsonl") + ": cannot open"},
		{"malformed input line", []string{"-i", bad, "-o", out, "--to", "zh"}, bad + ":2:"},
		{"everything dropped", []string{"-i", data, "--eval", data, "-o", out, "--to", "zh"}, "all 5 items were dropped (5 overlap by id)"},
		{"bad prompt", []string{"-i", data, "-o", out, "--prompt", "{{.Text}}"}, "no field Text"},
		{"output folder missing", []string{"-i", data, "-o", filepath.Join(dir, "no", "t.jsonl"), "--to", "zh"}, "does not exist"},
		{"an argument", []string{"-i", data, "-o", out, "--to", "zh", "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"finetune", "export"}, tc.args...)...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != exitUsage || stdout != "" || !strings.Contains(lines[len(lines)-1], tc.want) || strings.Count(stderr, "bertbench: ") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one error line with %q", code, stdout, stderr, tc.want)
			}
			if got := readFile(t, out); got != "old\n" {
				t.Errorf("the output file was changed: %q", got)
			}
		})
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "v.jsonl*")); len(m) > 0 {
		t.Errorf("left behind: %v", m)
	}
}

// chatData writes n lines of OpenAI chat fine-tuning JSONL.
func chatData(t *testing.T, dir, name string, n int) string {
	t.Helper()
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"messages":[{"role":"user","content":"Satz %d"},{"role":"assistant","content":"句子%d"}]}`, i, i))
	}
	return writeLines(t, dir, name, lines)
}

// ftServer starts the stand-in OpenAI fine-tuning API and points the
// environment at it.
func ftServer(t *testing.T) *openaitest.Server {
	t.Helper()
	srv := openaitest.New(t)
	srv.Key = "sk-test-key"
	srv.RunningPolls = 1
	t.Setenv("OPENAI_API_KEY", srv.Key)
	t.Setenv("OPENAI_BASE_URL", srv.BaseURL())
	t.Setenv("OPENAI_ORG_ID", "")
	return srv
}

// TestFinetuneOpenAICLI: upload, start, wait, and print and record the
// fine-tuned model's runner spec.
func TestFinetuneOpenAICLI(t *testing.T) {
	srv := ftServer(t)
	dir := t.TempDir()
	train := chatData(t, dir, "train.jsonl", 12)
	val := chatData(t, dir, "val.jsonl", 2)
	record := filepath.Join(dir, "job.json")
	code, stdout, stderr := runCLI(t, "", "finetune", "openai", "--file", train, "--validation-file", val, "--model", "gpt-3.5-turbo",
		"--suffix", "zh", "--epochs", "2", "--wait", "--poll", "100ms", "--record", record)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	spec := "openai:ft:gpt-3.5-turbo:org:zh:abc123@" + srv.BaseURL()
	if stdout != spec+"\n" {
		t.Errorf("stdout %q, want the runner spec %q", stdout, spec)
	}
	files := srv.Files()
	if len(files) != 2 || string(files[0].Content) != readFile(t, train) || string(files[1].Content) != readFile(t, val) {
		t.Errorf("uploaded %d files; want the training and the validation file", len(files))
	}
	for _, want := range []string{"uploaded " + train + " as file-1", "started job ftjob-3", "job ftjob-3: running", "job ftjob-3: succeeded", "evaluate the model with --runner " + spec} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "Step 1/1") {
		t.Errorf("events written to a stderr that is not a terminal:\n%s", stderr)
	}
	var rec jobRecord
	if err := json.Unmarshal([]byte(readFile(t, record)), &rec); err != nil {
		t.Fatal(err)
	}
	want := jobRecord{JobID: "ftjob-3", Status: "succeeded", BaseModel: "gpt-3.5-turbo", FineTunedModel: "ft:gpt-3.5-turbo:org:zh:abc123",
		Runner: spec, TrainingFile: "file-1", ValidationFile: "file-2", TrainedTokens: 1234}
	if rec != want {
		t.Errorf("record %+v, want %+v", rec, want)
	}
	if j, _ := srv.Job("ftjob-3"); string(j.Hyperparameters) != `{"n_epochs":2}` {
		t.Errorf("hyperparameters sent: %s", j.Hyperparameters)
	}
}

// TestFinetuneOpenAINoWaitCLI: without --wait the command prints the job
// id and how to follow it; --job ID --wait follows it.
func TestFinetuneOpenAINoWaitCLI(t *testing.T) {
	srv := ftServer(t)
	train := chatData(t, t.TempDir(), "train.jsonl", 10)
	code, stdout, stderr := runCLI(t, "", "finetune", "openai", "--file", train, "--model", "gpt-3.5-turbo")
	if code != exitOK || stdout != "ftjob-2\n" || !strings.Contains(stderr, "follow it with: bertbench finetune openai --job ftjob-2 --wait") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", "finetune", "openai", "--job", "ftjob-2", "--wait", "--poll", "100ms")
	if want := "openai:ft:gpt-3.5-turbo:org::abc123@" + srv.BaseURL() + "\n"; code != exitOK || stdout != want {
		t.Errorf("--job --wait: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
	}
	// A finished job, looked at without --wait: its spec.
	code, stdout, _ = runCLI(t, "", "finetune", "openai", "--job", "ftjob-2")
	if code != exitOK || !strings.HasPrefix(stdout, "openai:ft:") {
		t.Errorf("--job of a finished job: exit %d, stdout %q", code, stdout)
	}
}

// TestFinetuneOpenAIFailures: a failed job exits 1 with its reason; a
// refused key exits 1 naming the variable, without the key.
func TestFinetuneOpenAIFailures(t *testing.T) {
	srv := ftServer(t)
	srv.Fail = "Training file has 3 duplicate examples."
	train := chatData(t, t.TempDir(), "train.jsonl", 10)
	code, stdout, stderr := runCLI(t, "", "finetune", "openai", "--file", train, "--model", "gpt-3.5-turbo", "--wait", "--poll", "100ms")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "bertbench: finetune openai: fine-tuning job ftjob-2 failed: "+srv.Fail) {
		t.Errorf("failed job: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	t.Setenv("OPENAI_API_KEY", "sk-wrong-and-secret")
	code, stdout, stderr = runCLI(t, "", "finetune", "openai", "--file", train, "--model", "gpt-3.5-turbo")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "refused the API key") || !strings.Contains(stderr, "check $OPENAI_API_KEY") ||
		strings.Contains(stderr, "sk-wrong-and-secret") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("401: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestFinetuneOpenAIInputErrors: what the user can fix exits 2, with one
// line, before anything is uploaded where it can be checked here.
func TestFinetuneOpenAIInputErrors(t *testing.T) {
	srv := ftServer(t)
	dir := t.TempDir()
	train := chatData(t, dir, "train.jsonl", 10)
	few := chatData(t, dir, "few.jsonl", 9)
	alpaca := filepath.Join(dir, "alpaca.json")
	if err := os.WriteFile(alpaca, []byte(`[{"instruction": "i", "input": "", "output": "o"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	sharegpt := writeLines(t, dir, "sg.jsonl", []string{`{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}`})
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		want   string
		upload bool // the check is the server's
	}{
		{"an Alpaca file", []string{"--file", alpaca, "--model", "gpt-3.5-turbo"}, nil, alpaca + ":1: not a JSON object (OpenAI takes chat JSONL", false},
		{"a ShareGPT file", []string{"--file", sharegpt, "--model", "gpt-3.5-turbo"}, nil, sharegpt + `:1: the example: unknown key "conversations"`, false},
		{"too few examples", []string{"--file", few, "--model", "gpt-3.5-turbo"}, nil, "has 9 examples; OpenAI fine-tuning needs at least 10", false},
		{"a bad validation file", []string{"--file", train, "--validation-file", alpaca, "--model", "gpt-3.5-turbo"}, nil, "--validation-file: " + alpaca + ":1:", false},
		{"missing file", []string{"--file", filepath.Join(dir, "none.jsonl"), "--model", "gpt-3.5-turbo"}, nil, "no such file", false},
		{"a folder", []string{"--file", dir, "--model", "gpt-3.5-turbo"}, nil, "is a folder", false},
		{"no model", []string{"--file", train}, nil, "missing --model", false},
		{"--job with --file", []string{"--job", "ftjob-1", "--file", train}, nil, "leave out --file", false},
		{"poll too short", []string{"--file", train, "--model", "m", "--poll", "1ms"}, nil, "--poll 1ms: want 100ms to 10m0s", false},
		{"no key", []string{"--file", train, "--model", "gpt-3.5-turbo"}, map[string]string{"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}, "$OPENAI_API_KEY is not set", false},
		{"suffix too long", []string{"--file", train, "--model", "m", "--suffix", strings.Repeat("x", 65)}, nil, "at most 64", false},
		{"unknown model", []string{"--file", train, "--model", "gpt-9"}, nil, "Model gpt-9 is not available for fine-tuning", true},
		{"unknown job", []string{"--job", "ftjob-nope"}, nil, "Could not find fine tune: ftjob-nope", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := len(srv.Files())
			code, stdout, stderr := runCLI(t, "", append([]string{"finetune", "openai"}, tc.args...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "bertbench: ") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one error line with %q", code, stdout, stderr, tc.want)
			}
			if uploaded := len(srv.Files()) > before; uploaded != tc.upload {
				t.Errorf("uploaded: %t, want %t", uploaded, tc.upload)
			}
		})
	}
}

// TestFinetuneOpenAIInterrupt: Ctrl-C while waiting stops waiting, not the
// job, and says how to follow it; the record holds the job as last seen.
func TestFinetuneOpenAIInterrupt(t *testing.T) {
	srv := ftServer(t)
	srv.RunningPolls = 1_000_000
	dir := t.TempDir()
	train := chatData(t, dir, "train.jsonl", 10)
	record := filepath.Join(dir, "job.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if slices.Contains(srv.Requests(), "GET /v1/fine_tuning/jobs/ftjob-2/events") {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"bertbench", "finetune", "openai", "--file", train, "--model", "gpt-3.5-turbo", "--wait", "--poll", "10m", "--record", record},
		strings.NewReader(""), &stdout, &stderr)
	if code != exitInterrupted || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "interrupted: job ftjob-2 keeps running on the server (last seen queued); follow it with: bertbench finetune openai --job ftjob-2 --wait") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if slices.ContainsFunc(srv.Requests(), func(r string) bool { return strings.HasSuffix(r, "/cancel") }) {
		t.Error("the job was cancelled")
	}
	var rec jobRecord
	if err := json.Unmarshal([]byte(readFile(t, record)), &rec); err != nil || rec.JobID != "ftjob-2" || rec.Status != "queued" || rec.Runner != "" {
		t.Errorf("record %+v (%v)", rec, err)
	}
}
