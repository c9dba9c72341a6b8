//go:build unix

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bertbench/bertbench/internal/orttest"
)

// TestScoreOutputTargets: score -o writes through a symlink (the link
// stays), into a FIFO in place, "-" to standard output, and a missing
// folder is named in the error.
func TestScoreOutputTargets(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	model := fixturePath(t, "tiny-mbert")
	cands := writeLines(t, dir, "cands.txt", []string{"今天天气不错。", "谢谢"})
	refs := writeLines(t, dir, "refs.txt", []string{"今天天气很好。", "谢谢你"})
	base := []string{"score", "--model", model, "-c", cands, "-r", refs, "--format", "json"}
	want := mustRun(t, base...)

	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(dir, "target.json")
		if err := os.WriteFile(target, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link.json")
		if err := os.Symlink("target.json", link); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "", append(base, "-o", link)...)
		if code != exitOK || stdout != "" {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
		}
		if to, err := os.Readlink(link); err != nil || to != "target.json" {
			t.Errorf("the link was replaced: readlink = %q, %v", to, err)
		}
		if data, _ := os.ReadFile(target); string(data) != want {
			t.Errorf("link target holds %q, want the scores", data)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "scores.fifo")
		if err := unix.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- "open: " + err.Error()
				return
			}
			defer f.Close()
			data, _ := io.ReadAll(f)
			got <- string(data)
		}()
		code, _, stderr := runCLI(t, "", append(base, "-o", fifo)...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		select {
		case data := <-got:
			if data != want {
				t.Errorf("the FIFO's reader got %q, want the scores", data)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the FIFO's reader got nothing in 30 s")
		}
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO was replaced: %v, %v", st.Mode(), err)
		}
	})

	t.Run("stdout", func(t *testing.T) {
		if got := mustRun(t, append(base, "-o", "-")...); got != want {
			t.Errorf("-o - wrote %q, want the scores on standard output", got)
		}
	})

	t.Run("missing folder", func(t *testing.T) {
		missing := filepath.Join(dir, "no", "such")
		code, _, stderr := runCLI(t, "", append(base, "-o", filepath.Join(missing, "out.json"))...)
		if code != exitUsage || !strings.Contains(stderr, "folder "+missing+" does not exist") {
			t.Errorf("exit %d, stderr %q; want exit 2 naming the folder %s", code, stderr, missing)
		}
		if strings.Contains(stderr, ".out.json") {
			t.Errorf("stderr names a temporary file: %q", stderr)
		}
	})
}

// TestTranslateRefusesOutputOntoInput: -o naming the -i file, by any
// spelling (another path, a symlink, a hard link), is a usage error that
// leaves the source untouched.
func TestTranslateRefusesOutputOntoInput(t *testing.T) {
	dir := t.TempDir()
	const text = "one\ntwo\n"
	input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), text)
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink("in.txt", link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.txt")
	if err := os.Link(input, hard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, output string }{
		{"same path", input},
		{"another spelling", filepath.Join(dir, ".", "sub", "..", "in.txt")},
		{"symlink to the input", link},
		{"hard link to the input", hard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
			code, stdout, stderr := translateCLI(context.Background(), "translate",
				"--runner", "openai-compatible:m@http://127.0.0.1:1/v1", "--no-cache", "-i", input, "-o", tc.output)
			if code != exitUsage || !strings.Contains(stderr, "-i") || !strings.Contains(stderr, "-o") ||
				strings.Count(strings.TrimSuffix(stderr, "\n"), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line naming -i and -o", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if data, _ := os.ReadFile(input); string(data) != text {
				t.Errorf("the input was overwritten: %d bytes, want %q", len(data), text)
			}
		})
	}
}

// TestScoreChecksOutputFirst: an -o that cannot be written is reported
// before the model is resolved or the encoder loaded (here: a bogus
// --ort-lib, or a model that does not exist, would fail later), and a run
// that fails after the check leaves the folder as it was.
func TestScoreChecksOutputFirst(t *testing.T) {
	dir := t.TempDir()
	cands := writeLines(t, dir, "cands.txt", []string{"今天天气不错。", "谢谢"})
	refs := writeLines(t, dir, "refs.txt", []string{"今天天气很好。", "谢谢你"})
	bogusORT := []string{"--ort-lib", filepath.Join(dir, "libonnxruntime.so.1")}
	model := fixturePath(t, "tiny-mbert")
	missing := filepath.Join(dir, "no", "such")
	if err := os.Mkdir(filepath.Join(dir, "results"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the one line on stderr
	}{
		{"missing folder, bogus ONNX Runtime", append(bogusORT, "score", "--model", model, "-o", filepath.Join(missing, "out.json")),
			"folder " + missing + " does not exist"},
		{"missing folder, missing model", []string{"score", "--model", filepath.Join(dir, "nomodel"), "-o", filepath.Join(missing, "out.json")},
			"folder " + missing + " does not exist"},
		{"output is a folder", append(bogusORT, "score", "--model", model, "-o", filepath.Join(dir, "results")),
			"results is a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(tc.args, "-c", cands, "-r", refs)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSuffix(stderr, "\n"), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line with %q", code, stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}

	t.Run("a failure after the check leaves the old file", func(t *testing.T) {
		out := filepath.Join(dir, "old.json")
		if err := os.WriteFile(out, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadDir(dir)
		code, _, stderr := runCLI(t, "", append(bogusORT, "score", "--model", model, "-c", cands, "-r", refs, "-o", out)...)
		if code != exitFailure || !strings.Contains(stderr, "ONNX Runtime") {
			t.Errorf("exit %d, stderr %q; want exit 1 about ONNX Runtime", code, stderr)
		}
		if data, _ := os.ReadFile(out); string(data) != "old\n" {
			t.Errorf("%s holds %q, want the old contents", out, data)
		}
		if after, _ := os.ReadDir(dir); len(after) != len(before) {
			t.Errorf("the folder changed: %v, then %v", before, after)
		}
	})
}
