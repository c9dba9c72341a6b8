package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// TestGenerateUsageErrors: bad flags, and an output file other options
// wrote, exit 2 with one line that names the flag or the line, before any
// call (the teacher here cannot be reached).
func TestGenerateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	other := filepath.Join(dir, "other.jsonl")
	if err := os.WriteFile(other, []byte(`{"id":"gen-0","source":"a","reference":"b","teacher":"ollama:someone-else","prompt":"p","params":{},"request":0,"checks":"c"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"generate", "--teacher", "openai-compatible:m@http://127.0.0.1:1/v1", "--count", "3", "--cache-dir", filepath.Join(dir, "cache")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"near-dup", []string{"-o", out, "--near-dup", "2"}, "generate: --near-dup 2: must be in [0, 1]"},
		{"presence penalty", []string{"-o", out, "--presence-penalty", "3"}, "generate: --presence-penalty 3: must be in [-2, 2]"},
		{"temperature", []string{"-o", out, "--temperature", "-1"}, "generate: --temperature -1: must be >= 0"},
		{"language", []string{"-o", out, "--from", "en us"}, `generate: --from "en us": want a BCP 47 language tag such as en, zh or zh-Hant`},
		{"bounds", []string{"-o", out, "--min-chars", "10", "--max-chars", "5"}, "generate: --min-chars 10: is above the maximum, 5"},
		{"count", []string{"-o", out, "--count", "0"}, "generate: --count 0: must be at least 1"},
		{"max attempts", []string{"-o", out, "--max-attempts", "0"}, "generate: --max-attempts 0: must be at least 1"},
		{"template", []string{"-o", out, "--instruction", "Write {{.Topic}}"}, "no field Topic"},
		{"empty hint", []string{"-o", out, "--topics", "a,,b"}, "generate: --topics: an empty hint"},
		{"hints file", []string{"-o", out, "--styles-file", filepath.Join(dir, "none.txt")}, "generate: --styles-file: open"},
		{"teacher spec", []string{"-o", out, "--teacher", "bogus"}, `generate: --teacher: runner spec "bogus"`},
		{"both instructions", []string{"-o", out, "--instruction", "x", "--instruction-file", other}, "give --instruction or --instruction-file, not both"},
		{"another teacher's file", []string{"-o", other}, "other.jsonl:1: written by teacher ollama:someone-else, and this run's is openai-compatible:m@http://127.0.0.1:1/v1; to resume, rerun with the options that wrote the file"},
		{"an argument", []string{"-o", out, "extra"}, `generate: unexpected argument "extra"`},
		{"standard output", []string{"-o", "-"}, "generate: -o -: give a file name"},
		{"a missing folder", []string{"-o", filepath.Join(dir, "no", "out.jsonl")}, "does not exist (create it first)"},
		{"a folder", []string{"-o", dir}, dir + " is a folder; give a file name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(append([]string{}, base...), tc.args...)...)
			if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q; want one line with %q", code, exitUsage, stdout, stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error created the output file: %v", err)
	}
}

// TestGenerateUnreachableTeacher: a teacher that cannot be reached is a
// runtime failure (exit 1), found before the output file is made; an
// interrupted start exits 130.
func TestGenerateUnreachableTeacher(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"generate", "--teacher", "openai-compatible:m@http://127.0.0.1:1/v1", "--count", "3", "-o", out, "--retries", "1", "--cache-dir", filepath.Join(dir, "cache")}
	code, _, stderr := runCLI(t, "", args...)
	if code != exitFailure || !strings.Contains(stderr, "teacher openai-compatible:m@http://127.0.0.1:1/v1") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr = translateCLI(cancelled, args...)
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted before the first call; nothing written") {
		t.Errorf("cancelled: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the output file was made: %v", err)
	}
}

// TestGenerateAgainstOllama: bertbench generate with the tiny random model
// on the real Ollama as the teacher writes a dataset bertbench reads,
// resumes it to a larger count, and refuses to resume it with another
// temperature.
func TestGenerateAgainstOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (built by `make ollama`); skipped in -short mode")
	}
	srv := ollamatest.StartT(t)
	if _, err := srv.CreateTiny(context.Background(), ollamatest.TinyModel); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "pairs.jsonl")
	// Its answers are random words: split at the first space, no language
	// check, loose bounds.
	args := func(extra ...string) []string {
		return append([]string{"generate", "--teacher", "ollama:" + ollamatest.TinyModel + "@" + srv.URL, "-o", out,
			"--separator", " ", "--min-script-share", "0", "--min-chars", "1", "--max-tokens", "12", "--max-attempts", "60",
			"--topics", "cats,rain", "--styles", "plain", "--presence-penalty", "0.5", "--cache-dir", filepath.Join(dir, "cache")}, extra...)
	}
	code, stdout, stderr := runCLI(t, "", args("--count", "3")...)
	if code != exitOK || stdout != "" || !strings.Contains(stderr, "generate: "+out+": 3 of 3 items; ") || !strings.Contains(stderr, "answers judged") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	items, err := dataset.ReadAll(out, dataset.Options{})
	if err != nil || len(items) != 3 {
		t.Fatalf("dataset.ReadAll: %d items, %v", len(items), err)
	}

	code, _, stderr = runCLI(t, "", args("--count", "5")...)
	if code != exitOK || !strings.Contains(stderr, "5 of 5 items (3 resumed, 2 new)") {
		t.Errorf("resumed to 5: exit %d, stderr %q", code, stderr)
	}
	again, err := dataset.ReadAll(out, dataset.Options{})
	if err != nil || len(again) != 5 || again[2].ID != items[2].ID || again[2].Source != items[2].Source {
		t.Errorf("after resuming: %d items, %v", len(again), err)
	}

	before, _ := os.ReadFile(out)
	code, _, stderr = runCLI(t, "", args("--count", "6", "--temperature", "0.5")...)
	if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "pairs.jsonl:1: request ") || !strings.Contains(stderr, `was sent the parameters {"temperature":1,`) {
		t.Errorf("another temperature: exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("a refused resume changed the file")
	}
}
